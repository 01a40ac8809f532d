using Aurora.Agent.Node;
using Aurora.Agent.Protocol;
using Aurora.Agent.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace Aurora.Agent.Tests;

/// <summary>The heartbeat loop against a fake scheduler (real HTTP) with a fake executor.</summary>
public sealed class HeartbeatTests
{
    private const int OutageBegan = 4103;
    private const int AttemptFailed = 4104;
    private const int OutageEnded = 4105;

    [Fact]
    public async Task The_first_heartbeat_goes_at_once_after_recovery_and_carries_the_whole_inventory()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        await using var scheduler = await FakeScheduler.StartAsync((request, n, s, http) => FakeScheduler.WriteAsync(http, FakeScheduler.Empty()));
        var executor = new FakeExecutor();
        executor.Hold(FakeExecutor.Report("t-running", AgentTaskState.Running));
        ExecutorOptionsSeen? seen = null;
        await using var node = await AgentNode.StartAsync(Agents.Options(directory.Path, scheduler.BaseUri), logs.Factory, options =>
        {
            seen = new ExecutorOptionsSeen(options.WorkDir, options.Hostname, options.AgentId);
            return executor;
        });

        var first = await scheduler.WaitForAsync(_ => true);
        Assert.Equal(0, first.WaitMs);
        Assert.Equal(node.AgentId, first.AgentId);
        Assert.Equal(new ExecutorOptionsSeen(directory.Path, "agent-host", node.AgentId), seen);
        Assert.Equal("agent-host", first.Hostname);
        Assert.Equal(node.SandboxUri.ToString().TrimEnd('/'), first.SandboxUrl);
        Assert.NotEqual(0, node.SandboxUri.Port);
        Assert.Equal(["host", "rack"], first.Attributes.Select(a => a.Name));
        Assert.Equal((2.0, 1024L, 4096L), (first.Resources.Cpus, first.Resources.RamMb, first.Resources.DiskMb));
        Assert.Equal("t-running", Assert.Single(first.Tasks).TaskId);
        Assert.Equal("recover", executor.Calls[0]);

        // Nothing changed since that answer: the next heartbeat may be held.
        await scheduler.WaitForAsync(_ => scheduler.Received.Count >= 2);
        Assert.Equal(10_000, scheduler.Received[1].WaitMs);
    }

    [Fact]
    public async Task Launches_kills_and_acknowledgements_in_an_answer_are_applied_and_reported_at_once()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        await using var scheduler = await FakeScheduler.StartAsync((request, n, s, http) =>
            n == 0
                ? FakeScheduler.WriteAsync(http, new HeartbeatResponse([Agents.Launch("t-new")], [new TaskKill("t-old", "Killed by www-data", 7)], ["t-done"], 10_000))
                : s.AnswerIdleAsync(request, http));
        var executor = new FakeExecutor();
        executor.Hold(FakeExecutor.Report("t-old", AgentTaskState.Running));
        executor.Hold(FakeExecutor.Report("t-done", AgentTaskState.Finished));
        await using var node = await AgentNode.StartAsync(Agents.Options(directory.Path, scheduler.BaseUri), logs.Factory, _ => executor);

        var report = await scheduler.WaitForAsync(r => r.Tasks.Any(t => t.TaskId == "t-new"));
        Assert.Equal(0, report.WaitMs);
        Assert.Contains("launch t-new", executor.Calls);
        Assert.Contains("kill t-old Killed by www-data 7s", executor.Calls);
        Assert.Contains("forget t-done", executor.Calls);
        Assert.Equal("t-new", Assert.Single(executor.Launched).TaskId);
        Assert.DoesNotContain(report.Tasks, t => t.TaskId == "t-done");
        Assert.Equal(AgentTaskState.Killed, report.Tasks.Single(t => t.TaskId == "t-old").Current.State);
    }

    [Fact]
    public async Task A_change_while_a_heartbeat_is_held_is_reported_by_an_extra_heartbeat_at_once()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        await using var scheduler = await FakeScheduler.StartAsync((request, n, s, http) =>
            request.WaitMs > 0 ? s.HoldAsync(request, http, TimeSpan.FromMinutes(5)) : FakeScheduler.WriteAsync(http, FakeScheduler.Empty()));
        var executor = new FakeExecutor();
        await using var node = await AgentNode.StartAsync(Agents.Options(directory.Path, scheduler.BaseUri), logs.Factory, _ => executor);
        await scheduler.WaitForAsync(r => r.WaitMs > 0);
        await Eventually.HoldsAsync("the heartbeat to be held", () => scheduler.Held == 1, TimeSpan.FromSeconds(30), poll: TimeSpan.FromMilliseconds(10));

        executor.Hold(FakeExecutor.Report("t-1", AgentTaskState.Running));
        executor.RaiseChanged();
        executor.RaiseChanged();

        var prompt = await scheduler.WaitForAsync(r => r.Tasks.Any(t => t.TaskId == "t-1"));
        Assert.Equal(0, prompt.WaitMs);
        Assert.Equal(1, scheduler.Held);
    }

    [Fact]
    public async Task A_redirect_is_followed_to_the_leader_and_the_leader_is_remembered()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        await using var leader = await FakeScheduler.StartAsync((request, n, s, http) => FakeScheduler.WriteAsync(http, FakeScheduler.Empty(intervalMs: 0)));
        await using var follower = await FakeScheduler.StartAsync((request, n, s, http) =>
        {
            http.Response.StatusCode = StatusCodes.Status307TemporaryRedirect;
            http.Response.Headers.Location = new Uri(leader.BaseUri, AgentApi.HeartbeatPath).ToString();
            return Task.CompletedTask;
        });
        await using var node = await AgentNode.StartAsync(Agents.Options(directory.Path, follower.BaseUri), logs.Factory, _ => new FakeExecutor());

        var first = await leader.WaitForAsync(_ => true);
        Assert.Equal(node.AgentId, first.AgentId);
        await leader.WaitForAsync(_ => leader.Received.Count >= 3);
        Assert.Single(follower.Received);
    }

    [Fact]
    public async Task While_the_scheduler_answers_503_the_agent_backs_off_logs_once_and_recovers()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        await using var scheduler = await FakeScheduler.StartAsync(async (request, n, s, http) =>
        {
            if (n < 4)
            {
                http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                await http.Response.WriteAsync("{\"error\":{\"code\":\"STORAGE_NOT_READY\",\"message\":\"Storage is not READY\"}}");
                return;
            }

            await FakeScheduler.WriteAsync(http, FakeScheduler.Empty());
        });
        await using var node = await AgentNode.StartAsync(Agents.Options(directory.Path, scheduler.BaseUri), logs.Factory, _ => new FakeExecutor());

        await logs.WaitForAsync(OutageEnded);
        Assert.Equal(1, logs.Count(OutageBegan));
        Assert.Equal(3, logs.Count(AttemptFailed));
        Assert.Contains("STORAGE_NOT_READY", logs.Entries.Single(e => e.EventId == OutageBegan).Message, StringComparison.Ordinal);
        Assert.Contains("after 4 failed attempt(s)", logs.Entries.Single(e => e.EventId == OutageEnded).Message, StringComparison.Ordinal);
        Assert.True(node.HeartbeatsAnswered >= 1);
    }

    [Fact]
    public async Task A_scheduler_that_is_down_never_stops_the_agent()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        Uri gone;
        await using (var scheduler = await FakeScheduler.StartAsync((request, n, s, http) => FakeScheduler.WriteAsync(http, FakeScheduler.Empty())))
        {
            gone = scheduler.BaseUri;
        }

        var executor = new FakeExecutor();
        var node = await AgentNode.StartAsync(Agents.Options(directory.Path, gone), logs.Factory, _ => executor);
        await logs.WaitForAsync(AttemptFailed);
        Assert.Equal(1, logs.Count(OutageBegan));

        using var http = new HttpClient { BaseAddress = node.SandboxUri };
        Assert.Equal("OK\n", await http.GetStringAsync("health"));

        await node.StopAndKillTasksAsync(TimeSpan.FromSeconds(1));
        Assert.Contains("killall", executor.Calls);
        Assert.True(executor.Disposed);
    }

    [Fact]
    public async Task Stopping_leaves_tasks_running()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        await using var scheduler = await FakeScheduler.StartIdleAsync();
        var executor = new FakeExecutor();
        var node = await AgentNode.StartAsync(Agents.Options(directory.Path, scheduler.BaseUri), logs.Factory, _ => executor);
        await scheduler.WaitForAsync(_ => true);
        await node.StopAsync();
        await node.StopAsync();
        Assert.DoesNotContain("killall", executor.Calls);
        Assert.True(executor.Disposed);
    }

    [Fact]
    public async Task A_scheduler_that_repeats_kills_and_acknowledgements_already_applied_gets_heartbeats_at_the_ordinary_pace()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        var longPolls = 0;
        var repeated = new HeartbeatResponse([], [new TaskKill("t-killed", "Killed by www-data", 5)], ["t-gone"], 100);
        await using var scheduler = await FakeScheduler.StartAsync(async (request, n, s, http) =>
        {
            if (request.WaitMs > 0)
            {
                try
                {
                    await Task.Delay(300, http.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            await FakeScheduler.WriteAsync(http, repeated);
            if (request.WaitMs > 0)
            {
                Interlocked.Increment(ref longPolls);
            }
        });
        var executor = new FakeExecutor();
        executor.Hold(FakeExecutor.Report("t-killed", AgentTaskState.Killed));
        await using var node = await AgentNode.StartAsync(Agents.Options(directory.Path, scheduler.BaseUri), logs.Factory, _ => executor);

        await Eventually.HoldsAsync("5 answered long polls (or a busy loop)", () => Volatile.Read(ref longPolls) >= 5 || scheduler.Received.Count > 500, TimeSpan.FromSeconds(60), poll: TimeSpan.FromMilliseconds(10));

        // The first heartbeat goes at once, then each is a long poll: one may be in flight.
        Assert.InRange(scheduler.Received.Count, 5, 5 + 3);
        Assert.Contains("kill t-killed Killed by www-data 5s", executor.Calls);
        Assert.Contains("forget t-gone", executor.Calls);
    }

    [Fact]
    public async Task A_heartbeat_never_carries_what_the_protocol_refuses_whatever_the_executor_holds()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        await using var scheduler = await FakeScheduler.StartAsync((request, n, s, http) => FakeScheduler.WriteAsync(http, FakeScheduler.Empty(intervalMs: 0)));
        var executor = new FakeExecutor();
        var tooLong = "t" + new string('x', ProtocolLimits.MaxTaskIdLength);
        executor.Hold(FakeExecutor.Report("t-chatty", AgentTaskState.Failed, "first line\nsecond line\u0000" + new string('c', 10_000)));
        executor.Hold(FakeExecutor.Report(tooLong, AgentTaskState.Running));
        executor.Hold(FakeExecutor.Report("../escape", AgentTaskState.Running));
        await using var node = await AgentNode.StartAsync(Agents.Options(directory.Path, scheduler.BaseUri), logs.Factory, _ => executor);

        await scheduler.WaitForAsync(_ => scheduler.Received.Count >= 3);

        Assert.All(scheduler.Received, r => Assert.Null(ProtocolLimits.Problem(r)));
        var chatty = Assert.Single(scheduler.Received[0].Tasks);
        Assert.Equal("t-chatty", chatty.TaskId);
        Assert.StartsWith("first line second line ccc", chatty.Current.Message, StringComparison.Ordinal);
        Assert.Equal(ProtocolLimits.MaxMessageLength, chatty.Current.Message.Length);
        Assert.Equal(2, logs.Count(4113));
    }

    private sealed record ExecutorOptionsSeen(string WorkDir, string Hostname, string AgentId);
}
