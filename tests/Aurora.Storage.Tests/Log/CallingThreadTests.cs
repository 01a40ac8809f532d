using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// <see cref="LogOptions.WriteOnCallingThread"/>: every call has written and synced what it asked
/// for before it returns, with no thread of the log's own, and the file operations follow the calls
/// in one order, so the same calls on the same seeded disk leave the same bytes. (The property test
/// of <see cref="LogModelPropertyTests"/> runs both modes against its model, with crashes.)
/// </summary>
public class CallingThreadTests
{
    private static LogOptions Options(SimulatedFileSystem fs, FatalErrors? fatal = null) =>
        LogKit.SimOptions(fs, segmentSize: 4 << 10, maxEntrySize: 1024, fatal: fatal) with { WriteOnCallingThread = true };

    [Fact]
    public void Appends_truncations_and_resets_are_durable_when_the_call_returns()
    {
        var fs = new SimulatedFileSystem(seed: 1);
        using var log = SegmentedLog.Open(Options(fs));
        for (var i = 1; i <= 200; i++)
        {
            var task = log.AppendAsync([LogKit.Entry($"e{i}", 100)]);
            Assert.True(task.IsCompletedSuccessfully, $"append {i} returned before it was written");
            Assert.Equal((ulong)i, log.LastDurablePosition);
            Assert.Equal(FsOperationKind.DataSync, fs.History[^1].Kind);
        }

        Assert.True(log.Segments.Count > 3, "the appends rolled over several segments, each prepared on the calling thread");
        Assert.True(log.TruncateSuffixAsync(150).IsCompletedSuccessfully);
        Assert.Equal(150UL, log.LastDurablePosition);
        Assert.True(log.ResetAsync(1000, term: 2).IsCompletedSuccessfully);
        Assert.Equal(1000UL, log.LastDurablePosition);

        // Crash right now: everything acknowledged is on the durable image.
        fs.Crash(tornWrites: true);
        using var reopened = SegmentedLog.Open(Options(fs));
        Assert.Equal(1001UL, reopened.FirstRetainedPosition);
        Assert.Equal(1000UL, reopened.LastDurablePosition);
        Assert.Equal(2UL, reopened.TermAt(1000));
    }

    [Fact]
    public void The_same_calls_on_the_same_seeded_disk_leave_the_same_files()
    {
        static (List<FsOperation> History, byte[][] Files) Run()
        {
            var fs = new SimulatedFileSystem(seed: 5);
            fs.FailWrite(40, length => length / 2, SimulatedFileSystem.IsSegmentFile);
            using (var log = SegmentedLog.Open(Options(fs)))
            {
                for (var i = 1; i <= 120; i++)
                {
                    // One append fails with ENOSPC part-way; the log takes the next ones.
                    var task = log.AppendAsync([LogKit.Entry($"e{i}", 90)]);
                    Assert.True(task.IsCompleted);
                }

                log.TruncatePrefix(60);
            }

            fs.Crash(tornWrites: true);
            var paths = fs.History.Select(op => op.Path).Distinct().Where(fs.FileExists).Order(StringComparer.Ordinal);
            return ([.. fs.History], [.. paths.Select(fs.ReadAll)]);
        }

        var first = Run();
        var second = Run();
        Assert.Equal(first.History, second.History);
        Assert.Equal(first.Files.Length, second.Files.Length);
        for (var i = 0; i < first.Files.Length; i++)
        {
            Assert.Equal(first.Files[i], second.Files[i]);
        }
    }

    [Fact]
    public void A_failed_fdatasync_is_fatal_before_the_call_returns()
    {
        var fs = new SimulatedFileSystem(seed: 3);
        var fatal = new FatalErrors();
        using var log = SegmentedLog.Open(Options(fs, fatal));
        Assert.True(log.AppendAsync([LogKit.Entry("a", 10)]).IsCompletedSuccessfully);
        fs.FailDataSync(1);
        var failed = log.AppendAsync([LogKit.Entry("b", 10)]);
        Assert.True(failed.IsFaulted);
        Assert.IsType<LogFailedException>(failed.Exception!.InnerException);
        Assert.Single(fatal.Errors);
        Assert.Equal(1UL, log.LastDurablePosition);
        Assert.Throws<LogFailedException>(() => { _ = log.AppendAsync([LogKit.Entry("b", 10)]); });
    }
}
