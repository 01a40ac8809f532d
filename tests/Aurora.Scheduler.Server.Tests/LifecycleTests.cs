using System.Text.Json.Nodes;
using Aurora.Scheduler.Server.Http;
using Aurora.Scheduler.Server.Tests.Support;

namespace Aurora.Scheduler.Server.Tests;

/// <summary>Storage readiness, leadership, restarts and shutdown of a real server.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public async Task An_uninitialized_replica_answers_503_until_it_is_initialized()
    {
        await using var server = await ServerHarness.StartAsync(initialize: false, waitReady: false);
        await WaitUntilAsync(() => server.Server.Runtime.State == StorageState.Empty);

        var (status, body) = await server.GetAsync("/api/jobs");
        Assert.Equal(503, status);
        Assert.Equal("STORAGE_NOT_READY", body!["error"]!["code"]!.GetValue<string>());
        var message = body["error"]!["message"]!.GetValue<string>();
        Assert.Contains("Storage is not READY", message, StringComparison.Ordinal);
        Assert.Contains("aurora-log initialize --path=", message, StringComparison.Ordinal);

        (status, body) = await server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job()) });
        Assert.Equal(503, status);
        Assert.Equal(200, (await server.GetAsync("/health")).Status);
        Assert.Equal(502, (await server.GetAsync("/leaderhealth")).Status);
        var (_, scheduler) = await server.GetAsync("/api/scheduler");
        Assert.Equal("EMPTY", scheduler!["replica"]!["status"]!.GetValue<string>());

        ServerHarness.Initialize(server.LogDirectory);
        await WaitUntilAsync(() => server.Server.Runtime.State == StorageState.Ready);
        (status, _) = await server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job()) });
        Assert.Equal(200, status);
    }

    [Fact]
    public async Task A_restarted_scheduler_serves_the_state_it_acknowledged()
    {
        using var directory = new TempDirectory();
        string hash;
        await using (var first = await ServerHarness.StartAsync(directory.Path))
        {
            Assert.Equal(200, (await first.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job()) })).Status);
            Assert.Equal(200, (await first.PostAsync("/api/snapshot")).Status);
            Assert.Equal(200, (await first.PostAsync("/api/jobs/www-data/prod/hello/kill", new JsonObject { ["instances"] = new JsonArray(0) })).Status);
            hash = (await first.GetAsync("/state")).Body!["stateHash"]!.GetValue<string>();
        }

        await using var second = await ServerHarness.StartAsync(directory.Path);
        Assert.Equal(hash, (await second.GetAsync("/state")).Body!["stateHash"]!.GetValue<string>());
    }

    [Fact]
    public async Task Quitquitquit_stops_the_server_with_exit_code_zero()
    {
        await using var server = await ServerHarness.StartAsync();
        var (status, _) = await server.PostAsync("/quitquitquit");
        Assert.Equal(200, status);
        Assert.Equal(ExitCodes.Ok, await server.Server.Exited.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Abortabortabort_stops_the_server_with_its_own_exit_code()
    {
        await using var server = await ServerHarness.StartAsync();
        Assert.Equal(200, (await server.PostAsync("/abortabortabort")).Status);
        Assert.Equal(ExitCodes.Aborted, await server.Server.Exited.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_log_that_cannot_be_opened_is_a_fatal_error_with_a_non_zero_exit()
    {
        using var directory = new TempDirectory();
        var log = Path.Combine(directory.Path, "log");
        ServerHarness.Initialize(log);

        // Replica metadata that fails its checksum: the replica cannot know what it promised.
        var metadata = Path.Combine(log, "replica.meta");
        var bytes = File.ReadAllBytes(metadata);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(metadata, bytes);
        await using var server = await ServerHarness.StartAsync(directory.Path, waitReady: false);
        var code = await server.Server.Exited.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ExitCodes.FatalStorageError, code);
    }

    /// <summary>
    /// From a hostile probe: a FIFO named like a log file made the scheduler hang at start-up in
    /// open(2). Now the open refuses it at once and the replica stops on a fatal storage error that
    /// names the file and says what it is.
    /// </summary>
    [Theory]
    [InlineData("log/segment-00000000000000000001.log")]
    [InlineData("snapshots/snapshot-00000000000000000005.snap")]
    [InlineData("replica.meta")]
    [InlineData("LOCK")]
    public async Task Bug_probe_a_fifo_named_like_a_log_file_is_a_fatal_error_naming_it_not_a_hang(string name)
    {
        using var directory = new TempDirectory();
        var log = Path.Combine(directory.Path, "log");
        ServerHarness.Initialize(log);
        var fifo = Path.Combine(log, name);
        Directory.CreateDirectory(Path.GetDirectoryName(fifo)!);
        File.Delete(fifo);
        SpecialFiles.MakeFifo(fifo);

        await using var server = await ServerHarness.StartAsync(directory.Path, initialize: false, waitReady: false);
        var code = await server.Server.Exited.WaitAsync(SpecialFiles.HangBound);

        Assert.Equal(ExitCodes.FatalStorageError, code);
        Assert.Equal(StorageState.Failed, server.Server.Runtime.State);
        Assert.Equal(
            $"a fatal storage error stopped this replica: {fifo} is a FIFO (named pipe), not a regular file; remove it or move it away",
            server.Server.Runtime.NotReadyReason);
    }

    /// <summary>The log ignores a file it does not keep (segment-abc.log): the scheduler says so once it is up, naming it, and serves.</summary>
    [Fact]
    public async Task Files_the_log_does_not_keep_are_named_in_a_warning_at_start_up()
    {
        using var directory = new TempDirectory();
        var log = Path.Combine(directory.Path, "log");
        ServerHarness.Initialize(log);
        Directory.CreateDirectory(Path.Combine(log, "log"));
        var junk = Path.Combine(log, "log", "segment-abc.log");
        await File.WriteAllTextAsync(junk, "not a segment");
        using var logs = new CapturedLogs();

        await using var server = await ServerHarness.StartAsync(directory.Path, initialize: false, loggers: logs.Factory);

        Assert.Equal(StorageState.Ready, server.Server.Runtime.State);
        var warning = Assert.Single(logs.Entries, e => e.EventId == 3012);
        Assert.Contains(junk, warning.Message, StringComparison.Ordinal);
        Assert.Contains("aurora-log verify", warning.Message, StringComparison.Ordinal);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached within 30 s");
            await Task.Delay(50);
        }
    }
}
