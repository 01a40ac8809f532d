using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// <see cref="SegmentedLog.ResetAsync"/> makes the log continue after a snapshot's position with
/// its term, all or nothing across a crash, in order with appends.
/// </summary>
public class ResetTests
{
    private static LogOptions Options(SimulatedFileSystem fs, FatalErrors? fatal = null) =>
        LogKit.SimOptions(fs, segmentSize: 4 << 10, maxEntrySize: 1024, fatal: fatal);

    private static Task WhenNextSegmentPrepared(SimulatedFileSystem fs) =>
        fs.WhenOperation(op => op.Kind == FsOperationKind.DataSync && SimulatedFileSystem.IsNextSegmentFile(op.Path));

    /// <summary>The state a reset to (<paramref name="position"/>, <paramref name="term"/>) leaves.</summary>
    private static void AssertReset(SegmentedLog log, ulong position, ulong term, IReadOnlyList<LogEntry> after, string context)
    {
        Assert.True(position + 1 == log.FirstRetainedPosition, $"{context}: first retained {log.FirstRetainedPosition}");
        Assert.Equal(position + (ulong)after.Count, log.LastDurablePosition);
        Assert.Equal(term, log.TermAt(position));
        Assert.Equal(after.Count == 0 ? term : after[^1].Term, log.LastDurableTerm);
        LogKit.AssertEntries(after, LogKit.ReadAll(log), context);
        foreach (var entry in after)
        {
            Assert.Equal(entry.Term, log.TermAt(entry.Position));
        }

        if (position > 0)
        {
            Assert.Throws<PositionTruncatedException>(() => log.Read(position).ToList());
        }

        if (position > 1)
        {
            Assert.Throws<PositionTruncatedException>(() => log.TermAt(position - 1));
        }
    }

    [Fact]
    public async Task A_reset_to_any_position_below_inside_or_beyond_the_log_continues_after_it_with_its_term_for_good()
    {
        var (pristine, entries) = await SuffixTruncationTests.BuildAsync();
        ulong[] positions = [0, 1, 5, 17, 39, 40, 41, 1000, ulong.MaxValue - 1];
        foreach (var position in positions)
        {
            var term = position == 0 ? 0 : 3 + (position % 5);
            var context = $"ResetAsync({position}, {term})";
            var fs = pristine.Clone(seed: (int)(position % 1000));
            var after = new List<LogEntry>();
            using (var log = SegmentedLog.Open(Options(fs)))
            {
                log.TruncatePrefix(20);
                await log.ResetAsync(position, term);
                AssertReset(log, position, term, after, context);
                Assert.Equal((position, term), (log.LastAssignedPosition, log.LastAssignedTerm));
                var segment = Assert.Single(log.Segments);
                Assert.Equal(position + 1, segment.FirstPosition);
            }

            fs.Crash(tornWrites: true);
            Assert.Empty(LogVerifier.Verify(Options(fs)).Problems);
            Assert.Empty(LogDirectoryLayout.FindUnaccounted(fs, LogKit.SimDirectory));
            using (var log = SegmentedLog.Open(Options(fs)))
            {
                AssertReset(log, position, term, after, context + ", reopened after a crash");
                if (position < ulong.MaxValue - 10)
                {
                    // Appends go on from there, through segment rolls, and prefix truncation keeps the term of the position before.
                    for (var i = 0; i < 12; i++)
                    {
                        var entry = LogKit.Entry($"after{i}", 900, term: term + (ulong)(i / 5));
                        Assert.Equal(position + 1 + (ulong)i, await log.AppendAsync(entry));
                        after.Add(entry);
                    }

                    if (term > 0)
                    {
                        Assert.Throws<ArgumentException>(() => { _ = log.AppendAsync(LogKit.Entry("lower", 1, term: term - 1)); });
                    }
                }
            }

            fs.Crash(tornWrites: true);
            using (var log = SegmentedLog.Open(Options(fs)))
            {
                AssertReset(log, position, term, after, context + ", appended and reopened");
                if (after.Count > 0)
                {
                    var first = log.TruncatePrefix(position + 10);
                    Assert.True(first > position + 1, $"{context}: prefix truncation removed nothing");
                    Assert.Equal(after[(int)(first - position - 2)].Term, log.TermAt(first - 1));
                }
            }
        }
    }

    [Fact]
    public async Task Appends_queued_before_a_reset_are_written_then_discarded_and_appends_after_it_continue_after_its_position()
    {
        var fs = new SimulatedFileSystem(seed: 5);
        using var log = SegmentedLog.Open(Options(fs));
        await log.AppendAsync(Enumerable.Range(0, 10).Select(i => LogKit.Entry($"d{i}", 300, term: 1)).ToList());
        var before = Enumerable.Range(0, 4).Select(i => log.AppendAsync(LogKit.Entry($"b{i}", 500, term: 2))).ToList();
        var reset = log.ResetAsync(100, 7);
        Assert.Equal((100UL, 7UL), (log.LastAssignedPosition, log.LastAssignedTerm));
        var after = Enumerable.Range(0, 3).Select(i => LogKit.Entry($"a{i}", 500, term: 7)).ToList();
        var afterTasks = after.Select(e => log.AppendAsync(e)).ToList();

        Assert.Equal([11UL, 12, 13, 14], await Task.WhenAll(before));
        await reset;
        Assert.Equal([101UL, 102, 103], await Task.WhenAll(afterTasks));
        AssertReset(log, 100, 7, after, "after the queued reset");
    }

    [Fact]
    public async Task A_truncation_queued_after_a_reset_cannot_keep_what_the_reset_discards()
    {
        var fs = new SimulatedFileSystem(seed: 6);
        var fatal = new FatalErrors();
        using var log = SegmentedLog.Open(Options(fs, fatal));
        await log.AppendAsync(Enumerable.Range(0, 10).Select(i => LogKit.Entry($"d{i}", 300, term: 1)).ToList());
        var reset = log.ResetAsync(100, 7);

        // Refused at once, whether the writer has run the reset yet or not.
        var below = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = log.TruncateSuffixAsync(50); });
        Assert.Matches("a reset queued before this call leaves it starting after position 100|it retains positions from 101 on", below.Message);

        // Just below the reset's position gets past that check while the reset is still queued,
        // and then fails when its turn comes, with everything queued behind it.
        Task? truncation = null;
        try
        {
            truncation = log.TruncateSuffixAsync(99);
        }
        catch (ArgumentOutOfRangeException e)
        {
            Assert.Contains("it retains positions from 101 on", e.Message, StringComparison.Ordinal);
        }

        var behindEntry = LogKit.Entry("behind", 10, term: 7);
        var behind = log.AppendAsync(behindEntry);
        await reset;
        if (truncation is not null)
        {
            var refused = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => truncation);
            Assert.Contains("the first retained position is 101", refused.Message, StringComparison.Ordinal);
        }

        // Queued behind the refused truncation it fails too; queued after the writer refused it
        // (or with no truncation queued) it lands after the reset.
        var expected = new List<LogEntry>();
        try
        {
            Assert.Equal(101UL, await behind);
            expected.Add(behindEntry);
        }
        catch (IOException failed)
        {
            Assert.NotNull(truncation);
            Assert.Contains("truncating it to position 99, queued before it, failed", failed.Message, StringComparison.Ordinal);
        }

        Assert.Empty(fatal.Errors);
        AssertReset(log, 100, 7, expected, "after the truncation");
        var next = LogKit.Entry("next", 10, term: 7);
        Assert.Equal(101UL + (ulong)expected.Count, await log.AppendAsync(next));
        AssertReset(log, 100, 7, [.. expected, next], "appended after the truncation");
    }

    [Fact]
    public async Task A_reset_of_position_0_to_another_term_is_refused_and_to_term_0_empties_the_log()
    {
        var (fs, _) = await SuffixTruncationTests.BuildAsync();
        using var log = SegmentedLog.Open(Options(fs));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = log.ResetAsync(0, 5); });
        Assert.Equal("term", e.ParamName);
        await log.ResetAsync(0, 0);
        AssertReset(log, 0, 0, [], "reset to 0");
        var entry = LogKit.Entry("first", 100, term: 1);
        Assert.Equal(1UL, await log.AppendAsync(entry));
    }

    [Fact]
    public async Task A_crash_at_any_operation_of_a_reset_leaves_the_old_log_or_the_new_one_and_never_anything_between()
    {
        var (pristine, entries) = await SuffixTruncationTests.BuildAsync();
        foreach (var (position, term) in new[] { (17UL, 4UL), (60UL, 9UL), (21UL, 2UL) })
        {
            var probe = pristine.Clone(seed: 0);
            var prepared = WhenNextSegmentPrepared(probe);
            int operations;
            using (var log = SegmentedLog.Open(Options(probe)))
            {
                await prepared;
                var before = probe.History.Count;
                await log.ResetAsync(position, term);
                operations = probe.History.Count - before;
            }

            Assert.True(operations >= 6, $"the reset made only {operations} operations");
            var outcomes = new HashSet<string>();
            for (var op = 1; op <= operations; op++)
            {
                for (var seed = 0; seed < 6; seed++)
                {
                    outcomes.Add(await CrashDuringResetAsync(pristine, entries, position, term, op, seed));
                }
            }

            Assert.Equal(["new", "old"], outcomes.Order());
        }
    }

    private static async Task<string> CrashDuringResetAsync(SimulatedFileSystem pristine, List<LogEntry> entries, ulong position, ulong term, int op, int seed)
    {
        var context = $"reset to {position}, crash at operation {op}, seed {seed}";
        var fs = pristine.Clone(seed);
        var prepared = WhenNextSegmentPrepared(fs);
        bool completed;
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            await prepared;
            fs.CrashAtOperation(op, tornWrites: true);
            try
            {
                await log.ResetAsync(position, term);
                completed = true;
            }
            catch (IOException)
            {
                completed = false;
            }
        }

        if (fs.IsDown)
        {
            fs.Restart();
        }
        else
        {
            // The crash would have hit preparing the next segment, in the background.
            fs.Crash(tornWrites: true);
        }

        var problems = LogVerifier.Verify(Options(fs)).Problems;
        Assert.True(problems.Count == 0, $"{context}: {string.Join("; ", problems)}");

        // A read-only open (aurora-log) sees what an open for writing will make of it.
        bool isNew;
        using (var readOnly = SegmentedLog.Open(Options(fs) with { ReadOnly = true }))
        {
            isNew = readOnly.FirstRetainedPosition == position + 1;
            if (isNew)
            {
                AssertReset(readOnly, position, term, [], context + ", read-only");
            }
        }

        using (var log = SegmentedLog.Open(Options(fs)))
        {
            Assert.Empty(LogDirectoryLayout.FindUnaccounted(fs, LogKit.SimDirectory));
            Assert.True(!completed || isNew, $"{context}: the reset completed, yet the old log came back");
            if (isNew)
            {
                AssertReset(log, position, term, [], context);
                Assert.DoesNotContain(fs.ListFiles(Path.Combine(LogKit.SimDirectory, "log")), p => Path.GetFileName(p).StartsWith("reset-", StringComparison.Ordinal));
                return "new";
            }

            Assert.Equal(1UL, log.FirstRetainedPosition);
            LogKit.AssertEntries(entries, LogKit.ReadAll(log), context + ": neither the old log nor the new one");
            return "old";
        }
    }

    [Fact]
    public async Task A_failed_fsync_after_the_reset_file_is_in_place_is_fatal_and_the_restart_finishes_the_reset()
    {
        var (fs, _) = await SuffixTruncationTests.BuildAsync();
        var fatal = new FatalErrors();
        var prepared = WhenNextSegmentPrepared(fs);
        using (var log = SegmentedLog.Open(Options(fs, fatal)))
        {
            await prepared;

            // The first directory fsync is the commit point; the second follows the deletions.
            fs.FailSyncDirectory(2);
            var e = await Assert.ThrowsAsync<LogFailedException>(() => log.ResetAsync(70, 6));
            Assert.Same(Assert.Single(fatal.Errors), e.InnerException);
        }

        // The failed fsync made none of the deletions durable: the reset file stands beside the old segments.
        fs.Crash();
        var files = fs.ListFiles(Path.Combine(LogKit.SimDirectory, "log")).Select(Path.GetFileName).ToList();
        Assert.Contains("reset-00000000000000000071.log", files);
        Assert.Contains("segment-00000000000000000001.log", files);
        Assert.Empty(LogVerifier.Verify(Options(fs)).Problems);
        Assert.Empty(LogDirectoryLayout.FindUnaccounted(fs, LogKit.SimDirectory));
        using (var lookalike = fs.OpenFile(Path.Combine(LogKit.SimDirectory, "log", "reset-12x.log"), FileOpenMode.CreateNew))
        {
            var unaccounted = Assert.Single(LogDirectoryLayout.FindUnaccounted(fs, LogKit.SimDirectory));
            Assert.Equal("a regular file named like a reset's segment, but not as reset-<first position>.log, so the log never reads it", unaccounted.Reason);
        }

        fs.DeleteFile(Path.Combine(LogKit.SimDirectory, "log", "reset-12x.log"));
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            AssertReset(log, 70, 6, [], "after the restart");
        }

        Assert.Equal(["segment-00000000000000000071.log"], fs.ListFiles(Path.Combine(LogKit.SimDirectory, "log")).Select(Path.GetFileName).Where(n => n!.EndsWith(".log", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Two_reset_files_are_refused_as_corruption_rather_than_guessed_between()
    {
        var (fs, _) = await SuffixTruncationTests.BuildAsync();
        var directory = Path.Combine(LogKit.SimDirectory, "log");
        foreach (var first in new ulong[] { 50, 80 })
        {
            using var file = fs.OpenFile(Path.Combine(directory, Segment.ResetFileName(first)), FileOpenMode.CreateNew);
            var header = new byte[SegmentHeader.Size];
            SegmentHeader.Write(header, first, 3, generation: 1, recycled: false);
            file.Write(0, header);
            file.DataSync();
        }

        fs.SyncDirectory(directory);
        var e = Assert.Throws<LogCorruptedException>(() => SegmentedLog.Open(Options(fs)));
        Assert.Contains("two reset files", e.Problem, StringComparison.Ordinal);
        Assert.Contains(LogVerifier.Verify(Options(fs)).Problems, p => p.Problem.Contains("a second reset file", StringComparison.Ordinal) && !p.IsTornTail);
    }

    [Fact]
    public async Task A_read_planned_before_a_reset_fails_with_position_discarded()
    {
        var (fs, entries) = await SuffixTruncationTests.BuildAsync();
        using var log = SegmentedLog.Open(Options(fs));
        using var reading = log.Read(1).GetEnumerator();
        Assert.True(reading.MoveNext());
        Assert.Equal(entries[0], reading.Current);
        await log.ResetAsync(2, 1);
        await log.AppendAsync(LogKit.Entry("new", 100, term: 1));
        Assert.Throws<PositionDiscardedException>(() =>
        {
            while (reading.MoveNext())
            {
            }
        });
    }

    [Fact]
    public async Task Resetting_on_a_real_disk_survives_reopen()
    {
        using var dir = new TempDirectory();
        var options = LogKit.DiskOptions(dir.Sub("log"), segmentSize: 4 << 10);
        var after = new List<LogEntry>();
        using (var log = SegmentedLog.Open(options))
        {
            for (var i = 0; i < 20; i++)
            {
                await log.AppendAsync(LogKit.Entry($"r{i}", 700, term: 2));
            }

            await log.ResetAsync(500, 5);
            for (var i = 0; i < 10; i++)
            {
                var entry = LogKit.Entry($"n{i}", 700, term: 5 + (ulong)(i / 4));
                await log.AppendAsync(entry);
                after.Add(entry);
            }
        }

        Assert.Empty(LogVerifier.Verify(options).Problems);
        using (var log = SegmentedLog.Open(options))
        {
            AssertReset(log, 500, 5, after, "reopened on a real disk");
        }
    }
}
