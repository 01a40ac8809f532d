using System.Text.Json;
using Aurora.Agent.Executor;
using Aurora.Agent.Node;
using Aurora.Agent.Protocol;
using Aurora.Agent.Tests.Support;

namespace Aurora.Agent.Tests;

/// <summary>What tasks used, as the agent serves it: per task in <c>/state</c>, and in <c>/vars</c> with the isolation in force.</summary>
public sealed class AgentUsageTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly CapturedLogs _logs = new();
    private readonly FakeExecutor _executor = new() { Isolation = "cgroups_v1" };
    private FakeScheduler? _scheduler;
    private AgentNode? _node;
    private HttpClient? _http;

    public async Task InitializeAsync()
    {
        _executor.Hold(FakeExecutor.Report("t-1", AgentTaskState.Running, "busy"));
        _executor.Hold(FakeExecutor.Report("t-2", AgentTaskState.Running, "idle"));
        _executor.UsageByTask["t-1"] = new TaskUsage(CpuSeconds: 1.25, RssBytes: 1 << 20, MemoryPeakBytes: 2 << 20, MemoryLimitBytes: 64 << 20, DiskBytes: 4096, DiskQuotaBytes: 1 << 30);
        _scheduler = await FakeScheduler.StartIdleAsync();
        _node = await AgentNode.StartAsync(Agents.Options(Path.Combine(_directory.Path, "work"), _scheduler.BaseUri), _logs.Factory, _ => _executor);
        _http = new HttpClient { BaseAddress = _node.SandboxUri };
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_node is not null)
        {
            await _node.StopAsync();
        }

        if (_scheduler is not null)
        {
            await _scheduler.DisposeAsync();
        }

        _logs.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task State_shows_each_measured_tasks_usage_and_omits_it_for_the_others()
    {
        using var state = JsonDocument.Parse(await _http!.GetStringAsync("state"));
        var tasks = state.RootElement.GetProperty("tasks").EnumerateArray().ToDictionary(t => t.GetProperty("taskId").GetString()!);

        var usage = tasks["t-1"].GetProperty("usage");
        Assert.Equal(1.25, usage.GetProperty("cpuSeconds").GetDouble());
        Assert.Equal(1 << 20, usage.GetProperty("rssBytes").GetInt64());
        Assert.Equal(64 << 20, usage.GetProperty("memoryLimitBytes").GetInt64());
        Assert.Equal(4096, usage.GetProperty("diskBytes").GetInt64());
        Assert.False(tasks["t-2"].TryGetProperty("usage", out _));
    }

    [Fact]
    public async Task Vars_name_the_isolation_and_every_measured_tasks_usage()
    {
        var vars = (await _http!.GetStringAsync("vars")).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Contains("isolation cgroups_v1", vars);
        Assert.Contains("tasks 2", vars);
        Assert.Contains("task_t-1_cpu_seconds 1.25", vars);
        Assert.Contains("task_t-1_rss_bytes 1048576", vars);
        Assert.Contains("task_t-1_disk_bytes 4096", vars);
        Assert.Contains("task_t-1_disk_quota_bytes 1073741824", vars);
        Assert.DoesNotContain(vars, v => v.StartsWith("task_t-2_", StringComparison.Ordinal));

        using var json = JsonDocument.Parse(await _http.GetStringAsync("vars.json"));
        Assert.Equal("cgroups_v1", json.RootElement.GetProperty("isolation").GetString());
    }
}
