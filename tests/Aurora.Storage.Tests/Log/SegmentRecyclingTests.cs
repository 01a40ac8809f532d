using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// Segments removed by prefix truncation are recycled as next segments instead of zero-filling new
/// ones, and nothing a recycled file held before is ever read as a record of its new segment.
/// </summary>
public class SegmentRecyclingTests
{
    private static LogOptions Options(SimulatedFileSystem fs) => LogKit.SimOptions(fs, segmentSize: 4 << 10, maxEntrySize: 1024);

    private static async Task<List<LogEntry>> AppendAsync(SegmentedLog log, int count, string prefix, ulong term = 1)
    {
        var entries = new List<LogEntry>();
        for (var i = 0; i < count; i++)
        {
            var entry = LogKit.Entry($"{prefix}-{i:D4}", 300, term: term, seed: i);
            entries.Add(entry.Clone());
            entries[^1].Position = await log.AppendAsync(entry);
        }

        return entries;
    }

    private static bool IsZeroFillWrite(FsOperation op) =>
        op.Kind == FsOperationKind.Write && SimulatedFileSystem.IsNextSegmentFile(op.Path) && op.Length > SegmentHeader.Size + RecordHeader.Size;

    [Fact]
    public async Task Truncated_segments_become_the_next_segments_with_a_new_generation_and_no_zero_fill()
    {
        var fs = new SimulatedFileSystem(seed: 11);
        var options = Options(fs);
        using var log = SegmentedLog.Open(options);
        var entries = await AppendAsync(log, 60, "before");
        var segmentsBefore = log.Segments.Count;
        Assert.True(segmentsBefore >= 5, $"the workload should fill several segments ({segmentsBefore})");

        log.TruncatePrefix(log.LastDurablePosition);
        var historyAtTruncation = fs.History.Count;
        entries.AddRange(await AppendAsync(log, 30, "after"));

        // Each roll after the truncation took a spare: renamed into the next-segment slot, never zero-filled.
        var after = fs.History.Skip(historyAtTruncation).ToList();
        bool IsSpare(FsOperation op) => op.Kind == FsOperationKind.Rename && Path.GetFileName(op.Path).StartsWith(Segment.SparePrefix, StringComparison.Ordinal);
        Assert.True(after.Count(IsSpare) >= 2, $"spares should have been taken as next segments ({after.Count(IsSpare)})");
        Assert.DoesNotContain(after, IsZeroFillWrite);

        var recycled = LogKit.SegmentFiles(fs, LogKit.SimDirectory)
            .Select(file => fs.ReadAll(file))
            .Select(bytes => (Ok: SegmentHeader.TryRead(bytes, out _, out _, out var format, out _), format))
            .Where(h => h.Ok && h.format.Recycled)
            .ToList();
        Assert.NotEmpty(recycled);
        Assert.All(recycled, h => Assert.Equal(2UL, h.format.Generation));

        LogKit.AssertEntries(entries[(int)(log.FirstRetainedPosition - 1)..], [.. log.Read(log.FirstRetainedPosition)], "read back");
        log.Dispose();
        using var reopened = SegmentedLog.Open(options);
        Assert.Null(reopened.TornTail);
        LogKit.AssertEntries(entries[(int)(reopened.FirstRetainedPosition - 1)..], [.. reopened.Read(reopened.FirstRetainedPosition)], "after reopening");
        Assert.Empty(LogVerifier.Verify(options).Problems);
    }

    /// <summary>
    /// The worst case: a reset makes a recycled file the segment for the very positions it held,
    /// and a crash loses the end marker after the first new record, so the old record of the next
    /// position, intact and of the same term, lies right where the next record would be. Only the
    /// generation in the header checksum tells it from a record of the new segment.
    /// </summary>
    [Fact]
    public async Task An_old_record_of_the_expected_position_and_term_in_a_recycled_file_is_never_read()
    {
        var fs = new SimulatedFileSystem(seed: 12);
        var options = Options(fs);
        byte[] oldBytes;
        ulong reusedFirst;
        using (var log = SegmentedLog.Open(options))
        {
            await AppendAsync(log, 60, "old");
            var second = log.Segments[1];
            reusedFirst = second.FirstPosition;
            oldBytes = fs.ReadAll(second.Path);
            log.TruncatePrefix(log.Segments[2].FirstPosition);

            // One roll takes the zero-filled next segment and puts the newest spare (the second segment's file) in its place.
            var segments = log.Segments.Count;
            for (var i = 0; log.Segments.Count == segments; i++)
            {
                await AppendAsync(log, 1, $"roll-{i}");
            }

            await log.ResetAsync(reusedFirst - 1, term: 1);
            await log.AppendAsync(LogKit.Entry("new", 300, term: 1, seed: 1));
        }

        var path = Path.Combine(LogKit.SimDirectory, "log", Segment.FileName(reusedFirst));
        var bytes = fs.ReadAll(path);
        Assert.Equal(SegmentHeader.CurrentVersion, BitConverter.ToUInt32(bytes, 8));
        var newRecord = LogKit.WalkRecords(path, bytes).Single();
        var staleRecord = LogKit.WalkRecords(path, oldBytes)[1];
        Assert.Equal(reusedFirst + 1, staleRecord.Position);
        oldBytes.AsSpan((int)staleRecord.Offset, (int)staleRecord.Length).CopyTo(bytes.AsSpan((int)newRecord.End));
        fs.Overwrite(path, bytes);

        using var reopened = SegmentedLog.Open(options);
        Assert.Equal(reusedFirst, reopened.LastDurablePosition);
        Assert.Equal(["new"], LogKit.ReadAll(reopened).Select(LogKit.IdOf));
        Assert.NotNull(reopened.TornTail);
        Assert.Equal(newRecord.End, reopened.TornTail!.Offset);
    }

    [Fact]
    public async Task Recycled_segments_never_yield_a_stale_record_after_a_crash_at_any_point()
    {
        var operations = await CalibrateAsync();
        await LogKit.RunSeedsAsync(200, seed => RunSeedAsync(seed, operations));
    }

    private static async Task<int> CalibrateAsync()
    {
        var fs = new SimulatedFileSystem(seed: 0);
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            await RunWorkloadAsync(log, new Random(0), [], []);
        }

        return fs.History.Count;
    }

    /// <summary>
    /// Appends from two writers with a prefix truncation after every few, so that most segments are
    /// recycled files, then a crash (torn writes) at a seeded operation: every acknowledged entry
    /// at or after the first retained position is read back intact, and nothing else was read that
    /// was not submitted, or twice.
    /// </summary>
    private static async Task RunSeedAsync(int seed, int calibratedOperations)
    {
        var random = new Random(seed);
        var fs = new SimulatedFileSystem(seed);
        var options = Options(fs);
        var acked = new List<LogEntry>();
        var submitted = new Dictionary<string, LogEntry>();
        using (var log = SegmentedLog.Open(options))
        {
            fs.CrashAtOperation(random.Next(calibratedOperations / 3, calibratedOperations + 1), tornWrites: true);
            await RunWorkloadAsync(log, random, acked, submitted);
        }

        if (fs.IsDown)
        {
            fs.Restart();
        }
        else
        {
            fs.Crash(tornWrites: true);
        }

        using var reopened = SegmentedLog.Open(options);
        var first = reopened.FirstRetainedPosition;
        var read = reopened.Read(first).ToList();
        foreach (var entry in acked.Where(e => e.Position >= first))
        {
            Assert.True(entry.Position < first + (ulong)read.Count, $"acknowledged position {entry.Position} is gone; the log ends at {reopened.LastDurablePosition}");
            LogKit.AssertEntries([entry], [read[(int)(entry.Position - first)]], $"acknowledged position {entry.Position}");
        }

        LogKit.AssertSubmittedOnce(read, submitted);

        Assert.DoesNotContain(LogVerifier.Verify(options with { ReadOnly = true }).Problems, p => !p.IsTornTail);
        var next = LogKit.Entry("after-crash", 300, term: 1);
        Assert.Equal(reopened.LastDurablePosition + 1, await reopened.AppendAsync(next));
    }

    private static async Task RunWorkloadAsync(SegmentedLog log, Random random, List<LogEntry> acked, Dictionary<string, LogEntry> submitted)
    {
        var plans = Enumerable.Range(0, 2).Select(writer => Enumerable.Range(0, 60).Select(i =>
        {
            var entry = LogKit.Entry($"w{writer}-{i:D3}", random.Next(8) == 0 ? random.Next(1000, 3000) : random.Next(50, 600), term: 1, seed: random.Next());
            submitted[LogKit.IdOf(entry)] = entry.Clone();
            return entry;
        }).ToList()).ToList();
        var truncateEvery = random.Next(5, 15);
        var gate = new Lock();
        await Task.WhenAll(plans.Select((plan, writer) => Task.Run(async () =>
        {
            for (var i = 0; i < plan.Count; i++)
            {
                try
                {
                    var position = await log.AppendAsync(plan[i]);
                    var copy = plan[i].Clone();
                    copy.Position = position;
                    lock (gate)
                    {
                        acked.Add(copy);
                    }

                    if (writer == 0 && i % truncateEvery == 0)
                    {
                        log.TruncatePrefix(position);
                    }
                }
                catch (IOException)
                {
                    return;
                }
            }
        })));
    }
}
