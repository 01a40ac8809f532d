using Aurora.Storage.Log;
using Aurora.Storage.Tests.Log;

namespace Aurora.Storage.Tests.IO;

/// <summary>The log's LOCK keeps other writers out, and only them.</summary>
public class LockFileTests
{
    /// <summary>
    /// A child process being started holds a copy of every descriptor until it execs, so the flock
    /// of a log just disposed may still be held by that copy: reopening must wait that moment out
    /// rather than report another writer (it did, intermittently, in the storage tests).
    /// </summary>
    [Fact]
    public async Task Reopening_a_log_while_this_process_starts_children_is_not_mistaken_for_another_writer()
    {
        using var dir = new TempDirectory();
        var options = LogKit.DiskOptions(dir.Sub("log"));
        using var stop = new CancellationTokenSource();
        var spawner = Task.Run(() =>
        {
            var started = 0;
            while (!stop.IsCancellationRequested)
            {
                using var child = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/true") { UseShellExecute = false })!;
                child.WaitForExit();
                started++;
            }

            return started;
        });

        for (var i = 0; i < 300; i++)
        {
            SegmentedLog.Open(options).Dispose();
        }

        await stop.CancelAsync();
        Assert.True(await spawner > 0, "no child was started while the log was reopened");
    }
}
