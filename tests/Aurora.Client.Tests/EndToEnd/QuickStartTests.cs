using System.Text.Json.Nodes;

namespace Aurora.Client.Tests.EndToEnd;

/// <summary>The README's first command as it is: <c>aurora-scheduler -dev</c> with its in-process agent, so jobs run.</summary>
public sealed class DevClusterWithAgent : DevCluster
{
    protected override bool WithAgent => true;
}

/// <summary>The README's quick start, end to end: the example job runs, its log is readable from its sandbox, it restarts rolling, and a kill leaves no process behind.</summary>
public sealed class QuickStartTests(DevClusterWithAgent cluster) : IClassFixture<DevClusterWithAgent>
{
    private const string Job = "devcluster/www-data/prod/hello";

    [Fact]
    public async Task The_example_job_runs_restarts_and_is_killed_without_leftovers()
    {
        var example = Path.Combine(RepositoryRoot.Find(), "examples", "hello.json");
        var created = await cluster.AuroraAsync("job", "create", Job, example);
        Assert.True(created.ExitCode == 0, created.ToString());

        var first = await WaitForRunningAsync(null);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var sandbox = first["sandboxUrl"]!.GetValue<string>();
        await Eventually.HoldsAsync("the task's stdout in its sandbox", async () =>
        {
            using var tail = await http.GetAsync(new Uri($"{sandbox}/tail?path=.logs/hello/0/stdout"));
            return tail.IsSuccessStatusCode && (await tail.Content.ReadAsStringAsync()).Contains("hello world", StringComparison.Ordinal);
        });

        var restarted = await cluster.AuroraAsync("job", "restart", Job, "--watch-secs=1");
        Assert.True(restarted.ExitCode == 0, restarted.ToString());
        var second = await WaitForRunningAsync(first["taskId"]!.GetValue<string>());
        Assert.NotEqual(first["taskId"]!.GetValue<string>(), second["taskId"]!.GetValue<string>());

        var killed = await cluster.AuroraAsync("job", "killall", Job);
        Assert.True(killed.ExitCode == 0, killed.ToString());
        var agentDirectory = Path.Combine(cluster.DevDirectory, "agent");
        await Eventually.HoldsAsync("no process of the job left", () => LocalProcesses.WorkingUnder(agentDirectory).Count == 0);
        var status = await cluster.AuroraAsync("job", "status", Job, "--json");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.All(status.Json["tasks"]!.AsArray(), t => Assert.Equal("KILLED", t!["status"]!.GetValue<string>()));
    }

    /// <summary>The job's one active task once it is RUNNING (and is not <paramref name="notTaskId"/>), as `aurora job status --json` shows it.</summary>
    private async Task<JsonNode> WaitForRunningAsync(string? notTaskId)
    {
        JsonNode? running = null;
        string last = string.Empty;
        await Eventually.HoldsAsync("a RUNNING task", async () =>
        {
            var status = await cluster.AuroraAsync("job", "status", Job, "--json");
            last = status.ToString();
            running = status.ExitCode == 0
                ? status.Json["tasks"]!.AsArray().FirstOrDefault(t => t!["status"]!.GetValue<string>() == "RUNNING" && t["taskId"]!.GetValue<string>() != notTaskId)
                : null;
            return running is not null;
        }, TimeSpan.FromSeconds(90), () => last);
        Assert.False(string.IsNullOrEmpty(running!["host"]?.GetValue<string>()));
        return running;
    }
}
