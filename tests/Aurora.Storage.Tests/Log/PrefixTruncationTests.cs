using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// <see cref="SegmentedLog.TruncatePrefix"/> removes whole segments below the requested position,
/// never the one being written; what it removed stays removed across reopen, and a crash part-way
/// leaves a contiguous log.
/// </summary>
public class PrefixTruncationTests
{
    private static LogOptions Options(SimulatedFileSystem fs) => LogKit.SimOptions(fs, segmentSize: 4 << 10, maxEntrySize: 1024);

    [Fact]
    public async Task Truncating_at_any_position_removes_only_whole_segments_below_it_and_never_the_active_one()
    {
        var (pristine, entries) = await BuildAsync();
        var all = SegmentRanges(pristine);
        Assert.True(all.Count >= 6, $"the fixture has only {all.Count} segments");
        for (var keepFrom = 1UL; keepFrom <= (ulong)entries.Count + 2; keepFrom++)
        {
            var context = $"TruncatePrefix({keepFrom})";
            var fs = pristine.Clone(seed: (int)keepFrom);
            var options = Options(fs);

            // Segments go while every entry in them is below keepFrom, except the last one.
            var kept = all.SkipWhile((s, i) => i < all.Count - 1 && s.Last < keepFrom).ToList();
            var expectedFirst = kept[0].First;
            using (var log = SegmentedLog.Open(options))
            {
                Assert.Equal(expectedFirst, log.TruncatePrefix(keepFrom));
                AssertTruncated(log, entries, expectedFirst, context);
                Assert.Equal(kept.Select(s => s.First), log.Segments.Select(s => s.FirstPosition));

                // Truncating again below the first retained position changes nothing.
                Assert.Equal(expectedFirst, log.TruncatePrefix(1));
            }

            Assert.Equal(kept.Count, LogKit.SegmentFiles(fs, LogKit.SimDirectory).Count);
            fs.Crash();
            using (var log = SegmentedLog.Open(options))
            {
                AssertTruncated(log, entries, expectedFirst, context + ", reopened after a crash");
                var next = LogKit.Entry("after", 100, term: 99);
                Assert.Equal((ulong)entries.Count + 1, await log.AppendAsync(next));
                Assert.Equal(next, log.Read((ulong)entries.Count + 1).Single());
            }
        }
    }

    [Fact]
    public async Task A_crash_at_any_point_of_a_truncation_leaves_a_contiguous_log()
    {
        var (pristine, entries) = await BuildAsync();
        var keepFrom = (ulong)entries.Count - 3;
        var probe = pristine.Clone(seed: 0);
        var prepared = WhenNextSegmentPrepared(probe);
        using (var log = SegmentedLog.Open(Options(probe)))
        {
            await prepared;
            var before = probe.History.Count;
            log.TruncatePrefix(keepFrom);
            var truncationOps = probe.History.Count - before;
            Assert.True(truncationOps >= 4, $"truncation made only {truncationOps} operations");
            for (var op = 1; op <= truncationOps; op++)
            {
                for (var seed = 0; seed < 8; seed++)
                {
                    await CrashDuringTruncationAsync(pristine, entries, keepFrom, op, seed);
                }
            }
        }
    }

    [Fact]
    public async Task Reads_below_the_first_retained_position_throw_even_when_planned_before_the_truncation()
    {
        var (fs, entries) = await BuildAsync();
        using var log = SegmentedLog.Open(Options(fs));
        var planned = log.Read(1);
        var first = log.TruncatePrefix((ulong)entries.Count);
        Assert.True(first > 1);
        var e = Assert.Throws<PositionTruncatedException>(() => planned.ToList());
        Assert.Equal(1UL, e.Requested);
        Assert.Equal(first, e.FirstRetained);
        var direct = Assert.Throws<PositionTruncatedException>(() => log.Read(first - 1));
        Assert.Equal(first - 1, direct.Requested);
        Assert.Equal(first, direct.FirstRetained);
    }

    [Fact]
    public async Task Truncating_while_appending_keeps_every_entry_at_or_above_the_truncation_point()
    {
        var fs = new SimulatedFileSystem(seed: 17);
        using var log = SegmentedLog.Open(Options(fs));
        var appenders = Enumerable.Range(0, 3).Select(a => Task.Run(async () =>
        {
            var mine = new List<LogEntry>();
            for (var i = 0; i < 60; i++)
            {
                var entry = LogKit.Entry($"c{a}-{i}", 50 + (i * 37 % 900));
                await log.AppendAsync(entry);
                mine.Add(entry);
            }

            return mine;
        })).ToList();
        do
        {
            var keepFrom = log.LastDurablePosition / 2;
            var first = log.TruncatePrefix(keepFrom);
            Assert.True(first <= Math.Max(keepFrom, 1), $"truncating at {keepFrom} removed up to {first}");
            await Task.Yield();
        }
        while (!appenders.All(t => t.IsCompleted));

        var all = (await Task.WhenAll(appenders)).SelectMany(e => e).OrderBy(e => e.Position).ToList();
        var retained = LogKit.ReadAll(log);
        LogKit.AssertEntries(all.Where(e => e.Position >= log.FirstRetainedPosition).ToList(), retained, "after concurrent truncation");
    }

    private static async Task CrashDuringTruncationAsync(SimulatedFileSystem pristine, List<LogEntry> entries, ulong keepFrom, int op, int seed)
    {
        var context = $"crash at truncation operation {op}, seed {seed}";
        var fs = pristine.Clone(seed);
        var fatal = new FatalErrors();
        var options = Options(fs) with { OnFatalError = fatal.Record };
        var prepared = WhenNextSegmentPrepared(fs);
        using (var log = SegmentedLog.Open(options))
        {
            // Background preallocation must not interleave with the operations being counted.
            await prepared;
            fs.CrashAtOperation(op, tornWrites: true);
            Assert.ThrowsAny<IOException>(() => log.TruncatePrefix(keepFrom));
        }

        fs.Restart();
        using (var log = SegmentedLog.Open(options with { OnFatalError = new FatalErrors().Record }))
        {
            var first = log.FirstRetainedPosition;
            Assert.True(first <= keepFrom, $"{context}: first retained {first} is above {keepFrom}");
            Assert.Equal(first, log.Segments[0].FirstPosition);
            LogKit.AssertEntries(entries[(int)(first - 1)..], LogKit.ReadAll(log), context);
            var next = LogKit.Entry("after", 100, term: 99);
            Assert.Equal((ulong)entries.Count + 1, await log.AppendAsync(next));
        }
    }

    private static Task WhenNextSegmentPrepared(SimulatedFileSystem fs) =>
        fs.WhenOperation(op => op.Kind == FsOperationKind.DataSync && SimulatedFileSystem.IsNextSegmentFile(op.Path));

    private static void AssertTruncated(SegmentedLog log, List<LogEntry> entries, ulong expectedFirst, string context)
    {
        Assert.Equal(expectedFirst, log.FirstRetainedPosition);
        Assert.Equal((ulong)entries.Count, log.LastDurablePosition);
        LogKit.AssertEntries(entries[(int)(expectedFirst - 1)..], LogKit.ReadAll(log), context);
        if (expectedFirst > 1)
        {
            var e = Assert.Throws<PositionTruncatedException>(() => log.Read(expectedFirst - 1));
            Assert.Equal(expectedFirst, e.FirstRetained);
            Assert.Throws<PositionTruncatedException>(() => log.Read(1, 1));
        }
    }

    private static async Task<(SimulatedFileSystem Fs, List<LogEntry> Entries)> BuildAsync()
    {
        var fs = new SimulatedFileSystem(seed: 1);
        var random = new Random(1);
        var entries = new List<LogEntry>();
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            for (var i = 0; i < 40; i++)
            {
                var entry = LogKit.Entry($"t{i}", random.Next(0, 1400), term: 1 + (ulong)(i / 10), seed: random.Next());
                await log.AppendAsync(entry);
                entries.Add(entry);
            }
        }

        return (fs, entries);
    }

    /// <summary>(first, last) position of each segment, from the files.</summary>
    private static List<(ulong First, ulong Last)> SegmentRanges(SimulatedFileSystem fs)
    {
        var ranges = new List<(ulong, ulong)>();
        var files = LogKit.SegmentFiles(fs, LogKit.SimDirectory);
        for (var i = 0; i < files.Count; i++)
        {
            var records = LogKit.WalkRecords(files[i], fs.ReadAll(files[i]));
            var first = ulong.Parse(Path.GetFileNameWithoutExtension(files[i])["segment-".Length..], System.Globalization.CultureInfo.InvariantCulture);
            ranges.Add((first, records.Count > 0 ? records[^1].Position : first - 1));
        }

        return ranges;
    }
}
