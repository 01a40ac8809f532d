using Aurora.Storage.Backups;
using Aurora.Storage.Snapshots;
using FsCheck;
using FsCheck.Fluent;

namespace Aurora.Storage.Tests.Snapshots;

public class SnapshotRoundTripProperties
{
    private static readonly string[] BlobTypes = ["", "type.test/SchedulerState", "type.googleapis.com/aurora.v1.State", "ünïcödé/✓"];

    [Fact]
    public void Arbitrary_blobs_round_trip_through_a_snapshot_and_a_backup()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var run = 0;
        var cases = ArbMap.Default.ArbFor<byte[]>()
            .Zip(ArbMap.Default.ArbFor<ulong>())
            .Zip(ArbMap.Default.ArbFor<ulong>())
            .Zip(Gen.Elements(BlobTypes).ToArbitrary());

        Prop.ForAll(cases, c =>
        {
            var (((blob, position), term), blobType) = c;
            var caseDir = dir.Sub($"case-{run++}");
            var store = new SnapshotStore(new SnapshotOptions { Directory = caseDir, Time = time });
            var manager = new BackupManager(new BackupOptions { BackupDirectory = Path.Combine(caseDir, "backups"), ClusterName = "prop", Time = time });
            time.Advance(TimeSpan.FromMilliseconds(1.234));

            var written = store.Write(position, term, blobType, blob);
            var loaded = store.LoadNewest();
            var backup = manager.Save(loaded.Newest!);
            var restored = manager.Read(backup.Path);

            Assert.Empty(loaded.Skipped);
            Assert.Equal(written, loaded.Newest!.Info);
            Assert.Equal(blob, loaded.Newest.Blob);
            Assert.Equal(written with { Path = backup.Path }, restored.Info);
            Assert.Equal(blob, restored.Blob);
            Assert.Equal("prop", backup.ClusterName);
            Assert.Equal([backup], manager.List());
            Assert.Empty(manager.Verify());
        }).QuickCheckThrowOnFailure();
    }
}
