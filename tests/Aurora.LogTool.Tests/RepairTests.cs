using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Aurora.Replication.Protos;
using Aurora.Replication.Transport;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.LogTool.Tests;

public class RepairTests
{
    /// <summary>The damaged directory a repair at <see cref="FixedTime.Default"/> makes.</summary>
    private const string Damaged = "damaged-20240517T123045Z";

    [Fact]
    public async Task A_corrupt_log_is_moved_aside_and_the_replica_made_RECOVERING_with_its_cluster_and_promised_term()
    {
        using var dir = new TempDirectory();
        var old = await CorruptReplicaAsync(dir.Path);
        var before = Files(dir.Path);

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(string.Empty, result.Error);
        var damaged = dir.Sub(Damaged);
        // Every file moved, byte for byte, to the same place under damaged-…/; only the LOCK stays.
        Assert.Equal(before, Files(damaged).Where(f => f.Key != RepairCommand.DoneFileName).ToDictionary());
        Assert.Empty(Directory.GetFiles(dir.Sub("log")));
        Assert.Empty(Directory.GetFiles(dir.Sub("snapshots")));
        Assert.True(File.Exists(Path.Combine(damaged, RepairCommand.DoneFileName)));
        Assert.False(File.Exists(Path.Combine(damaged, RepairCommand.InProgressFileName)));
        var metadata = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load();
        Assert.Equal(ReplicaStatus.Recovering, metadata.Status);
        Assert.Equal("devcluster", metadata.ClusterId);
        Assert.Equal(7UL, metadata.PromisedTerm);
        Assert.Equal("?", metadata.VotedFor);
        Assert.NotEqual(old.LogId, metadata.LogId);
        Assert.Equal(TestLog.BaseMicros, metadata.InitializedMicros);

        Assert.Contains($"Repairing {dir.Path} (status VOTING):", result.Out, StringComparison.Ordinal);
        Assert.Contains("  damage: corrupt log record in ", result.Out, StringComparison.Ordinal);
        Assert.Matches($@"\nMoved \d+ file\(s\) into {damaged}/: .*log/segment-00000000000000000001\.log, replica\.meta, snapshots/snapshot-00000000000000000010\.snap\.\n", result.Out);
        Assert.Contains("status RECOVERING, cluster devcluster, promised term 7 (voted for '?'", result.Out, StringComparison.Ordinal);
        Assert.Contains("Next: start this replica's scheduler.", result.Out, StringComparison.Ordinal);

        // The repaired directory is a sound log whose damaged-… directory the layout accounts for.
        var info = Tool.Run("info", $"--path={dir.Path}");
        Assert.True(info.ExitCode == 0, info.ToString());
        Assert.Contains("Status:         RECOVERING\n                catching up from the leader", info.Out, StringComparison.Ordinal);
        Assert.Contains("Cluster id:     devcluster\n", info.Out, StringComparison.Ordinal);
        Assert.Contains("Voted for:      ? (may have voted in term 7, so it votes for no one in it)", info.Out, StringComparison.Ordinal);
        Assert.Contains("Unaccounted:    none", info.Out, StringComparison.Ordinal);
        Assert.True(Tool.Run("verify", $"--path={dir.Path}").ExitCode == 0);
    }

    [Fact]
    public async Task A_second_run_on_the_repaired_replica_finds_nothing_to_repair()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);
        Assert.Equal(0, Tool.Run("repair", $"--path={dir.Path}", "--yes").ExitCode);
        var before = TestLog.Fingerprint(dir.Path);

        var again = Tool.Run("repair", $"--path={dir.Path}", "--yes");

        Tool.AssertOneLineError(again, 2, $"nothing to repair in {dir.Path}: it is RECOVERING with an empty log, as a repair leaves it, and catches up from the leader by itself once its scheduler runs; add --force to rebuild it anyway");
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
    }

    [Fact]
    public async Task Force_rebuilds_a_replica_again_into_a_second_damaged_directory()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);
        Assert.Equal(0, Tool.Run("repair", $"--path={dir.Path}", "--yes").ExitCode);
        var first = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load();

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes", "--force");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("  damage: none found; rebuilt because of --force", result.Out, StringComparison.Ordinal);
        var second = dir.Sub(Damaged + "-2");
        Assert.Equal(first.LogId, new ReplicaMetadataStore(PhysicalFileSystem.Instance, second).Load().LogId);
        var metadata = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load();
        Assert.Equal((ReplicaStatus.Recovering, "devcluster", 7UL, "?"), (metadata.Status, metadata.ClusterId, metadata.PromisedTerm, metadata.VotedFor));
        Assert.True(Tool.Run("info", $"--path={dir.Path}").ExitCode == 0);
    }

    [Fact]
    public async Task Directories_the_log_does_not_keep_are_left_in_place_and_named()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);
        Directory.CreateDirectory(dir.Sub("old-log"));
        Directory.CreateDirectory(dir.Sub("log/junk"));
        File.WriteAllText(dir.Sub("notes.txt"), "kept with the rest");

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Left in place: log/junk, a directory the log does not keep; move it out of the log directory yourself.\n", result.Out, StringComparison.Ordinal);
        Assert.Contains("Left in place: old-log, a directory the log does not keep; move it out of the log directory yourself.\n", result.Out, StringComparison.Ordinal);
        Assert.True(Directory.Exists(dir.Sub("old-log")));
        Assert.Equal("kept with the rest", File.ReadAllText(dir.Sub($"{Damaged}/notes.txt")));
    }

    [Fact]
    public async Task A_sound_log_is_refused_unless_forced()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}", "--cluster_name=devcluster").ExitCode);
        await TestLog.AppendAsync(dir.Path, 5);
        var before = TestLog.Fingerprint(dir.Path);

        var refused = Tool.Run("repair", $"--path={dir.Path}", "--yes");

        Tool.AssertOneLineError(refused, 2, $"nothing to repair in {dir.Path}: its log opens and verifies (status VOTING, positions 1..5); add --force to rebuild it anyway");
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));

        var forced = Tool.Run("repair", $"--path={dir.Path}", "--yes", "--force");

        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.Equal(ReplicaStatus.Recovering, new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load().Status);
        Assert.Single(Directory.GetFiles(dir.Sub(Damaged + "/log"), "segment-*"));
    }

    [Fact]
    public async Task A_torn_tail_alone_is_not_damage()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}", "--cluster_name=devcluster").ExitCode);
        await TestLog.AppendAsync(dir.Path, 5);
        TestLog.TearTail(TestLog.SegmentFiles(dir.Path)[^1], 6, 1);

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes");

        Tool.AssertOneLineError(result, 2, "nothing to repair");
    }

    [Fact]
    public async Task A_log_a_scheduler_has_open_is_refused_and_left_untouched()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);
        var before = TestLog.Fingerprint(dir.Path);
        // The scheduler's lock, taken as SegmentedLog.Open takes it (the log itself would not open).
        using var held = PhysicalFileSystem.Instance.LockDirectory(dir.Sub(SegmentedLog.LockFileName));

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes");

        Tool.AssertOneLineError(result, 2, $"refusing to repair {dir.Path}: a scheduler (or another aurora-log) has this log open and holds {dir.Sub("LOCK")}; stop it first; nothing was changed");
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
        Assert.False(Directory.Exists(dir.Sub(Damaged)));
    }

    [Fact]
    public async Task A_live_log_is_refused()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}", "--cluster_name=devcluster").ExitCode);
        using var live = SegmentedLog.Open(TestLog.Options(dir.Path));
        await live.AppendAsync(TestLog.Entry(1));

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes", "--force");

        Tool.AssertOneLineError(result, 2, "has this log open and holds");
        Assert.Equal(ReplicaStatus.Voting, new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load().Status);
    }

    [Fact]
    public void A_directory_that_is_not_a_log_directory_is_refused_without_creating_anything()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Sub("notes.txt"), "not a log");

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes", "--cluster_name=devcluster");

        Tool.AssertOneLineError(result, 2, $"refusing to repair {dir.Path}: it is not a log directory (it holds no replica.meta, log/ or snapshots/); check --path");
        Assert.Equal(new[] { "notes.txt" }, Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void A_missing_directory_is_a_usage_error()
    {
        using var dir = new TempDirectory();

        var result = Tool.Run("repair", $"--path={dir.Sub("missing")}", "--yes");

        Tool.AssertOneLineError(result, 2, $"log directory {dir.Sub("missing")} does not exist; check --path");
    }

    [Fact]
    public async Task Damaged_metadata_needs_the_cluster_name_and_the_replica_learns_its_term_from_a_quorum()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path, corruptLog: false);
        var metadata = dir.Sub(ReplicaMetadataStore.FileName);
        TestLog.FlipBit(metadata, new FileInfo(metadata).Length - 1);
        var before = TestLog.Fingerprint(dir.Path);

        var refused = Tool.Run("repair", $"--path={dir.Path}", "--yes");

        Tool.AssertOneLineError(refused, 2, $"refusing to repair {dir.Path}: its cluster id cannot be read from replica.meta (it is damaged); give it with --cluster_name=NAME, the scheduler's -cluster_name; nothing was changed");
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes", "--cluster_name=devcluster");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("  damage: replica.meta is damaged: checksum mismatch\n", result.Out, StringComparison.Ordinal);
        var repaired = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load();
        Assert.Equal((ReplicaStatus.Recovering, "devcluster", 0UL, string.Empty), (repaired.Status, repaired.ClusterId, repaired.PromisedTerm, repaired.VotedFor));
        Assert.Equal(before.Count, Files(dir.Sub(Damaged)).Count - 1);
    }

    [Fact]
    public async Task A_damaged_snapshot_is_damage()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path, corruptLog: false);
        var snapshot = Directory.GetFiles(dir.Sub("snapshots")).Single();
        TestLog.FlipBit(snapshot, new FileInfo(snapshot).Length - 3);

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"  damage: snapshot {Path.GetFileName(snapshot)}: blob checksum mismatch", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cluster_name_other_than_the_recorded_one_is_refused()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes", "--cluster_name=prod");

        Tool.AssertOneLineError(result, 2, "--cluster_name=prod is not the cluster id devcluster its replica.meta records; a replica never changes cluster");
        Assert.False(Directory.Exists(dir.Sub(Damaged)));
    }

    [Fact]
    public async Task Metadata_without_a_cluster_id_needs_the_cluster_name()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path, clusterName: null);

        var refused = Tool.Run("repair", $"--path={dir.Path}", "--yes");
        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes", "--cluster_name=devcluster");

        Tool.AssertOneLineError(refused, 2, "its cluster id cannot be read from replica.meta (it records none); give it with --cluster_name=NAME");
        Assert.True(result.ExitCode == 0, result.ToString());
        var metadata = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load();
        Assert.Equal(("devcluster", 7UL), (metadata.ClusterId, metadata.PromisedTerm));
    }

    [Fact]
    public async Task Without_a_terminal_it_needs_yes_and_changes_nothing()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);
        var before = TestLog.Fingerprint(dir.Path);

        var result = Tool.Run("repair", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 2, $"refusing to repair {dir.Path} without confirmation: stdin is not a terminal, so add --yes to confirm; nothing was changed");
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
    }

    [Fact]
    public async Task At_a_terminal_it_asks_and_does_nothing_unless_the_answer_is_yes()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);
        var before = TestLog.Fingerprint(dir.Path);

        var declined = Tool.RunAnswering("no\n", "repair", $"--path={dir.Path}");

        Assert.True(declined.ExitCode == 2, declined.ToString());
        Assert.Contains($"Move the replica's files into {dir.Sub(Damaged)}/ and make it RECOVERING? Type 'yes' to go on: ", declined.Out, StringComparison.Ordinal);
        Assert.Equal($"aurora-log: repair of {dir.Path} not confirmed; nothing was changed\n", declined.Error);
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
        Assert.False(Directory.Exists(dir.Sub(Damaged)));

        var confirmed = Tool.RunAnswering("yes\n", "repair", $"--path={dir.Path}");

        Assert.True(confirmed.ExitCode == 0, confirmed.ToString());
        Assert.Equal(ReplicaStatus.Recovering, new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load().Status);
    }

    [Fact]
    public async Task An_interrupted_repair_is_finished_by_running_it_again()
    {
        using var dir = new TempDirectory();
        var old = await CorruptReplicaAsync(dir.Path, segments: 3);
        var before = Files(dir.Path);
        // A crash after the first segment went: the second segment's rename never happens.
        var segmentsMoved = 0;
        var crashing = new CrashingFileSystem((source, _) =>
            Path.GetFileName(source).StartsWith("segment-", StringComparison.Ordinal) && ++segmentsMoved == 2);

        var crashed = Tool.Run(crashing, "repair", $"--path={dir.Path}", "--yes");

        Assert.True(crashed.ExitCode == 1, crashed.ToString());
        Assert.StartsWith($"aurora-log: simulated crash before renaming {dir.Sub("log/segment-")}", Assert.Single(crashed.ErrorLines), StringComparison.Ordinal);
        Assert.EndsWith($"; the repair of {dir.Path} is unfinished: fix the cause and run 'aurora-log repair --path={dir.Path}' again to finish it\n", crashed.Error, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.Sub($"{Damaged}/{RepairCommand.InProgressFileName}")));
        Assert.Single(Directory.GetFiles(dir.Sub($"{Damaged}/log"), "segment-*"));
        Assert.Equal(2, TestLog.SegmentFiles(dir.Path).Length);
        // Each file is in exactly one of the two places.
        Assert.Equal(before, Files(dir.Path).Concat(Files(dir.Sub(Damaged))).Where(f => !f.Key.StartsWith("repair", StringComparison.Ordinal)).ToDictionary());

        // The rerun needs nothing the first run was given: the marker holds the cluster id and term.
        var finished = Tool.Run("repair", $"--path={dir.Path}", "--yes");

        Assert.True(finished.ExitCode == 0, finished.ToString());
        Assert.Contains($"Finishing the repair of {dir.Path} that was interrupted", finished.Out, StringComparison.Ordinal);
        Assert.Equal(before, Files(dir.Sub(Damaged)).Where(f => f.Key != RepairCommand.DoneFileName).ToDictionary());
        var metadata = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load();
        Assert.Equal((ReplicaStatus.Recovering, "devcluster", 7UL, "?"), (metadata.Status, metadata.ClusterId, metadata.PromisedTerm, metadata.VotedFor));
        Assert.Equal(old.LogId, new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Sub(Damaged)).Load().LogId);
        Assert.False(File.Exists(dir.Sub($"{Damaged}/{RepairCommand.InProgressFileName}")));
        Assert.True(Tool.Run("info", $"--path={dir.Path}").ExitCode == 0);
    }

    [Fact]
    public async Task A_repair_interrupted_after_writing_the_new_metadata_keeps_it_and_the_old_one()
    {
        using var dir = new TempDirectory();
        var old = await CorruptReplicaAsync(dir.Path);
        var crashing = new CrashingFileSystem((source, _) => Path.GetFileName(source) == RepairCommand.InProgressFileName);

        var crashed = Tool.Run(crashing, "repair", $"--path={dir.Path}", "--yes");
        var written = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load();
        var finished = Tool.Run("repair", $"--path={dir.Path}", "--yes");

        Assert.True(crashed.ExitCode == 1, crashed.ToString());
        Assert.Equal(ReplicaStatus.Recovering, written.Status);
        Assert.True(finished.ExitCode == 0, finished.ToString());
        Assert.Contains($"Nothing was left to move into {dir.Sub(Damaged)}/.", finished.Out, StringComparison.Ordinal);
        Assert.Equal(written, new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load());
        Assert.Equal(old.LogId, new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Sub(Damaged)).Load().LogId);
        Assert.True(File.Exists(dir.Sub($"{Damaged}/{RepairCommand.DoneFileName}")));
    }

    [Fact]
    public async Task Finishing_an_interrupted_repair_refuses_another_cluster_name()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);
        var crashing = new CrashingFileSystem((source, _) => Path.GetFileName(source) == ReplicaMetadataStore.FileName);
        Assert.Equal(1, Tool.Run(crashing, "repair", $"--path={dir.Path}", "--yes").ExitCode);

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes", "--cluster_name=prod");

        Tool.AssertOneLineError(result, 2, "--cluster_name=prod is not the cluster id devcluster the interrupted repair recorded in ");
    }

    [Fact]
    public async Task With_from_a_VOTING_peer_is_asked_first_and_its_answer_shown()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);
        var secret = WriteSecret(dir);
        var self = FreeLoopbackId();
        await using var peer = StatusResponder.Start(self, ReplicaStatus.Voting);

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes", $"--from={peer.Id}", $"--replica_id={self}", $"--replication_secret_file={secret}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Peer {peer.Id} answers: status VOTING, term 9, its log ends at position 1234, leader {peer.Id}.\n", result.Out, StringComparison.Ordinal);
        var probe = Assert.Single(peer.Probes.Distinct());
        Assert.Equal((self, 7UL, ReplicaStatus.Recovering), probe);
        Assert.Equal(ReplicaStatus.Recovering, new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load().Status);
    }

    [Fact]
    public async Task With_from_a_peer_that_is_not_VOTING_is_refused_and_nothing_changes()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);
        var secret = WriteSecret(dir);
        var self = FreeLoopbackId();
        await using var peer = StatusResponder.Start(self, ReplicaStatus.Recovering);
        var before = TestLog.Fingerprint(dir.Path);

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes", $"--from={peer.Id}", $"--replica_id={self}", $"--replication_secret_file={secret}");

        Tool.AssertOneLineError(result, 2, $"refusing to repair: {peer.Id} answers: status RECOVERING, term 9, its log ends at position 1234, leader {peer.Id}. Only a VOTING peer shows");
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
        Assert.False(Directory.Exists(dir.Sub(Damaged)));
    }

    [Fact]
    public async Task With_from_a_peer_where_nothing_listens_is_refused_within_the_timeout()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);
        var secret = WriteSecret(dir);
        var self = FreeLoopbackId();
        var absent = FreeLoopbackId();
        var before = TestLog.Fingerprint(dir.Path);
        var clock = Stopwatch.StartNew();

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes", $"--from={absent}", $"--replica_id={self}", $"--replication_secret_file={secret}", "--timeout=1secs");

        Tool.AssertOneLineError(result, 2, $"{absent} did not answer a status probe within 1secs (the connection to it failed: ");
        Assert.Contains("repair needs a VOTING peer to copy the log from; nothing was changed", result.Error, StringComparison.Ordinal);
        // Bounded loosely: the point is that it gives up, not how promptly on a loaded machine.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
    }

    [Fact]
    public async Task With_from_a_peer_with_another_secret_is_refused()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);
        var secret = WriteSecret(dir, fill: 9);
        var self = FreeLoopbackId();
        await using var peer = StatusResponder.Start(self, ReplicaStatus.Voting);

        var result = Tool.Run("repair", $"--path={dir.Path}", "--yes", $"--from={peer.Id}", $"--replica_id={self}", $"--replication_secret_file={secret}", "--timeout=1secs");

        Tool.AssertOneLineError(result, 2, $"{peer.Id} did not answer a status probe within 1secs");
        Assert.Empty(peer.Probes);
    }

    [Theory]
    [InlineData("--replica_id=127.0.0.1:8083", "--replica_id is only used with --from=HOST:PORT")]
    [InlineData("--replication_secret_file=SECRET", "--replication_secret_file is only used with --from=HOST:PORT")]
    [InlineData("--timeout=1secs", "--timeout is only used with --from=HOST:PORT")]
    [InlineData("--from=127.0.0.1:8083", "missing flag --replica_id: with --from, give this replica's own address in -native_log_replicas")]
    [InlineData("--from=127.0.0.1:8083 --replica_id=127.0.0.2:8083", "missing flag --replication_secret_file: with --from, give the replicas' secret")]
    [InlineData("--from=sched1 --replica_id=127.0.0.2:8083", "--from=sched1 is not a replica address: expected host:port")]
    [InlineData("--from=127.0.0.1:8083 --replica_id=::1:8083", "--replica_id=::1:8083 is not a replica address: an IPv6 address must be written in brackets")]
    [InlineData("--from=Sched1:8083 --replica_id=sched1:8083", "--from=sched1:8083 is this replica itself (--replica_id); name a healthy peer")]
    [InlineData("--from=127.0.0.1:8083 --replica_id=127.0.0.2:8083 --replication_secret_file=MISSING", "-replication_secret_file=")]
    [InlineData("--from=127.0.0.1:8083 --replica_id=127.0.0.2:8083 --replication_secret_file=SHORT", "holds only 5 bytes: a secret must have at least 16")]
    [InlineData("--from=127.0.0.1:8083 --replica_id=127.0.0.2:8083 --replication_secret_file=SECRET --timeout=10", "--timeout=10 is not a duration with a unit")]
    [InlineData("--from=127.0.0.1:8083 --replica_id=127.0.0.2:8083 --replication_secret_file=SECRET --timeout=0secs", "--timeout=0secs is not a duration with a unit, longer than 0")]
    [InlineData("--cluster_name=dev/cluster", "--cluster_name=dev/cluster is not a cluster name")]
    [InlineData("--force=maybe", "flag --force is a switch")]
    public async Task Bad_arguments_are_refused_with_one_line_before_anything_changes(string flags, string expected)
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);
        var before = TestLog.Fingerprint(dir.Path);
        using var secrets = new TempDirectory();
        File.WriteAllBytes(secrets.Sub("short"), [1, 2, 3, 4, 5]);
        var args = flags
            .Replace("SECRET", WriteSecret(secrets), StringComparison.Ordinal)
            .Replace("MISSING", secrets.Sub("missing"), StringComparison.Ordinal)
            .Replace("SHORT", secrets.Sub("short"), StringComparison.Ordinal)
            .Split(' ');

        var result = Tool.Run(["repair", $"--path={dir.Path}", "--yes", .. args]);

        Tool.AssertOneLineError(result, 2, expected);
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
        Assert.False(Directory.Exists(dir.Sub(Damaged)));
    }

    [Fact]
    public void Only_directories_named_as_repair_names_them_are_accounted_for()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Sub(Damaged));
        Directory.CreateDirectory(dir.Sub(Damaged + "-12"));
        Directory.CreateDirectory(dir.Sub("damaged-yesterday"));
        Directory.CreateDirectory(dir.Sub(Damaged + "-0"));
        File.WriteAllText(dir.Sub("damaged-20240517T123046Z"), "a file, not a directory");

        var result = Tool.Run("info", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("Unaccounted:    3 file(s)", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain($"  {Damaged}  ", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain($"  {Damaged}-12  ", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_executable_refuses_without_yes_when_stdin_is_not_a_terminal_and_repairs_with_it()
    {
        using var dir = new TempDirectory();
        await CorruptReplicaAsync(dir.Path);

        var refused = await RunWithClosedStdinAsync("repair", $"--path={dir.Path}");
        var repaired = await RunWithClosedStdinAsync("repair", $"--path={dir.Path}", "--yes");

        Tool.AssertOneLineError(refused, 2, "stdin is not a terminal, so add --yes to confirm");
        Assert.True(repaired.ExitCode == 0, repaired.ToString());
        Assert.Equal(ReplicaStatus.Recovering, new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load().Status);
    }

    /// <summary>
    /// A replica of cluster devcluster that promised term 7, with a snapshot and entries in
    /// <paramref name="segments"/> segments, and (by default) a flipped bit in the middle of its first segment.
    /// </summary>
    private static async Task<ReplicaMetadata> CorruptReplicaAsync(string path, bool corruptLog = true, string? clusterName = "devcluster", int segments = 1)
    {
        Assert.Equal(0, Tool.Run(["initialize", $"--path={path}", .. clusterName is null ? Array.Empty<string>() : [$"--cluster_name={clusterName}"]]).ExitCode);
        var store = new ReplicaMetadataStore(PhysicalFileSystem.Instance, path);
        var metadata = store.Load();
        metadata.PromisedTerm = 7;
        store.Save(metadata);
        // About 250 bytes a record in 64 KiB segments.
        await TestLog.AppendAsync(path, segments == 1 ? 30 : (segments - 1) * 260);
        Assert.Equal(segments, TestLog.SegmentFiles(path).Length);
        new SnapshotStore(new SnapshotOptions { Directory = path }).Write(10, 2, "type.test/State", new byte[100]);
        if (corruptLog)
        {
            var first = TestLog.SegmentFiles(path)[0];
            TestLog.FlipBit(first, TestLog.Records(first)[10].Offset + 50);
        }

        return metadata;
    }

    /// <summary>Every file under <paramref name="directory"/> but the LOCK, by relative path, with a hash of its bytes.</summary>
    private static Dictionary<string, string> Files(string directory) =>
        TestLog.Fingerprint(directory)
            .Where(f => !Path.GetRelativePath(directory, f.Key).StartsWith("damaged-", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(directory, f.Key), f => f.Value);

    private static string WriteSecret(TempDirectory dir, byte fill = 7)
    {
        var path = dir.Sub($"secret-{fill}");
        File.WriteAllBytes(path, Enumerable.Repeat(fill, 32).ToArray());
        if (!OperatingSystem.IsWindows())
        {
            // Private, as a secret should be: a readable one is accepted with a warning on stderr.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return path;
    }

    /// <summary>A loopback address whose port was free a moment ago (the tool must bind the repaired replica's own port).</summary>
    private static string FreeLoopbackId()
    {
        using var reserved = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        reserved.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return $"127.0.0.1:{((IPEndPoint)reserved.LocalEndPoint!).Port}";
    }

    private static Task<ToolResult> RunWithClosedStdinAsync(params string[] args) => ProcessTests.RunAsync(args, closedStdin: true);

    /// <summary>
    /// A peer on the real replication transport that answers every StatusProbe with a StatusReply
    /// (term 9, log to position 1234, itself the leader) in the status it is given.
    /// </summary>
    private sealed class StatusResponder : IAsyncDisposable
    {
        private readonly ReplicaTransport _transport;
        private readonly System.Collections.Concurrent.ConcurrentQueue<(string From, ulong Term, ReplicaStatus Status)> _probes = new();

        private StatusResponder(ReplicaStatus status)
        {
            _transport = new ReplicaTransport(
                new ReplicaTransportOptions
                {
                    ClusterId = "devcluster",
                    Secret = Enumerable.Repeat((byte)7, 32).ToArray(),
                    ListenAddress = IPAddress.Loopback,
                    ReconnectMinBackoff = TimeSpan.FromMilliseconds(10),
                    ReconnectMaxBackoff = TimeSpan.FromMilliseconds(100),
                },
                (from, message) =>
                {
                    if (message.BodyCase == PeerMessage.BodyOneofCase.StatusProbe)
                    {
                        _probes.Enqueue((from, message.StatusProbe.Term, message.StatusProbe.Status));
                        _transport!.Send(from, new PeerMessage
                        {
                            StatusReply = new StatusReply { Term = 9, Status = status, LeaderId = Id, LastPosition = 1234 },
                        });
                    }
                });
            Id = $"127.0.0.1:{_transport.LocalEndPoint.Port}";
        }

        public string Id { get; }

        public IReadOnlyList<(string From, ulong Term, ReplicaStatus Status)> Probes => [.. _probes];

        /// <summary>Listens, and knows the repaired replica <paramref name="repairedId"/> as its peer.</summary>
        public static StatusResponder Start(string repairedId, ReplicaStatus status)
        {
            var responder = new StatusResponder(status);
            responder._transport.Start(responder.Id, [responder.Id, repairedId]);
            return responder;
        }

        public ValueTask DisposeAsync() => _transport.DisposeAsync();
    }
}

/// <summary>The real file system, except that one rename fails as a crash would stop it: neither done nor started.</summary>
internal sealed class CrashingFileSystem(Func<string, string, bool> crashOn) : IFileSystem
{
    private static readonly PhysicalFileSystem Real = PhysicalFileSystem.Instance;
    private bool _crashed;

    public bool DirectoryExists(string path) => Real.DirectoryExists(path);

    public bool FileExists(string path) => Real.FileExists(path);

    public void CreateDirectory(string path) => Real.CreateDirectory(path);

    public IReadOnlyList<DirectoryEntry> ListEntries(string directory) => Real.ListEntries(directory);

    public IStorageFile OpenFile(string path, FileOpenMode mode, SymlinkPolicy symlinks = SymlinkPolicy.Refuse) => Real.OpenFile(path, mode, symlinks);

    public void DeleteFile(string path) => Real.DeleteFile(path);

    public void Rename(string source, string destination)
    {
        if (!_crashed && crashOn(source, destination))
        {
            _crashed = true;
            throw new IOException($"simulated crash before renaming {source} to {destination}");
        }

        Real.Rename(source, destination);
    }

    public void SyncDirectory(string path) => Real.SyncDirectory(path);

    public IDisposable LockDirectory(string lockFilePath) => Real.LockDirectory(lockFilePath);
}
