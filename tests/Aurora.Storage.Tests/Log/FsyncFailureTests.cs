using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// A failed fdatasync (or directory fsync) leaves the disk in an unknown state: the log reports it
/// once through <see cref="LogOptions.OnFatalError"/> with the original exception, fails the
/// affected append and every later one with <see cref="LogFailedException"/> carrying that cause,
/// and never acknowledges what was not synced.
/// </summary>
public class FsyncFailureTests
{
    private static readonly Workload Work = new(seed: 11);

    private static LogOptions Options(SimulatedFileSystem fs, FatalErrors fatal) =>
        LogKit.SimOptions(fs, segmentSize: 8 << 10, maxEntrySize: 1024, fatal: fatal);

    [Fact]
    public async Task A_failed_fdatasync_of_any_segment_write_is_fatal_once_and_poisons_every_later_append()
    {
        var history = await Workload.DryRunAsync(Work, f => Options(f, new FatalErrors()));
        var syncs = history.Count(op => op.Kind == FsOperationKind.DataSync && SimulatedFileSystem.IsSegmentFile(op.Path));
        Assert.True(syncs > 20, $"the workload made only {syncs} segment syncs");
        for (var n = 1; n <= syncs; n++)
        {
            await RunWithOneFailedSyncAsync(n, fs => fs.FailDataSync(n, SimulatedFileSystem.IsSegmentFile), expectFailure: true);
        }
    }

    [Fact]
    public async Task A_failed_fdatasync_while_preparing_or_starting_the_next_segment_is_fatal_when_the_log_rolls()
    {
        var history = await Workload.DryRunAsync(Work, f => Options(f, new FatalErrors()));
        var used = Workload.FollowedByRoll(history, op => op.Kind == FsOperationKind.DataSync && SimulatedFileSystem.IsNextSegmentFile(op.Path));
        Assert.True(used.Count(u => u) >= 6, "the workload should roll several times");
        for (var n = 1; n <= used.Count; n++)
        {
            await RunWithOneFailedSyncAsync(n, fs => fs.FailDataSync(n, SimulatedFileSystem.IsNextSegmentFile), expectFailure: used[n - 1]);
        }
    }

    [Fact]
    public async Task A_failed_directory_fsync_when_rolling_is_fatal_once()
    {
        var history = await Workload.DryRunAsync(Work, f => Options(f, new FatalErrors()));

        // The directory syncs of creating the log come first; the rest are rolls.
        var openFs = new SimulatedFileSystem(seed: 1);
        SegmentedLog.Open(Options(openFs, new FatalErrors())).Dispose();
        var atOpen = openFs.History.Count(op => op.Kind == FsOperationKind.SyncDirectory);
        var rolls = history.Count(op => op.Kind == FsOperationKind.SyncDirectory) - atOpen;
        Assert.True(rolls >= 6, "the workload should roll several times");
        for (var n = 1; n <= rolls; n++)
        {
            await RunWithOneFailedSyncAsync(n, fs => fs.FailSyncDirectory(n), expectFailure: true, armAfterOpen: true);
        }
    }

    [Fact]
    public async Task A_failed_directory_fsync_after_prefix_truncation_is_fatal_and_poisons_appends()
    {
        var fs = new SimulatedFileSystem(seed: 5);
        var fatal = new FatalErrors();
        using var log = SegmentedLog.Open(Options(fs, fatal));
        foreach (var request in Work.Requests())
        {
            await log.AppendAsync(request);
        }

        fs.FailSyncDirectory(1);
        var e = Assert.ThrowsAny<IOException>(() => log.TruncatePrefix(log.LastDurablePosition));
        var injected = Assert.Single(fs.InjectedFaults);
        Assert.Same(injected, e);
        Assert.Same(injected, Assert.Single(fatal.Errors));
        var later = await Assert.ThrowsAsync<LogFailedException>(() => log.AppendAsync(LogKit.Entry("later", 10, term: 99)));
        Assert.Same(injected, later.InnerException);
        Assert.Single(fatal.Errors);
    }

    [Fact]
    public async Task A_failed_fdatasync_while_repairing_a_torn_tail_at_open_is_fatal()
    {
        var fs = new SimulatedFileSystem(seed: 9);
        using (var log = SegmentedLog.Open(Options(fs, new FatalErrors())))
        {
            await log.AppendAsync(LogKit.Entry("one", 100));
            await log.AppendAsync(LogKit.Entry("two", 700));
        }

        var path = LogKit.SegmentFiles(fs, LogKit.SimDirectory)[^1];
        var bytes = fs.ReadAll(path);
        var last = LogKit.WalkRecords(path, bytes)[^1];
        bytes.AsSpan((int)last.Offset + 100).Clear();
        fs.Overwrite(path, bytes);
        var fatal = new FatalErrors();
        fs.FailDataSync(1);
        var e = Assert.ThrowsAny<IOException>(() => SegmentedLog.Open(Options(fs, fatal)));
        Assert.Same(Assert.Single(fs.InjectedFaults), e);
        Assert.Same(e, Assert.Single(fatal.Errors));

        // A restart (the supervisor's job) recovers from what is on disk.
        fs.Crash();
        using var reopened = SegmentedLog.Open(Options(fs, new FatalErrors()));
        Assert.Equal("one", LogKit.IdOf(Assert.Single(LogKit.ReadAll(reopened))));
    }

    private static async Task RunWithOneFailedSyncAsync(int n, Action<SimulatedFileSystem> arm, bool expectFailure, bool armAfterOpen = false)
    {
        var context = $"failed sync {n} (seed {n})";
        var fs = new SimulatedFileSystem(seed: n);
        var fatal = new FatalErrors();
        var options = Options(fs, fatal);
        if (!armAfterOpen)
        {
            arm(fs);
        }

        var acked = new List<LogEntry>();
        List<LogEntry>? failed = null;
        using (var log = SegmentedLog.Open(options))
        {
            if (armAfterOpen)
            {
                arm(fs);
            }

            foreach (var request in Work.Requests())
            {
                try
                {
                    await log.AppendAsync(request);
                    acked.AddRange(request);
                }
                catch (LogFailedException e)
                {
                    failed = request;
                    var injected = Assert.Single(fs.InjectedFaults);
                    Assert.Same(injected, e.InnerException);
                    Assert.Same(injected, Assert.Single(fatal.Errors));
                    break;
                }
            }

            Assert.True(expectFailure == (failed is not null), $"{context}: expected {(expectFailure ? "a" : "no")} failed append");
            if (failed is null)
            {
                Assert.Empty(fatal.Errors);
                return;
            }

            // Nothing unsynced was acknowledged, and the log stays poisoned.
            Assert.Equal((ulong)acked.Count, log.LastDurablePosition);
            LogKit.AssertEntries(acked, LogKit.ReadAll(log), context + ", live");
            for (var i = 0; i < 3; i++)
            {
                var later = await Assert.ThrowsAsync<LogFailedException>(() => log.AppendAsync(LogKit.Entry($"later{i}", 10, term: 99)));
                Assert.Same(fs.InjectedFaults[0], later.InnerException);
            }

            Assert.Single(fatal.Errors);
        }

        // The supervisor restarts the process; what was acknowledged is on disk, and at most some
        // whole entries of the failed request (written, but never reported as durable).
        fs.Crash(tornWrites: true);
        using (var log = SegmentedLog.Open(options with { OnFatalError = new FatalErrors().Record }))
        {
            var read = LogKit.ReadAll(log);
            Assert.True(read.Count >= acked.Count, $"{context}: {read.Count} entries after the crash, {acked.Count} acknowledged");
            LogKit.AssertEntries(acked, read[..acked.Count], context + ", after the crash");
            var extra = read[acked.Count..];
            Assert.True(extra.Count <= failed.Count, $"{context}: {extra.Count} unexpected entries");
            for (var i = 0; i < extra.Count; i++)
            {
                Assert.Equal(LogKit.IdOf(failed[i]), LogKit.IdOf(extra[i]));
            }

            var next = LogKit.Entry("after", 300, term: 99);
            Assert.Equal((ulong)read.Count + 1, await log.AppendAsync(next));
        }
    }
}
