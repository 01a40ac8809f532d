using System.Text.Json;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Backups;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;
using Google.Protobuf;

namespace Aurora.LogTool.Tests;

/// <summary>
/// Two backups of one scheduler log, written the way the scheduler writes them: <see cref="Early"/>
/// of the story's snapshot at 12, and <see cref="Late"/> at 17, after the tail and a job large
/// enough that its recovery entry is split into chunks. Read-only for the tests; shared by them.
/// </summary>
public sealed class RecoverBackups : IDisposable
{
    private readonly TempDirectory _dir = new();

    public RecoverBackups()
    {
        using var log = SchedulerLog.Create(_dir.Sub("lost"));
        var story = Story.WriteAsync(log).GetAwaiter().GetResult();
        story.WriteSnapshotAndTailAsync(log).GetAwaiter().GetResult();
        var manager = new BackupManager(new BackupOptions { BackupDirectory = _dir.Sub("backups"), ClusterName = "devcluster", Time = log.Time });
        Early = manager.BackupNewestSnapshot(log.Store.Snapshots)!.Path;
        EarlyStoreHash = story.Hashes[12];

        log.Advance(TimeSpan.FromMinutes(1));
        log.ExecuteAsync(new CreateJob(Configs.Job(Configs.Key("ops", "test", "batch"), instances: 1000, tier: "preemptible", cpus: 0.1, ramMb: 16, diskMb: 16)), "bob")
            .GetAwaiter().GetResult();
        log.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(17UL, log.Store.TakeSnapshotAsync().GetAwaiter().GetResult()!.Position);
        Late = manager.BackupNewestSnapshot(log.Store.Snapshots)!.Path;
    }

    public string Early { get; }

    public string Late { get; }

    /// <summary>The state hash the scheduler's store computed at position 12.</summary>
    public string EarlyStoreHash { get; }

    public string BackupDirectory => _dir.Sub("backups");

    /// <summary>The state hash of a backup's blob, as the scheduler records it in SnapshotCommitted.</summary>
    public static string HashOf(string backup) => SchedulerState.FormatHash(SchedulerState.HashOf(Read(backup).Blob));

    public static Snapshot Read(string backup) =>
        new BackupManager(new BackupOptions { BackupDirectory = Path.GetDirectoryName(backup)!, ClusterName = "devcluster" }).Read(backup);

    public void Dispose() => _dir.Dispose();
}

public class RecoverTests(RecoverBackups backups) : IClassFixture<RecoverBackups>
{
    [Fact]
    public void Recover_rebuilds_exactly_the_backups_state_in_a_new_directory_for_the_scheduler_to_open()
    {
        using var dir = new TempDirectory();
        var target = dir.Sub("replica");

        var result = Tool.Run("recover", $"--backup={backups.Early}", $"--path={target}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(string.Empty, result.Error);
        var expected = RecoverBackups.HashOf(backups.Early);
        Assert.Equal(backups.EarlyStoreHash, expected);
        Assert.Equal(ReplicaStatus.Voting, new ReplicaMetadataStore(PhysicalFileSystem.Instance, target).Load().Status);
        using (var store = OpenStore(target))
        {
            Assert.Equal(expected, SchedulerState.FormatHash(store.StateHash()));
            Assert.Equal(1UL, store.Recovery.Snapshot?.Position);
            Assert.Equal(2UL, store.AppliedPosition);
            var entry = store.Log.Read(1, 1).Single();
            Assert.Equal(Principals.Recover, entry.Principal);
            var recovery = Assert.Single(TransactionCodec.Decode(entry).Events).RecoveryCommitted;
            Assert.Equal(Path.GetFileName(backups.Early), recovery.BackupId);
            Assert.Equal(12UL, recovery.BackupPosition);
            var marker = Assert.Single(TransactionCodec.Decode(store.Log.Read(2, 2).Single()).Events).SnapshotCommitted;
            Assert.Equal(1UL, marker.Position);
            Assert.Equal(expected, SchedulerState.FormatHash(marker.StateHash.Span));
        }

        var tasks = SchedulerState.FromSnapshot(RecoverBackups.Read(backups.Early).Blob).TaskCount;
        Assert.Equal($"Recovered {target} from backup {Path.GetFileName(backups.Early)}.", result.OutLines[0]);
        Assert.Contains($"State hash:     {expected}", result.OutLines);
        Assert.Contains($"Tasks:          {tasks} in 4 job(s)", result.OutLines);
        Assert.Contains(result.OutLines, l => l.StartsWith("Backup:         ", StringComparison.Ordinal) && l.Contains("cluster devcluster, position 12", StringComparison.Ordinal));
        Assert.Equal(0, Tool.Run("verify", $"--path={target}").ExitCode);
        using var state = JsonDocument.Parse(Tool.Run("state", $"--path={target}", "--json").Out);
        Assert.Equal(expected, state.RootElement.GetProperty("stateHash").GetString());
    }

    [Fact]
    public async Task A_state_larger_than_one_log_record_is_recovered_and_the_scheduler_goes_on_from_it()
    {
        using var dir = new TempDirectory();
        var target = dir.Sub("replica");
        Assert.True(RecoverBackups.Read(backups.Late).Blob.Length > Tool.SegmentSize, "the late backup must be larger than a test segment");

        var result = Tool.Run("recover", $"--backup={backups.Late}", $"--path={target}", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(RecoverBackups.HashOf(backups.Late), json.RootElement.GetProperty("stateHash").GetString());
        using var store = OpenStore(target);
        Assert.Equal(RecoverBackups.HashOf(backups.Late), SchedulerState.FormatHash(store.StateHash()));
        var decision = await store.ExecuteAsync(new KillTasks(Configs.Key("ops", "test", "batch"), Message: "after the recovery"), "carol");
        Assert.True(decision.ChangesState);
        Assert.Equal(3UL, store.AppliedPosition);
    }

    [Fact]
    public void Recover_reports_in_json_what_it_did()
    {
        using var dir = new TempDirectory();
        var target = dir.Sub("replica");
        Directory.CreateDirectory(target);

        var result = Tool.Run("recover", "--json", "--backup", backups.Early, "-path", target);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.Equal(target, root.GetProperty("directory").GetString());
        Assert.Equal(new ReplicaMetadataStore(PhysicalFileSystem.Instance, target).Load().LogId, root.GetProperty("logId").GetString());
        Assert.True(root.GetProperty("initialized").GetBoolean());
        Assert.False(root.GetProperty("resumed").GetBoolean());
        Assert.True(root.GetProperty("wrote").GetBoolean());
        Assert.Equal(backups.Early, root.GetProperty("backup").GetProperty("file").GetString());
        Assert.Equal(Path.GetFileName(backups.Early), root.GetProperty("backup").GetProperty("id").GetString());
        Assert.Equal("devcluster", root.GetProperty("backup").GetProperty("cluster").GetString());
        Assert.Equal(12UL, root.GetProperty("backup").GetProperty("position").GetUInt64());
        Assert.Equal("aurora-log recover", root.GetProperty("principal").GetString());
        Assert.Equal(1UL, root.GetProperty("recoveryPosition").GetUInt64());
        Assert.Equal(1UL, root.GetProperty("snapshot").GetProperty("position").GetUInt64());
        Assert.Equal(2UL, root.GetProperty("appendedPosition").GetUInt64());
        Assert.Equal(RecoverBackups.HashOf(backups.Early), root.GetProperty("stateHash").GetString());
        Assert.Equal(4, root.GetProperty("jobs").GetInt32());
    }

    [Fact]
    public void Recover_keeps_the_log_id_of_a_replica_initialized_beforehand()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);
        var logId = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load().LogId;

        var result = Tool.Run("recover", $"--backup={backups.Early}", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Log directory:  {dir.Path} (already initialized: status VOTING, log id {logId})", result.OutLines);
        Assert.Equal(logId, new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load().LogId);
        using var store = OpenStore(dir.Path);
        Assert.Equal(RecoverBackups.HashOf(backups.Early), SchedulerState.FormatHash(store.StateHash()));
    }

    [Fact]
    public async Task Recover_refuses_a_replica_that_holds_a_scheduler_log_and_changes_nothing()
    {
        using var dir = new TempDirectory();
        using (var log = SchedulerLog.Create(dir.Path))
        {
            await log.ExecuteAsync(new SetQuota("www-data", Configs.Quota(1, 1024, 1024)), "root");
        }

        var before = TestLog.Fingerprint(dir.Path);

        var result = Tool.Run("recover", $"--backup={backups.Early}", $"--path={dir.Path}");

        Tool.AssertOneLineError(
            result,
            2,
            $"refusing to recover into {dir.Path}: its log holds entries (positions 1..1), and the first is not a recovery written by 'aurora-log recover'.");
        Assert.Contains("missing or empty", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Recover_refuses_a_directory_that_holds_a_snapshot_but_no_entries(bool initialized)
    {
        using var dir = new TempDirectory();
        if (initialized)
        {
            Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);
        }

        new SnapshotStore(new SnapshotOptions { Directory = dir.Path }).Write(7, 1, SchedulerState.SnapshotBlobType, new SchedulerState().ToSnapshot().ToByteArray());
        var before = TestLog.Fingerprint(dir.Path);

        var result = Tool.Run("recover", $"--backup={backups.Early}", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 2, $"refusing to recover into {dir.Path}: it holds 1 snapshot file(s)");
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
    }

    [Fact]
    public void A_backup_with_a_flipped_byte_is_refused_and_nothing_is_written()
    {
        using var dir = new TempDirectory();
        var damaged = dir.Sub(Path.GetFileName(backups.Early));
        var bytes = File.ReadAllBytes(backups.Early);
        bytes[^10] ^= 0x04;
        File.WriteAllBytes(damaged, bytes);
        var target = dir.Sub("replica");

        var result = Tool.Run("recover", $"--backup={damaged}", $"--path={target}");

        Tool.AssertOneLineError(result, 1, $"cannot recover from {damaged}: blob checksum mismatch (header says ");
        Assert.Contains($"nothing was written to {target}", result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(target));
    }

    [Fact]
    public void A_backup_damaged_anywhere_leaves_an_initialized_replica_untouched()
    {
        using var dir = new TempDirectory();
        var target = dir.Sub("replica");
        Assert.Equal(0, Tool.Run("initialize", $"--path={target}").ExitCode);
        var before = TestLog.Fingerprint(target);
        var original = File.ReadAllBytes(backups.Early);
        var damaged = dir.Sub(Path.GetFileName(backups.Early));

        // Every 97th byte (header, checksums and blob alike), so the test stays quick.
        for (var offset = 0; offset < original.Length; offset += 97)
        {
            var bytes = (byte[])original.Clone();
            bytes[offset] ^= 0x10;
            File.WriteAllBytes(damaged, bytes);

            var result = Tool.Run("recover", $"--backup={damaged}", $"--path={target}");

            Assert.True(result.ExitCode == 1, $"byte {offset}: {result}");
            Assert.Contains("nothing was written", result.Error, StringComparison.Ordinal);
        }

        Assert.Equal(before, TestLog.Fingerprint(target));
    }

    [Fact]
    public void A_backup_that_is_not_a_scheduler_state_is_refused()
    {
        using var dir = new TempDirectory();
        var other = BackupOf(dir, "type.test/State", [1, 2, 3]);

        var result = Tool.Run("recover", $"--backup={other}", $"--path={dir.Sub("replica")}");

        Tool.AssertOneLineError(result, 1, $"cannot recover from {other}: it holds 'type.test/State', not a scheduler state");
        Assert.False(Directory.Exists(dir.Sub("replica")));
    }

    [Fact]
    public void A_backup_whose_state_does_not_load_is_refused()
    {
        using var dir = new TempDirectory();
        var newer = BackupOf(dir, SchedulerState.SnapshotBlobType, new SchedulerSnapshot { FormatVersion = 99 }.ToByteArray());

        var result = Tool.Run("recover", $"--backup={newer}", $"--path={dir.Sub("replica")}");

        Tool.AssertOneLineError(result, 1, $"cannot recover from {newer}: its state does not decode (The snapshot has format version 99");
        Assert.False(Directory.Exists(dir.Sub("replica")));
    }

    [Fact]
    public void A_missing_backup_or_flag_is_a_usage_error()
    {
        using var dir = new TempDirectory();

        Tool.AssertOneLineError(Tool.Run("recover", $"--backup={dir.Sub("nope.bak")}", $"--path={dir.Sub("r")}"), 2, $"backup file {dir.Sub("nope.bak")} does not exist; check --backup");
        Tool.AssertOneLineError(Tool.Run("recover", $"--backup={backups.BackupDirectory}", $"--path={dir.Sub("r")}"), 2, "is a directory; give one backup file from it");
        Tool.AssertOneLineError(Tool.Run("recover", $"--path={dir.Sub("r")}"), 2, "missing flag --backup: aurora-log recover --backup=FILE --path=DIR");
        Tool.AssertOneLineError(Tool.Run("recover", $"--backup={backups.Early}"), 2, "missing flag --path");
        Assert.False(Directory.Exists(dir.Sub("r")));
    }

    [Fact]
    public void Running_recover_again_after_it_finished_writes_nothing()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("recover", $"--backup={backups.Early}", $"--path={dir.Path}").ExitCode);
        var before = TestLog.Fingerprint(dir.Path, withMetadata: false);

        var again = Tool.Run("recover", $"--backup={backups.Early}", $"--path={dir.Path}");

        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal($"{dir.Path} already holds the recovery of backup {Path.GetFileName(backups.Early)}; nothing was written.", again.OutLines[0]);
        Assert.Contains($"State hash:     {RecoverBackups.HashOf(backups.Early)}", again.OutLines);
        Assert.Equal(before, TestLog.Fingerprint(dir.Path, withMetadata: false));
    }

    /// <summary>Interrupted after the recovery entry was durable: before the snapshot, or after it but before its marker.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_rerun_completes_a_recovery_interrupted_after_its_entry(bool snapshotWritten)
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);
        var blob = RecoverBackups.Read(backups.Early).Blob;
        using (var store = OpenStore(dir.Path))
        {
            await store.ExecuteAsync(new CommitRecovery(Path.GetFileName(backups.Early), 12, SchedulerSnapshot.Parser.ParseFrom(blob)), Principals.Recover);
            if (snapshotWritten)
            {
                store.Snapshots.Write(1, 1, SchedulerState.SnapshotBlobType, blob);
            }
        }

        var result = Tool.Run("recover", $"--backup={backups.Early}", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"Completed the interrupted recovery of {dir.Path} from backup {Path.GetFileName(backups.Early)}.", result.OutLines[0]);
        using var reopened = OpenStore(dir.Path);
        Assert.Equal(RecoverBackups.HashOf(backups.Early), SchedulerState.FormatHash(reopened.StateHash()));
        Assert.Equal(1UL, reopened.Recovery.Snapshot?.Position);
        Assert.Equal(2UL, reopened.AppliedPosition);
    }

    /// <summary>
    /// A backup whose bytes are not the canonical encoding of its state (here a field this version
    /// does not know follows it) is still recovered: its state hash is the hash of the state it
    /// decodes to, not of its bytes, which is what the recovered replica shows.
    /// </summary>
    [Fact]
    public void A_backup_encoded_otherwise_than_the_scheduler_encodes_is_recovered_to_the_state_it_decodes_to()
    {
        using var dir = new TempDirectory();
        var original = RecoverBackups.Read(backups.Early);
        byte[] unknownField = [0xC0, 0x3E, 0x01]; // field 1000, varint 1
        var otherwise = new SnapshotStore(new SnapshotOptions { Directory = dir.Sub("written") });
        otherwise.Write(original.Info.Position, original.Info.Term, SchedulerState.SnapshotBlobType, (byte[])[.. original.Blob, .. unknownField]);
        var backup = new BackupManager(new BackupOptions { BackupDirectory = dir.Sub("backups"), ClusterName = "devcluster" }).BackupNewestSnapshot(otherwise)!.Path;
        var canonical = RecoverBackups.HashOf(backups.Early);
        Assert.NotEqual(canonical, RecoverBackups.HashOf(backup));

        var result = Tool.Run("recover", $"--backup={backup}", $"--path={dir.Sub("replica")}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"State hash:     {canonical}", result.OutLines);
        using var state = JsonDocument.Parse(Tool.Run("state", $"--path={dir.Sub("replica")}", "--json").Out);
        Assert.Equal(canonical, state.RootElement.GetProperty("stateHash").GetString());
    }

    /// <summary>
    /// What the replica holds is rebuilt and checked against the backup before success is reported:
    /// here the snapshot at the recovery's position holds another state (as a defect in writing
    /// it would), which the scheduler would load in place of the backup's.
    /// </summary>
    [Fact]
    public async Task A_replica_whose_snapshot_does_not_hold_the_backups_state_is_refused_with_both_hashes()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);
        using (var store = OpenStore(dir.Path))
        {
            await store.ExecuteAsync(new CommitRecovery(Path.GetFileName(backups.Early), 12, SchedulerSnapshot.Parser.ParseFrom(RecoverBackups.Read(backups.Early).Blob)), Principals.Recover);
            store.Snapshots.Write(1, 1, SchedulerState.SnapshotBlobType, RecoverBackups.Read(backups.Late).Blob);
        }

        var result = Tool.Run("recover", $"--backup={backups.Early}", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Empty(result.OutLines);
        Assert.Contains($"holds state hash {RecoverBackups.HashOf(backups.Late)} when reopened", result.Error, StringComparison.Ordinal);
        Assert.Contains($"the backup's state hash is {RecoverBackups.HashOf(backups.Early)}; do not start a scheduler on it", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rerun_completes_a_recovery_whose_entry_was_torn_by_a_crash()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);
        TearFirstRecord(TestLog.SegmentFiles(dir.Path).Single());
        using (var log = SegmentedLog.Open(new LogOptions { Directory = dir.Path, ReadOnly = true }))
        {
            Assert.NotNull(log.TornTail);
        }

        var result = Tool.Run("recover", $"--backup={backups.Early}", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var store = OpenStore(dir.Path);
        Assert.Equal(RecoverBackups.HashOf(backups.Early), SchedulerState.FormatHash(store.StateHash()));
        Assert.Equal(2UL, store.AppliedPosition);
    }

    [Fact]
    public void A_rerun_with_another_backup_is_refused_naming_the_one_recovered()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("recover", $"--backup={backups.Early}", $"--path={dir.Path}").ExitCode);
        var before = TestLog.Fingerprint(dir.Path);

        var result = Tool.Run("recover", $"--backup={backups.Late}", $"--path={dir.Path}");

        Tool.AssertOneLineError(
            result,
            2,
            $"it already holds a recovery of backup {Path.GetFileName(backups.Early)} (backup position 12, written 2024-05-17T12:30:45.000000Z), not of {Path.GetFileName(backups.Late)}");
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
    }

    [Fact]
    public async Task A_rerun_after_the_scheduler_wrote_to_the_recovered_log_is_refused()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("recover", $"--backup={backups.Early}", $"--path={dir.Path}").ExitCode);
        using (var store = OpenStore(dir.Path))
        {
            await store.ExecuteAsync(new SaveFrameworkId("framework-1"), Principals.Scheduler);
        }

        var before = TestLog.Fingerprint(dir.Path);

        var result = Tool.Run("recover", $"--backup={backups.Early}", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 2, "followed by entries written since (position 3 by 'scheduler'), so a scheduler has run on it and it needs no recovery");
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
    }

    [Fact]
    public void Recover_refuses_while_a_scheduler_holds_an_empty_replicas_lock()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);
        using var running = OpenStore(dir.Path);

        var result = Tool.Run("recover", $"--backup={backups.Early}", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 1, "lock");
        Assert.Equal(0UL, running.AppliedPosition);
        Assert.Equal(0UL, running.Log.LastDurablePosition);
    }

    [Fact]
    public async Task The_executable_recovers_a_backup_and_prints_its_state_hash_as_json()
    {
        using var dir = new TempDirectory();
        var target = dir.Sub("replica");

        var result = await ProcessTests.RunAsync("recover", $"-backup={backups.Early}", $"-path={target}", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal(RecoverBackups.HashOf(backups.Early), json.RootElement.GetProperty("stateHash").GetString());
        using var store = SchedulerStore.Open(new SchedulerStoreOptions { Directory = target, OnFatalError = _ => { } });
        Assert.Equal(RecoverBackups.HashOf(backups.Early), SchedulerState.FormatHash(store.StateHash()));
    }

    /// <summary>Opens a replica as the scheduler does, with the tool's test segment size.</summary>
    private static SchedulerStore OpenStore(string directory) => SchedulerStore.Open(new SchedulerStoreOptions
    {
        Directory = directory,
        LogSegmentSize = Tool.SegmentSize,
        MaxEntrySize = (int)(Tool.SegmentSize / 4),
        OnFatalError = _ => { },
    });

    /// <summary>A sound backup file of <paramref name="blob"/>, labelled <paramref name="blobType"/>.</summary>
    private static string BackupOf(TempDirectory dir, string blobType, byte[] blob)
    {
        var snapshots = new SnapshotStore(new SnapshotOptions { Directory = dir.Sub("other-log") });
        snapshots.Write(5, 1, blobType, blob);
        var manager = new BackupManager(new BackupOptions { BackupDirectory = dir.Sub("other-backups"), ClusterName = "devcluster" });
        return manager.BackupNewestSnapshot(snapshots)!.Path;
    }

    /// <summary>What a crash in the middle of the first append leaves: a record header, its payload never written.</summary>
    private static void TearFirstRecord(string segmentPath)
    {
        var payload = new byte[2000];
        new Random(7).NextBytes(payload);
        var header = new byte[RecordHeader.Size];
        new RecordHeader(CompressionCodec.None, payload.Length, Aurora.Storage.Crc32C.Compute(payload), 1, 1, 0, 1).Write(header, TestLog.NewSegment);
        using var file = File.Open(segmentPath, FileMode.Open, FileAccess.ReadWrite);
        file.Position = 48; // after a version-3 segment header
        file.Write(header);
    }
}
