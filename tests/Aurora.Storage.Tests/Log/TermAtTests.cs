using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;
using FsCheck;
using FsCheck.Fluent;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// <see cref="SegmentedLog.TermAt"/> answers from an in-memory index of term runs, built by the
/// open-time scan and extended as entries become durable, and knows the term of the position
/// before the first retained one from the first segment's header.
/// </summary>
public class TermAtTests
{
    private static LogOptions Options(SimulatedFileSystem fs) => LogKit.SimOptions(fs, segmentSize: 4 << 10, maxEntrySize: 1024);

    /// <summary>Appends <paramref name="count"/> entries of irregularly rising terms (some chunked); returns them.</summary>
    private static async Task<List<LogEntry>> AppendAsync(SegmentedLog log, int count, int seed, ulong firstTerm = 1)
    {
        var random = new Random(seed);
        var term = Math.Max(firstTerm, log.LastAssignedTerm);
        var entries = new List<LogEntry>();
        for (var i = 0; i < count; i++)
        {
            term += random.Next(4) == 0 ? (ulong)random.Next(1, 5) : 0;
            var entry = LogKit.Entry($"s{seed}-{i}", random.Next(8) == 0 ? 2500 : random.Next(0, 500), term: term, seed: random.Next());
            await log.AppendAsync(entry);
            entries.Add(entry);
        }

        return entries;
    }

    private static void AssertTerms(SegmentedLog log, IReadOnlyList<LogEntry> entries, string context)
    {
        foreach (var entry in entries.Where(e => e.Position >= log.FirstRetainedPosition))
        {
            Assert.True(entry.Term == log.TermAt(entry.Position), $"{context}: TermAt({entry.Position}) is {log.TermAt(entry.Position)}, the entry has term {entry.Term}");
        }

        Assert.Equal(0UL, log.TermAt(0));
        Assert.Equal(entries.Count == 0 ? 0 : entries[^1].Term, log.LastDurableTerm);
        var beyond = Assert.Throws<ArgumentOutOfRangeException>(() => log.TermAt(log.LastDurablePosition + 1));
        Assert.Contains($"beyond the last durable position {log.LastDurablePosition}", beyond.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TermAt_answers_every_durable_position_and_position_0_across_rolls_chunking_and_reopen()
    {
        var fs = new SimulatedFileSystem(seed: 1);
        List<LogEntry> entries;
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            Assert.Equal(0UL, log.TermAt(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => log.TermAt(1));
            entries = await AppendAsync(log, 120, seed: 1);
            Assert.True(log.Segments.Count >= 5, $"only {log.Segments.Count} segments");
            AssertTerms(log, entries, "while appending");
            Assert.Equal(log.LastDurablePosition, log.LastAssignedPosition);
            Assert.Equal(log.LastDurableTerm, log.LastAssignedTerm);
        }

        using (var log = SegmentedLog.Open(Options(fs)))
        {
            AssertTerms(log, entries, "reopened");
        }
    }

    [Fact]
    public async Task After_prefix_truncation_the_term_before_the_first_retained_position_is_known_also_after_reopen()
    {
        var fs = new SimulatedFileSystem(seed: 2);
        List<LogEntry> entries;
        ulong first;
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            entries = await AppendAsync(log, 80, seed: 2);
            first = log.TruncatePrefix(60);
            Assert.True(first > 2, "the fixture truncates whole segments");
            Assert.Equal(entries[(int)first - 2].Term, log.TermAt(first - 1));
            var below = Assert.Throws<PositionTruncatedException>(() => log.TermAt(first - 2));
            Assert.Equal((first - 2, first), (below.Requested, below.FirstRetained));
            AssertTerms(log, entries, "after truncation");
        }

        fs.Crash();
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            Assert.Equal(first, log.FirstRetainedPosition);
            Assert.Equal(entries[(int)first - 2].Term, log.TermAt(first - 1));
            Assert.Throws<PositionTruncatedException>(() => log.TermAt(first - 2));
            AssertTerms(log, entries, "reopened after truncation");
        }
    }

    [Fact]
    public async Task A_log_of_version_1_segments_opens_knows_the_term_before_it_only_at_position_1_and_rolls_into_version_3()
    {
        var fs = new SimulatedFileSystem(seed: 3);
        List<LogEntry> entries;
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            entries = await AppendAsync(log, 60, seed: 3);
        }

        // As a build before format version 2 left it.
        var files = LogKit.SegmentFiles(fs, LogKit.SimDirectory);
        foreach (var file in files)
        {
            var first = ulong.Parse(Path.GetFileNameWithoutExtension(file)["segment-".Length..], System.Globalization.CultureInfo.InvariantCulture);
            fs.Overwrite(file, LogKit.AsVersion1Records(fs.ReadAll(file), LogKit.Version1SegmentHeader(first)));
        }

        ulong retained;
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            AssertTerms(log, entries, "version 1 segments");
            retained = log.TruncatePrefix(40);
            Assert.True(retained > 1);

            // Still known in memory: the truncated segment told it.
            Assert.Equal(entries[(int)retained - 2].Term, log.TermAt(retained - 1));
            entries.AddRange(await AppendAsync(log, 40, seed: 33));
        }

        Assert.Empty(LogVerifier.Verify(Options(fs)).Problems);
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            // The first retained segment is of version 1: its header does not say.
            Assert.Equal(retained, log.FirstRetainedPosition);
            Assert.Throws<PositionTruncatedException>(() => log.TermAt(retained - 1));
            AssertTerms(log, entries, "reopened on a version 1 first segment");
            var newest = LogKit.SegmentFiles(fs, LogKit.SimDirectory)[^1];
            Assert.Equal(3, fs.ReadAll(newest)[8]);
        }
    }

    [Fact]
    public async Task A_segment_header_whose_previous_term_disagrees_with_the_previous_segment_is_corruption()
    {
        var fs = new SimulatedFileSystem(seed: 4);
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            await AppendAsync(log, 40, seed: 4);
        }

        var second = LogKit.SegmentFiles(fs, LogKit.SimDirectory)[1];
        var bytes = fs.ReadAll(second);
        var first = BitConverter.ToUInt64(bytes, 16);
        var header = new byte[SegmentHeader.Size];
        SegmentHeader.Write(header, first, previousTerm: 1000, generation: 1, recycled: false);
        header.CopyTo(bytes, 0);
        fs.Overwrite(second, bytes);

        var e = Assert.Throws<LogCorruptedException>(() => SegmentedLog.Open(Options(fs)));
        Assert.Equal(second, e.File);
        Assert.Contains($"says the entry before it (position {first - 1}) has term 1000", e.Problem, StringComparison.Ordinal);
        var problem = Assert.Single(LogVerifier.Verify(Options(fs)).Problems);
        Assert.Equal((second, 0L, false), (problem.File, problem.Offset, problem.IsTornTail));
        Assert.Equal(e.Problem, problem.Problem);
    }

    public sealed record IndexOperation(int Kind, int Amount);

    /// <summary>The index agrees with a plain list of terms through any mix of appends, truncations and resets.</summary>
    [Fact]
    public void The_term_index_agrees_with_a_list_of_terms()
    {
        var operation = from kind in Gen.Frequency((6, Gen.Constant(0)), (2, Gen.Constant(1)), (2, Gen.Constant(2)), (1, Gen.Constant(3)))
                        from amount in Gen.Choose(0, 12)
                        select new IndexOperation(kind, amount);
        Prop.ForAll(Gen.ListOf(operation).ToArbitrary(), operations =>
        {
            var index = new TermIndex(1);
            index.Reset(0, 0);

            // The model: the term of each known position, from Start.
            var start = 0UL;
            var terms = new List<ulong> { 0 };
            foreach (var op in operations)
            {
                var last = start + (ulong)terms.Count - 1;
                switch (op.Kind)
                {
                    case 0:
                        var term = (terms.Count == 0 ? index.LastTerm : terms[^1]) + (ulong)(op.Amount % 3 == 0 ? 1 : 0);
                        for (var i = 0; i < op.Amount; i++)
                        {
                            index.Append(last + 1 + (ulong)i, term);
                            terms.Add(term);
                        }

                        break;
                    case 1 when terms.Count > 0:
                        var keep = Math.Max(start == 0 ? 1 : 0, terms.Count - op.Amount);
                        index.TruncateAfter(start + (ulong)keep - 1);
                        terms.RemoveRange(keep, terms.Count - keep);
                        break;
                    case 2 when terms.Count > 1:
                        var drop = Math.Min(op.Amount, terms.Count - 1);
                        index.TruncateBefore(start + (ulong)drop);
                        terms.RemoveRange(0, drop);
                        start += (ulong)drop;
                        break;
                    case 3:
                        var position = last + (ulong)op.Amount;
                        var known = op.Amount % 2 == 0;
                        var baseTerm = (terms.Count == 0 ? 0 : terms[^1]) + 1;
                        index.Reset(position, known ? baseTerm : null);
                        start = known ? position : position + 1;
                        terms = known ? [baseTerm] : [];
                        break;
                }

                Assert.Equal(start, index.Start);
                Assert.Equal(start + (ulong)terms.Count - 1, index.Last);
                for (var p = start == 0 ? 0 : start - 1; p <= index.Last + 1; p++)
                {
                    var inRange = p >= start && p < start + (ulong)terms.Count;
                    Assert.Equal(inRange, index.TryGet(p, out var got));
                    if (inRange)
                    {
                        Assert.Equal(terms[(int)(p - start)], got);
                    }
                }

                Assert.Equal(terms.Distinct().Count(), index.RunCount);
                var clone = index.Clone();
                Assert.Equal((index.Start, index.Last, index.LastTerm), (clone.Start, clone.Last, clone.LastTerm));
            }
        }).QuickCheckThrowOnFailure();
    }
}
