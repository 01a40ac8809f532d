using System.Collections.Concurrent;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// Power failures at seeded random points of a concurrent workload, keeping random subsets of the
/// unsynced sectors (torn writes): after restart every acknowledged entry is there and intact, the
/// log is a contiguous prefix of what was submitted, and it takes appends again.
/// </summary>
/// <remarks>
/// The workload and the crash point are fixed by the seed; which appends were acknowledged by
/// then also depends on thread scheduling, so a failing seed reproduces often, not always.
/// </remarks>
public class CrashConsistencyTests
{
    private const int Seeds = 300;

    [Fact]
    public async Task Acknowledged_entries_survive_a_crash_at_a_random_point_of_a_concurrent_workload()
    {
        var operations = await CalibrateAsync();
        await LogKit.RunSeedsAsync(Seeds, seed => RunSeedAsync(seed, operations));
    }

    /// <summary>How many file-system operations the workload makes when nothing crashes.</summary>
    private static async Task<int> CalibrateAsync()
    {
        var fs = new SimulatedFileSystem(seed: 0);
        using (var log = SegmentedLog.Open(Options(fs, new Random(0))))
        {
            await RunWorkloadAsync(log, new Random(0), new ConcurrentBag<(ulong, List<LogEntry>)>());
        }

        return fs.History.Count;
    }

    private static LogOptions Options(SimulatedFileSystem fs, Random random) =>
        LogKit.SimOptions(
            fs,
            segmentSize: random.Next(2) == 0 ? 4 << 10 : 12 << 10,
            maxEntrySize: 1024,
            compression: (CompressionCodec)random.Next(3),
            fatal: new FatalErrors());

    private static async Task RunSeedAsync(int seed, int calibratedOperations)
    {
        var random = new Random(seed);
        var fs = new SimulatedFileSystem(seed);
        var options = Options(fs, random);
        var acked = new ConcurrentBag<(ulong Position, List<LogEntry> Entries)>();
        var submitted = new Dictionary<string, LogEntry>();
        var log = SegmentedLog.Open(options);
        try
        {
            fs.CrashAtOperation(random.Next(1, calibratedOperations + 1), tornWrites: true);
            submitted = await RunWorkloadAsync(log, random, acked);
        }
        finally
        {
            log.Dispose();
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
        var read = LogKit.ReadAll(reopened);
        Assert.Equal(1UL, reopened.FirstRetainedPosition);
        foreach (var (position, entries) in acked)
        {
            Assert.True(position <= (ulong)read.Count, $"acknowledged position {position} is gone; {read.Count} entries left");
            var first = (int)position - entries.Count;
            LogKit.AssertEntries(entries, read[first..(int)position], $"acknowledged request ending at {position}");
        }

        // Whatever else survived was submitted (unacknowledged), once, and is intact.
        LogKit.AssertSubmittedOnce(read, submitted);

        var next = LogKit.Entry("after-crash", 2000, term: 1000);
        Assert.Equal((ulong)read.Count + 1, await reopened.AppendAsync(next));
        LogKit.AssertEntries([.. read, next], LogKit.ReadAll(reopened), "appended after the crash");
    }

    /// <summary>Three appenders, each sending its requests in order until one fails; returns every entry submitted, by id.</summary>
    private static async Task<Dictionary<string, LogEntry>> RunWorkloadAsync(SegmentedLog log, Random random, ConcurrentBag<(ulong, List<LogEntry>)> acked)
    {
        var plans = new List<List<List<LogEntry>>>();
        var submitted = new Dictionary<string, LogEntry>();
        for (var appender = 0; appender < 3; appender++)
        {
            var plan = new List<List<LogEntry>>();
            for (var r = 0; r < 10; r++)
            {
                var batch = new List<LogEntry>();
                var count = random.Next(4) == 0 ? random.Next(2, 4) : 1;
                for (var i = 0; i < count; i++)
                {
                    var size = random.Next(8) == 0 ? random.Next(1000, 4000) : random.Next(0, 400);
                    var kind = (PayloadKind)random.Next(3);
                    var entry = LogKit.Entry($"a{appender}-{r}-{i}", size, kind, LogKit.Principals[random.Next(LogKit.Principals.Length)], term: 1, seed: random.Next());
                    submitted[LogKit.IdOf(entry)] = entry.Clone();
                    batch.Add(entry);
                }

                plan.Add(batch);
            }

            plans.Add(plan);
        }

        await Task.WhenAll(plans.Select(plan => Task.Run(async () =>
        {
            foreach (var request in plan)
            {
                try
                {
                    acked.Add((await log.AppendAsync(request), request));
                }
                catch (IOException)
                {
                    return;
                }
            }
        })));
        return submitted;
    }
}
