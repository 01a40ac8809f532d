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
        new SnapshotStore(new SnapshotOptions { Directory = dir.Path }).Write(10, 2, "type.test/State", [1, 2, 3]);

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
}
