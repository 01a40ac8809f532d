using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.LogTool.Tests;

public class InitializeTests
{
    [Fact]
    public void Initialize_creates_the_directory_a_voting_replica_and_an_empty_log()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("a/b/replica");

        var result = Tool.Run("initialize", $"--path={path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(string.Empty, result.Error);
        var metadata = new ReplicaMetadataStore(PhysicalFileSystem.Instance, path).Load();
        Assert.Equal(ReplicaStatus.Voting, metadata.Status);
        Assert.Equal(0UL, metadata.PromisedTerm);
        Assert.Matches("^[0-9a-f]{32}$", metadata.LogId);
        Assert.Equal(TestLog.BaseMicros, metadata.InitializedMicros);
        Assert.Contains($"log id {metadata.LogId}", result.Out, StringComparison.Ordinal);
        Assert.Single(TestLog.SegmentFiles(path));
        using var log = SegmentedLog.Open(LogDirectory.ReadOnlyLog(path, new ToolContext(TextWriter.Null, TextWriter.Null, PhysicalFileSystem.Instance, TimeProvider.System, OpaquePayloadFormatter.Instance)));
        Assert.Equal(0UL, log.LastDurablePosition);
        Assert.Null(log.TornTail);
    }

    [Fact]
    public void Each_initialize_mints_a_different_log_id()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", "--path", dir.Sub("one")).ExitCode);
        Assert.Equal(0, Tool.Run("initialize", "-path=" + dir.Sub("two")).ExitCode);

        var one = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Sub("one")).Load().LogId;
        var two = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Sub("two")).Load().LogId;
        Assert.NotEqual(one, two);
    }

    [Fact]
    public void Initialize_refuses_an_initialized_replica_with_exit_code_2_and_changes_nothing()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);
        var before = TestLog.Fingerprint(dir.Path);

        var result = Tool.Run("initialize", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 2, $"refusing to initialize {dir.Path}: it is already initialized");
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
    }

    [Fact]
    public async Task Initialize_refuses_a_log_that_holds_entries_even_without_metadata()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 3);

        var result = Tool.Run("initialize", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 2, "its log holds entries (positions 1..3)");
        Assert.False(new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Exists);
    }

    [Fact]
    public void Initialize_refuses_a_directory_that_holds_snapshots()
    {
        using var dir = new TempDirectory();
        new SnapshotStore(new SnapshotOptions { Directory = dir.Path }).Write(10, 2, "type.test/State", new byte[] { 1, 2, 3 });

        var result = Tool.Run("initialize", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 2, "snapshot file(s)");
        Assert.False(new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Exists);
    }

    [Fact]
    public void Initialize_refuses_a_damaged_log_naming_the_damage()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Sub("log"));
        File.WriteAllBytes(Path.Combine(dir.Sub("log"), "segment-00000000000000000001.log"), new byte[100]);

        var result = Tool.Run("initialize", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 2, "it holds a damaged log");
    }

    [Fact]
    public void Initialize_refuses_a_damaged_metadata_file()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Sub(ReplicaMetadataStore.FileName), "garbage");

        var result = Tool.Run("initialize", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 2, "damaged replica.meta");
    }

    [Fact]
    public void Initialize_accepts_the_empty_log_a_replica_started_before_initialization_left()
    {
        // A scheduler started on an EMPTY replica opens (and so creates) its log, then says to run
        // initialize: that must work, as mesos-log initialize does on an EMPTY replica.
        using var dir = new TempDirectory();
        SegmentedLog.Open(TestLog.Options(dir.Path)).Dispose();

        var result = Tool.Run("initialize", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(ReplicaStatus.Voting, new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load().Status);
    }

    [Fact]
    public void Initialize_fails_without_writing_metadata_while_a_replica_holds_the_log()
    {
        using var dir = new TempDirectory();
        using var running = SegmentedLog.Open(TestLog.Options(dir.Path));

        var result = Tool.Run("initialize", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 1, "another process has this log open");
        Assert.False(new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Exists);
    }

    [Fact]
    public void Initialize_records_the_cluster_name_and_info_shows_it()
    {
        using var dir = new TempDirectory();

        var result = Tool.Run("initialize", $"--path={dir.Path}", "--cluster_name=devcluster");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("status VOTING, cluster devcluster, log id ", result.Out, StringComparison.Ordinal);
        Assert.Equal("devcluster", new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load().ClusterId);
        var info = Tool.Run("info", $"--path={dir.Path}");
        Assert.Contains("Cluster id:     devcluster\n", info.Out, StringComparison.Ordinal);
        using var json = System.Text.Json.JsonDocument.Parse(Tool.Run("info", $"--path={dir.Path}", "--json").Out);
        Assert.Equal("devcluster", json.RootElement.GetProperty("clusterId").GetString());
    }

    [Fact]
    public void Initialize_without_a_cluster_name_records_none_and_info_says_how_to_get_one()
    {
        using var dir = new TempDirectory();

        var result = Tool.Run("initialize", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("status VOTING, no cluster id (give --cluster_name=NAME to record one), log id ", result.Out, StringComparison.Ordinal);
        Assert.Equal(string.Empty, new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path).Load().ClusterId);
        var info = Tool.Run("info", $"--path={dir.Path}");
        Assert.Contains("Cluster id:     none (not recorded: 'aurora-log initialize --cluster_name=NAME' records it", info.Out, StringComparison.Ordinal);
        using var json = System.Text.Json.JsonDocument.Parse(Tool.Run("info", $"--path={dir.Path}", "--json").Out);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.RootElement.GetProperty("clusterId").ValueKind);
    }

    [Theory]
    [InlineData("--cluster_name=dev cluster", "--cluster_name=dev cluster is not a cluster name: it must be 1 to 255 of the characters A-Z a-z 0-9 _ - . and not start with '.'")]
    [InlineData("--cluster_name=.hidden", "--cluster_name=.hidden is not a cluster name")]
    [InlineData("--cluster_name=dev\u0007", "is not a cluster name")]
    [InlineData("--cluster_name=cluster/one", "is not a cluster name")]
    [InlineData("--cluster_name=", "flag --cluster_name needs a value")]
    public void Initialize_refuses_a_bad_cluster_name_and_creates_nothing(string flag, string expected)
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("replica");

        var result = Tool.Run("initialize", $"--path={path}", flag);

        Tool.AssertOneLineError(result, 2, expected);
        Assert.False(Directory.Exists(path));
    }

    [Fact]
    public void Initialize_refuses_a_cluster_name_longer_than_255_characters()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Sub("ok")}", $"--cluster_name={new string('c', 255)}").ExitCode);

        var result = Tool.Run("initialize", $"--path={dir.Sub("long")}", $"--cluster_name={new string('c', 256)}");

        Tool.AssertOneLineError(result, 2, "... is not a cluster name: it must be 1 to 255 of the characters");
        Assert.False(Directory.Exists(dir.Sub("long")));
    }
}
