using System.Text;
using Aurora.Storage.Backups;
using Aurora.Storage.IO;
using Aurora.Storage.Snapshots;

namespace Aurora.Storage.Tests.Backups;

public class BackupSchedulerTests
{
    private const string BlobType = "type.test/SchedulerState";
    private const int BackupFailedEvent = 1019;
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    private sealed class Rig : IAsyncDisposable
    {
        public Rig(TempDirectory dir, int maxSavedBackups = 48)
        {
            FileSystem = new FailingFileSystem(PhysicalFileSystem.Instance);
            Options = new BackupOptions
            {
                BackupDirectory = dir.Sub("backups"),
                ClusterName = "devcluster",
                MaxSavedBackups = maxSavedBackups,
                Interval = Interval,
                FileSystem = FileSystem,
                Time = Time,
                Logger = Logger,
            };
            Store = new SnapshotStore(new SnapshotOptions { Directory = dir.Sub("log"), Time = Time, FileSystem = FileSystem });
            Manager = new BackupManager(Options);
            Scheduler = new BackupScheduler(Manager, Store, Options);
        }

        public ManualTimeProvider Time { get; } = new();

        public RecordingLogger Logger { get; } = new();

        public FailingFileSystem FileSystem { get; }

        public BackupOptions Options { get; }

        public SnapshotStore Store { get; }

        public BackupManager Manager { get; }

        public BackupScheduler Scheduler { get; }

        public void Snapshot(ulong position) => Store.Write(position, 1, BlobType, Encoding.UTF8.GetBytes($"state at {position}"));

        public IEnumerable<ulong> BackedUpPositions() => Manager.List().Select(b => b.Position);

        public ValueTask DisposeAsync() => Scheduler.DisposeAsync();
    }

    [Fact]
    public async Task A_backup_is_taken_at_each_interval_when_there_is_a_new_snapshot()
    {
        using var dir = new TempDirectory();
        await using var rig = new Rig(dir);
        rig.Snapshot(10);
        rig.Scheduler.Start();

        rig.Time.Advance(Interval - TimeSpan.FromSeconds(1));
        Assert.Empty(rig.BackedUpPositions());

        rig.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal([10UL], rig.BackedUpPositions());

        rig.Snapshot(20);
        rig.Time.Advance(Interval);
        Assert.Equal([20UL, 10UL], rig.BackedUpPositions());
        Assert.Equal(2, rig.Scheduler.Taken);
        Assert.Equal(0, rig.Scheduler.Failed);
    }

    [Fact]
    public async Task No_backup_is_taken_while_the_newest_snapshot_is_already_backed_up()
    {
        using var dir = new TempDirectory();
        await using var rig = new Rig(dir);
        rig.Snapshot(10);
        rig.Manager.BackupNewestSnapshot(rig.Store);
        rig.Scheduler.Start();

        rig.Time.Advance(Interval * 3);

        Assert.Equal([10UL], rig.BackedUpPositions());
        Assert.Equal(0, rig.Scheduler.Taken);
        Assert.Equal(3, rig.Scheduler.UpToDate);
    }

    [Fact]
    public async Task Without_any_snapshot_nothing_is_backed_up_and_nothing_fails()
    {
        using var dir = new TempDirectory();
        await using var rig = new Rig(dir);
        rig.Scheduler.Start();

        rig.Time.Advance(Interval * 2);

        Assert.Empty(rig.BackedUpPositions());
        Assert.Equal(2, rig.Scheduler.UpToDate);
        Assert.Equal(0, rig.Scheduler.Failed);
        Assert.True(Directory.Exists(rig.Manager.Directory), "Start creates the backup directory");
    }

    [Fact]
    public async Task A_failed_backup_is_logged_not_thrown_and_retried_at_the_next_interval()
    {
        using var dir = new TempDirectory();
        await using var rig = new Rig(dir);
        rig.Snapshot(10);
        rig.FileSystem.FailCreate = path => path.StartsWith(rig.Manager.Directory, StringComparison.Ordinal);
        rig.Scheduler.Start();

        rig.Time.Advance(Interval);

        Assert.Empty(rig.BackedUpPositions());
        Assert.Equal(1, rig.Scheduler.Failed);
        var logged = Assert.Single(rig.Logger.Messages(BackupFailedEvent));
        Assert.Contains("No space left on device (injected)", logged, StringComparison.Ordinal);
        Assert.Contains("retried in 01:00:00", logged, StringComparison.Ordinal);

        rig.FileSystem.FailCreate = null;
        rig.Time.Advance(Interval);

        Assert.Equal([10UL], rig.BackedUpPositions());
        Assert.Equal(1, rig.Scheduler.Taken);
    }

    [Fact]
    public async Task Scheduled_backups_apply_retention()
    {
        using var dir = new TempDirectory();
        await using var rig = new Rig(dir, maxSavedBackups: 2);
        rig.Scheduler.Start();

        for (ulong position = 1; position <= 5; position++)
        {
            rig.Snapshot(position);
            rig.Time.Advance(Interval);
        }

        Assert.Equal([5UL, 4UL], rig.BackedUpPositions());
        Assert.Equal(5, rig.Scheduler.Taken);
    }

    [Fact]
    public async Task Disposing_stops_the_timer()
    {
        using var dir = new TempDirectory();
        var rig = new Rig(dir);
        rig.Snapshot(10);
        rig.Scheduler.Start();
        Assert.Equal(1, rig.Time.ActiveTimerCount);

        await rig.DisposeAsync();
        rig.Time.Advance(Interval * 2);

        Assert.Equal(0, rig.Time.ActiveTimerCount);
        Assert.Empty(rig.BackedUpPositions());
        Assert.Throws<ObjectDisposedException>(rig.Scheduler.Start);
    }
}
