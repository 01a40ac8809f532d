using System.Text;
using Aurora.Storage.Backups;
using Aurora.Storage.Snapshots;
using Aurora.Storage.Tests.Snapshots;

namespace Aurora.Storage.Tests.Backups;

public class BackupManagerTests
{
    private const string BlobType = "type.test/SchedulerState";
    private const string Cluster = "devcluster";

    private static readonly DateTimeOffset SnapshotTime = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(6_789_010);

    private static BackupManager Manager(TempDirectory dir, TimeProvider time, int max = BackupOptions.DefaultMaxSavedBackups, RecordingLogger? logger = null) => new(new BackupOptions
    {
        BackupDirectory = dir.Sub("backups"),
        ClusterName = Cluster,
        MaxSavedBackups = max,
        Time = time,
        Logger = logger ?? new RecordingLogger(),
    });

    private static SnapshotStore Store(TempDirectory dir, TimeProvider time) => new(new SnapshotOptions
    {
        Directory = dir.Sub("log"),
        RetainCount = 100,
        Time = time,
    });

    private static Snapshot WriteSnapshot(SnapshotStore store, ulong position, string text)
    {
        store.Write(position, 3, BlobType, Encoding.UTF8.GetBytes(text));
        return store.Read(store.PathFor(position));
    }

    [Fact]
    public void A_backup_is_self_describing_and_reads_back_as_the_snapshot_it_copies()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider(SnapshotTime);
        var snapshot = WriteSnapshot(Store(dir, time), 42, "the state");
        time.Advance(TimeSpan.FromMinutes(5));
        var manager = Manager(dir, time);

        var backup = manager.Save(snapshot);

        Assert.Equal(Cluster, backup.ClusterName);
        Assert.Equal(42UL, backup.Position);
        Assert.Equal(3UL, backup.Term);
        Assert.Equal(time.GetUtcNow(), backup.CreatedAt);
        Assert.Equal(SnapshotTime, backup.SnapshotCreatedAt);
        Assert.Equal(snapshot.Info.BlobLength, backup.BlobLength);
        Assert.Equal(snapshot.Info.BlobCrc32C, backup.BlobCrc32C);
        Assert.Equal(BlobType, backup.BlobType);
        Assert.Equal(1U, backup.FormatVersion);
        Assert.Equal(backup, Assert.Single(manager.List()));
        Assert.Empty(manager.Verify());
        Assert.Null(manager.Verify(backup.Path));

        var restored = manager.Read(backup.Path);

        Assert.Equal(snapshot.Info with { Path = backup.Path }, restored.Info);
        Assert.Equal(snapshot.Blob, restored.Blob);
    }

    [Fact]
    public void The_backup_directory_is_created_when_missing()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var manager = Manager(dir, time);
        Assert.Empty(manager.List());
        Assert.False(Directory.Exists(manager.Directory));

        manager.Save(WriteSnapshot(Store(dir, time), 1, "x"));

        Assert.Single(manager.List());
    }

    [Fact]
    public void Backup_names_carry_the_UTC_time_and_the_position_and_sort_by_them()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider(new DateTimeOffset(2024, 12, 31, 23, 59, 58, TimeSpan.FromHours(5)));
        var store = Store(dir, time);
        var manager = Manager(dir, time);

        var first = manager.Save(WriteSnapshot(store, 9, "a"));
        var second = manager.Save(WriteSnapshot(store, 10, "b"));
        time.Advance(TimeSpan.FromSeconds(3));
        var third = manager.Save(WriteSnapshot(store, 8, "c"));

        Assert.Equal("scheduler-backup-2024-12-31-18-59-58-00000000000000000009.bak", Path.GetFileName(first.Path));
        Assert.Equal("scheduler-backup-2024-12-31-18-59-58-00000000000000000010.bak", Path.GetFileName(second.Path));
        Assert.Equal("scheduler-backup-2024-12-31-19-00-01-00000000000000000008.bak", Path.GetFileName(third.Path));
        Assert.Equal([third.Path, second.Path, first.Path], manager.List().Select(b => b.Path));
        Assert.True(BackupManager.TryParseFileName(third.Path, out var named, out var position));
        Assert.Equal(new DateTimeOffset(2024, 12, 31, 19, 0, 1, TimeSpan.Zero), named);
        Assert.Equal(8UL, position);
    }

    [Fact]
    public void Retention_keeps_only_the_newest_MaxSavedBackups()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var store = Store(dir, time);
        var manager = Manager(dir, time, max: 3);

        for (ulong position = 1; position <= 6; position++)
        {
            manager.Save(WriteSnapshot(store, position, $"state {position}"));
            time.Advance(TimeSpan.FromHours(1));
        }

        Assert.Equal([6UL, 5UL, 4UL], manager.List().Select(b => b.Position));
        Assert.Equal(3, Directory.GetFiles(manager.Directory).Length);
    }

    [Fact]
    public void Retention_never_removes_the_backup_just_saved_when_the_clock_was_set_back()
    {
        using var dir = new TempDirectory();
        var later = new ManualTimeProvider(new DateTimeOffset(2024, 6, 1, 0, 0, 0, TimeSpan.Zero));
        var earlier = new ManualTimeProvider(new DateTimeOffset(2024, 5, 1, 0, 0, 0, TimeSpan.Zero));
        var store = Store(dir, later);
        Manager(dir, later, max: 1).Save(WriteSnapshot(store, 1, "a"));

        var saved = Manager(dir, earlier, max: 1).Save(WriteSnapshot(store, 2, "b"));

        Assert.True(File.Exists(saved.Path));
        Assert.Equal([1UL, 2UL], Manager(dir, later).List().Select(b => b.Position));
    }

    [Fact]
    public void The_default_retention_is_Auroras_48_backups()
    {
        var options = new BackupOptions { BackupDirectory = "/backups", ClusterName = Cluster };

        Assert.Equal(48, options.MaxSavedBackups);
        Assert.Equal(TimeSpan.FromHours(1), options.Interval);
    }

    [Fact]
    public void A_flipped_bit_anywhere_in_a_backup_is_found_by_Verify_naming_the_file()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var store = Store(dir, time);
        var manager = Manager(dir, time);
        var sound = manager.Save(WriteSnapshot(store, 1, "older, sound")).Path;
        time.Advance(TimeSpan.FromHours(1));
        var damagedPath = manager.Save(WriteSnapshot(store, 2, "newer, to be damaged")).Path;
        var pristine = File.ReadAllBytes(damagedPath);

        for (var bit = 0; bit < pristine.Length * 8; bit++)
        {
            var damaged = (byte[])pristine.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            File.WriteAllBytes(damagedPath, damaged);

            var problem = Assert.Single(manager.Verify());

            Assert.True(problem.Path == damagedPath, $"flipped bit {bit} (byte {bit / 8}) was reported as {problem}");
            Assert.Equal(problem, manager.Verify(damagedPath));
            Assert.Null(manager.Verify(sound));
            var error = Assert.Throws<InvalidDataException>(() => manager.Read(damagedPath));
            Assert.StartsWith(damagedPath + ": " + problem.Problem, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_truncated_backup_is_found_by_Verify()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var manager = Manager(dir, time);
        var path = manager.Save(WriteSnapshot(Store(dir, time), 1, "state")).Path;
        var pristine = File.ReadAllBytes(path);

        for (var length = 0; length < pristine.Length; length++)
        {
            File.WriteAllBytes(path, pristine[..length]);

            Assert.True(manager.Verify(path) is { } problem && problem.Path == path, $"truncation to {length} bytes was not detected");
        }
    }

    [Fact]
    public void List_leaves_out_and_logs_a_backup_with_a_damaged_header()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var logger = new RecordingLogger();
        var store = Store(dir, time);
        var manager = Manager(dir, time, logger: logger);
        manager.Save(WriteSnapshot(store, 1, "a"));
        time.Advance(TimeSpan.FromHours(1));
        var damaged = manager.Save(WriteSnapshot(store, 2, "b")).Path;
        SnapshotStoreTests.FlipBit(damaged, 30);

        Assert.Equal([1UL], manager.List().Select(b => b.Position));
        Assert.Contains(logger.Messages(1018), m => m.Contains(damaged, StringComparison.Ordinal));
    }

    [Fact]
    public void A_snapshot_file_is_not_mistaken_for_a_backup_nor_a_backup_for_a_snapshot()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var store = Store(dir, time);
        var manager = Manager(dir, time);
        var snapshot = WriteSnapshot(store, 1, "state");
        var backup = manager.Save(snapshot);

        Assert.Equal("this is a snapshot file, not a backup file", manager.Verify(snapshot.Info.Path)?.Problem);
        var error = Assert.Throws<InvalidDataException>(() => store.Read(backup.Path));
        Assert.Equal($"{backup.Path}: this is a backup file, not a snapshot file", error.Message);
    }

    [Fact]
    public void An_unknown_backup_format_version_is_a_typed_error()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var manager = Manager(dir, time);
        var path = manager.Save(WriteSnapshot(Store(dir, time), 1, "state")).Path;
        var bytes = File.ReadAllBytes(path);
        bytes[8] = 9;
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<InvalidDataException>(() => manager.Read(path));

        Assert.Equal(9U, Assert.IsType<UnknownSnapshotFormatVersionException>(error.InnerException).Version);
        Assert.Contains("unknown backup format version 9 (this build reads version 1)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Backing_up_the_newest_snapshot_on_demand_takes_the_newest_valid_one()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var store = Store(dir, time);
        var manager = Manager(dir, time);
        Assert.Null(manager.BackupNewestSnapshot(store));

        WriteSnapshot(store, 1, "valid");
        var damaged = WriteSnapshot(store, 2, "damaged");
        SnapshotStoreTests.FlipBit(damaged.Info.Path, new FileInfo(damaged.Info.Path).Length - 1);

        var backup = manager.BackupNewestSnapshot(store);

        Assert.Equal(1UL, backup?.Position);
        Assert.Equal(Encoding.UTF8.GetBytes("valid"), manager.Read(backup!.Path).Blob);
    }

    [Fact]
    public void A_snapshot_whose_blob_no_longer_matches_its_checksum_is_not_backed_up()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider();
        var manager = Manager(dir, time);
        var snapshot = WriteSnapshot(Store(dir, time), 1, "state");
        snapshot.Blob[0] ^= 1;

        Assert.Throws<InvalidDataException>(() => manager.Save(snapshot));
        Assert.False(Directory.Exists(manager.Directory) && Directory.GetFiles(manager.Directory).Length > 0);
    }

    [Fact]
    public void Invalid_options_are_refused_with_the_flag_named()
    {
        Assert.Contains("-max_saved_backups=0", Assert.Throws<ArgumentException>(() => new BackupManager(new BackupOptions { BackupDirectory = "/b", ClusterName = Cluster, MaxSavedBackups = 0 })).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new BackupManager(new BackupOptions { BackupDirectory = "/b", ClusterName = " " }));
        Assert.Throws<ArgumentException>(() => new BackupManager(new BackupOptions { BackupDirectory = "", ClusterName = Cluster }));
        Assert.Throws<ArgumentException>(() => new BackupManager(new BackupOptions { BackupDirectory = "/b", ClusterName = Cluster, Interval = TimeSpan.Zero }));
    }

    [Fact]
    public void Backup_file_encoding_is_pinned()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider(SnapshotTime);
        var snapshot = WriteSnapshot(Store(dir, time), 42, "state-bytes");
        time.Advance(new DateTimeOffset(2024, 1, 2, 5, 6, 7, TimeSpan.Zero).AddTicks(80) - SnapshotTime);

        var path = Manager(dir, time).Save(snapshot).Path;

        // magic "AURBKUP\n" | version 1 | header length 67 | header CRC32C | SnapshotHeader{position 42, term 3,
        // backup created 2024-01-02T05:06:07.000008Z, blob length 11, blob CRC, type, cluster, snapshot created} | blob
        const string Expected =
            "415552424b55500a" + "01000000" + "43000000" + "67619b2d"
            + "082a" + "1003" + "18c8dbeaa5f7bd8303" + "200b" + "2de86844d4"
            + "3218747970652e746573742f5363686564756c65725374617465"
            + "3a0a646576636c7573746572" + "40b5dee082dcbd8303"
            + "73746174652d6279746573";
        Assert.Equal(Expected, Convert.ToHexStringLower(File.ReadAllBytes(path)));
        Assert.Equal("scheduler-backup-2024-01-02-05-06-07-00000000000000000042.bak", Path.GetFileName(path));
    }
}
