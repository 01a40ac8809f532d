using Aurora.Agent.Node;
using Aurora.Agent.Protocol;
using Aurora.Agent.Tests.Support;

namespace Aurora.Agent.Tests;

/// <summary>The agent with its real executor: a launched task runs, its end reaches the scheduler, its output is served.</summary>
public sealed class RealExecutorTests
{
    [Fact]
    public async Task A_launched_task_runs_to_the_end_its_output_is_served_and_an_acknowledgement_forgets_it()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        var launched = 0;
        var acknowledged = 0;
        var outputRead = false;
        await using var scheduler = await FakeScheduler.StartAsync((request, n, s, http) =>
        {
            if (Interlocked.Exchange(ref launched, 1) == 0)
            {
                var launch = Agents.Launch("t-echo") with { Processes = [new ProcessSpec("main", "echo hello from the task", 1, false, false, 0, false, null)] };
                return FakeScheduler.WriteAsync(http, new HeartbeatResponse([launch], [], [], 10_000));
            }

            if (request.Tasks.Any(t => t.TaskId == "t-echo" && AgentTaskStates.IsTerminal(t.Current.State)) && Volatile.Read(ref outputRead) && Interlocked.Exchange(ref acknowledged, 1) == 0)
            {
                return FakeScheduler.WriteAsync(http, new HeartbeatResponse([], [], ["t-echo"], 10_000));
            }

            // Held briefly, so that the acknowledgement follows soon after the test has read the output.
            return request.WaitMs > 0 ? s.HoldAsync(request, http, TimeSpan.FromMilliseconds(200)) : FakeScheduler.WriteAsync(http, FakeScheduler.Empty());
        });
        var node = await AgentNode.StartAsync(Agents.Options(directory.Path, scheduler.BaseUri), logs.Factory);
        try
        {
            var finished = await scheduler.WaitForAsync(r => r.Tasks.Any(t => t.TaskId == "t-echo" && AgentTaskStates.IsTerminal(t.Current.State)));
            var report = finished.Tasks.Single(t => t.TaskId == "t-echo");
            Assert.Equal(AgentTaskState.Finished, report.Current.State);
            Assert.Equal(AgentTaskState.Starting, report.History[0].State);

            using var http = new HttpClient { BaseAddress = node.SandboxUri };
            Assert.Equal("hello from the task\n", await http.GetStringAsync("tasks/t-echo/tail?path=.logs/main/0/stdout&lines=1"));
            Volatile.Write(ref outputRead, true);

            await Eventually.HoldsAsync("the acknowledgement", () => Volatile.Read(ref acknowledged) == 1, TimeSpan.FromSeconds(30), poll: TimeSpan.FromMilliseconds(10));
            var afterAck = scheduler.Received.Count + 1;
            await scheduler.WaitForAsync(_ => scheduler.Received.Count > afterAck);
            Assert.DoesNotContain(scheduler.Received[^1].Tasks, t => t.TaskId == "t-echo");
            Assert.Empty(node.Executor.Inventory());
        }
        finally
        {
            await node.StopAndKillTasksAsync(TimeSpan.FromSeconds(2));
        }
    }
}
