using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Aurora.Agent.Protocol;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Tests.Support;
using Vetoes = Aurora.Scheduler.Placement.Vetoes;

namespace Aurora.Scheduler.Server.Tests;

/// <summary>The scheduler's agent side (POST /agent/v1/heartbeat) driven by a fake agent over HTTP, against a real server.</summary>
public sealed class AgentEndpointTests
{
    private const string JobPath = "/api/jobs/www-data/prod/hello";
    private const string TasksQuery = "/api/tasks?role=www-data&environment=prod&name=hello";

    [Fact]
    public async Task A_heartbeating_agent_is_offered_and_a_long_poll_delivers_the_launch_of_a_task_placed_on_it()
    {
        await using var server = await ServerHarness.StartAsync();
        var agent = new FakeAgent(server.Http, "agent-1", "host-1.example");

        var first = await agent.HeartbeatAsync();
        Assert.Empty(first.Launch);
        Assert.Empty(first.Kill);
        Assert.True(first.HeartbeatIntervalMs > 0);

        var (_, offers) = await server.GetAsync("/offers");
        var offer = Assert.Single(offers!.AsArray())!;
        Assert.Equal("agent-1", offer["agentId"]!.GetValue<string>());
        Assert.Equal("host-1.example", offer["host"]!.GetValue<string>());
        Assert.Equal(agent.SandboxUrl, offer["sandboxUrl"]!.GetValue<string>());
        Assert.Equal(["r1"], offer["attributes"]!["rack"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(["east"], offer["attributes"]!["zone"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.Equal(4, offer["capacity"]!["cpus"]!.GetValue<double>());
        Assert.Equal(4096, offer["capacity"]!["ramMb"]!.GetValue<long>());
        Assert.Equal(8192, offer["capacity"]!["diskMb"]!.GetValue<long>());
        Assert.Equal(10, offer["capacity"]!["ports"]!.GetValue<int>());

        var (_, vars) = await server.GetAsync("/vars");
        Assert.Contains("agents_present 1", vars!.GetValue<string>().Split('\n'));

        // Held with nothing to say; the placement's commit must wake it with the launch.
        var held = agent.HeartbeatAsync(waitMs: AgentApi.MaxWaitMs);
        Assert.Equal(200, (await server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(JobWithPort(instances: 1)) })).Status);
        var answer = await held;

        var launch = Assert.Single(answer.Launch);
        var task = await WaitForTaskAsync(server, t => t["status"]!.GetValue<string>() == "ASSIGNED", "the task ASSIGNED");
        Assert.Equal(task["taskId"]!.GetValue<string>(), launch.TaskId);
        Assert.Equal("host-1.example", task["host"]!.GetValue<string>());
        Assert.Equal("agent-1", task["agentId"]!.GetValue<string>());
        Assert.Equal(("www-data", "prod", "hello", 0), (launch.Role, launch.Environment, launch.JobName, launch.InstanceId));
        Assert.Equal((0.5, 64L, 64L), (launch.Cpus, launch.RamMb, launch.DiskMb));
        var process = Assert.Single(launch.Processes);
        Assert.Equal(("main", "echo hello; sleep 60"), (process.Name, process.Cmdline));
        var port = Assert.Single(launch.Ports);
        Assert.Equal("http", port.Key);
        Assert.InRange(port.Value, 31000, 31009);
        Assert.Equal(port.Value, task["ports"]!["http"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_revocable_task_runs_on_revocable_resources_and_offers_count_it_apart()
    {
        await using var server = await ServerHarness.StartAsync(extraFlags: ["-receive_revocable_resources=true"]);
        var agent = new FakeAgent(server.Http, "agent-1", "host-1.example") { RevocableResources = new ResourceSet(2, 1024, 1024, []) };
        await agent.HeartbeatAsync();
        var job = ServerHarness.Job(instances: 1);
        job.Task.Tier = "revocable";
        Assert.Equal(200, (await server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(job) })).Status);

        await agent.HeartbeatUntilAsync(a => a.Launch.Count == 1, "the revocable task's launch");

        var (_, offers) = await server.GetAsync("/offers");
        var offer = Assert.Single(offers!.AsArray())!;
        Assert.Equal(0, offer["used"]!["cpus"]!.GetValue<double>());
        Assert.Equal(job.Task.Resources.NumCpus, offer["revocableUsed"]!["cpus"]!.GetValue<double>());
        Assert.Equal(job.Task.Resources.RamMb, offer["revocableUsed"]!["ramMb"]!.GetValue<long>());
        Assert.Equal(2, offer["revocable"]!["cpus"]!.GetValue<double>());
    }

    [Fact]
    public async Task A_second_live_agent_on_the_same_host_is_refused_with_the_reason()
    {
        await using var server = await ServerHarness.StartAsync();
        await new FakeAgent(server.Http, "agent-1", "host-1.example").HeartbeatAsync();

        var intruder = new FakeAgent(server.Http, "agent-2", "host-1.example");
        using var response = await server.Http.PostAsJsonAsync(AgentApi.HeartbeatPath.TrimStart('/'), intruder.Request(0), AgentApi.Json);

        Assert.Equal(409, (int)response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("HOST_TAKEN", error["code"]!.GetValue<string>());
        Assert.Contains("Host host-1.example is served by agent agent-1", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var (_, offers) = await server.GetAsync("/offers");
        Assert.Equal("agent-1", Assert.Single(offers!.AsArray())!["agentId"]!.GetValue<string>());
    }

    [Fact]
    public async Task Reported_transitions_make_the_task_running_with_a_sandbox_link_and_it_is_not_launched_again()
    {
        await using var server = await ServerHarness.StartAsync();
        var agent = new FakeAgent(server.Http, "agent-1", "host-1.example");
        var taskId = await LaunchOneAsync(server, agent);

        agent.Report(taskId, AgentTaskState.Starting, "Initializing sandbox.");
        agent.Report(taskId, AgentTaskState.Running, "All processes started.");
        var answer = await agent.HeartbeatAsync();
        Assert.Empty(answer.Launch);
        Assert.Empty(answer.Kill);
        Assert.Empty(answer.Acknowledged);

        var (_, job) = await server.GetAsync(JobPath);
        var task = Assert.Single(job!["tasks"]!.AsArray())!;
        Assert.Equal(taskId, task["taskId"]!.GetValue<string>());
        Assert.Equal("RUNNING", task["status"]!.GetValue<string>());
        Assert.Equal("host-1.example", task["host"]!.GetValue<string>());
        Assert.Equal($"{agent.SandboxUrl}/tasks/{taskId}", task["sandboxUrl"]!.GetValue<string>());
        var statuses = task["events"]!.AsArray().Select(e => e!["status"]!.GetValue<string>()).ToList();
        Assert.Equal(["PENDING", "ASSIGNED", "STARTING", "RUNNING"], statuses);

        // The same inventory again: nothing to launch or kill, and no transition is recorded twice.
        answer = await agent.HeartbeatAsync();
        Assert.Empty(answer.Launch);
        Assert.Empty(answer.Kill);
        (_, job) = await server.GetAsync(JobPath);
        Assert.Equal(4, Assert.Single(job!["tasks"]!.AsArray())!["events"]!.AsArray().Count);
    }

    [Fact]
    public async Task Killing_the_job_sends_a_kill_and_the_reported_kill_makes_the_task_killed_and_acknowledged()
    {
        await using var server = await ServerHarness.StartAsync();
        var agent = new FakeAgent(server.Http, "agent-1", "host-1.example");
        var taskId = await LaunchOneAsync(server, agent);
        agent.Report(taskId, AgentTaskState.Running, "Started.");
        await agent.HeartbeatAsync();
        await WaitForTaskAsync(server, t => t["status"]!.GetValue<string>() == "RUNNING", "the task RUNNING");

        Assert.Equal(200, (await server.PostAsync($"{JobPath}/kill", new JsonObject())).Status);
        var answer = await agent.HeartbeatUntilAsync(a => a.Kill.Count > 0, "a kill");
        var kill = Assert.Single(answer.Kill);
        Assert.Equal(taskId, kill.TaskId);
        Assert.True(kill.GracePeriodSecs > 0);
        Assert.Empty(answer.Launch);

        agent.Report(taskId, AgentTaskState.Killed, "Killed by the scheduler.");
        answer = await agent.HeartbeatAsync();
        Assert.Equal([taskId], answer.Acknowledged);
        Assert.Empty(answer.Kill);
        await WaitForTaskAsync(server, t => t["taskId"]!.GetValue<string>() == taskId && t["status"]!.GetValue<string>() == "KILLED", "the task KILLED");

        // Acknowledged: the agent forgot it, and the scheduler has nothing more to say about it.
        Assert.Empty(agent.Request(0).Tasks);
        answer = await agent.HeartbeatAsync();
        Assert.Empty(answer.Launch);
        Assert.Empty(answer.Kill);
    }

    [Fact]
    public async Task A_task_the_scheduler_does_not_know_is_killed_and_a_terminal_one_is_acknowledged()
    {
        await using var server = await ServerHarness.StartAsync();
        var agent = new FakeAgent(server.Http, "agent-1", "host-1.example");
        agent.Report("www-data-prod-ghost-0-1a2b", AgentTaskState.Running, "Left over from before a wipe.");
        agent.Report("www-data-prod-gone-0-3c4d", AgentTaskState.Finished, "Done long ago.");

        var answer = await agent.HeartbeatAsync();

        var kill = Assert.Single(answer.Kill);
        Assert.Equal("www-data-prod-ghost-0-1a2b", kill.TaskId);
        Assert.Contains("unknown", kill.Reason, StringComparison.Ordinal);
        Assert.Equal(["www-data-prod-gone-0-3c4d"], answer.Acknowledged);
        Assert.Empty(answer.Launch);
    }

    [Fact]
    public async Task A_silent_agent_loses_its_running_task_and_the_instance_is_rescheduled()
    {
        await using var server = await ServerHarness.StartAsync(extraFlags: ["-agent_timeout=2secs"]);
        var agent = new FakeAgent(server.Http, "agent-1", "host-1.example");
        var taskId = await LaunchOneAsync(server, agent);
        agent.Report(taskId, AgentTaskState.Running, "Started.");
        await agent.HeartbeatAsync();
        await WaitForTaskAsync(server, t => t["taskId"]!.GetValue<string>() == taskId && t["status"]!.GetValue<string>() == "RUNNING", "the task RUNNING");

        // The agent now says nothing more.
        await WaitForTaskAsync(server, t => t["taskId"]!.GetValue<string>() == taskId && t["status"]!.GetValue<string>() == "LOST", "the task LOST");
        // A task that ran this briefly flapped, so Aurora holds its replacement THROTTLED before it is PENDING.
        var replacement = await WaitForTaskAsync(
            server,
            t => t["ancestorId"]?.GetValue<string>() == taskId && t["status"]!.GetValue<string>() is "THROTTLED" or "PENDING" or "ASSIGNED",
            "a replacement THROTTLED, PENDING or ASSIGNED");
        Assert.Equal(0, replacement["instance"]!.GetValue<int>());
        Assert.NotEqual(taskId, replacement["taskId"]!.GetValue<string>());
        var (_, lost) = await server.GetAsync($"{TasksQuery}&statuses=LOST");
        Assert.Contains("agent-1", Assert.Single(lost!["tasks"]!.AsArray())!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // Gone from the offers too, once the registry has forgotten it.
        await WaitUntilAsync(async () => (await server.GetAsync("/offers")).Body!.AsArray().Count == 0, "the agent gone from /offers");
    }

    [Theory]
    [InlineData("{not json", "not valid JSON")]
    [InlineData("", "not valid JSON")]
    [InlineData("null", "body is empty")]
    [InlineData("""{"hostname":"h","attributes":[],"resources":{"cpus":1,"ramMb":1,"diskMb":1,"ports":[]},"tasks":[],"waitMs":0}""", "agentId")]
    [InlineData("""{"agentId":"a","attributes":[],"resources":{"cpus":1,"ramMb":1,"diskMb":1,"ports":[]},"tasks":[],"waitMs":0}""", "hostname")]
    [InlineData("""{"agentId":"a","hostname":"h","attributes":[],"tasks":[],"waitMs":0}""", "resources")]
    [InlineData("""{"agentId":"a","hostname":"h","attributes":[],"resources":{"cpus":1,"ramMb":1,"diskMb":1,"ports":[]},"waitMs":0}""", "tasks")]
    [InlineData("""{"agentId":"a","hostname":"h","resources":{"cpus":1,"ramMb":1,"diskMb":1,"ports":[]},"tasks":[],"waitMs":0}""", "attributes")]
    [InlineData("""{"agentId":"a","hostname":"h","attributes":[],"resources":{"cpus":1,"ramMb":1,"diskMb":1},"tasks":[],"waitMs":0}""", "resources.ports")]
    [InlineData("""{"agentId":"a","hostname":"h","attributes":[],"resources":{"cpus":-1,"ramMb":1,"diskMb":1,"ports":[]},"tasks":[],"waitMs":0}""", "resources.cpus")]
    [InlineData("""{"agentId":"a","hostname":"h","attributes":[],"resources":{"cpus":1,"ramMb":-5,"diskMb":1,"ports":[]},"tasks":[],"waitMs":0}""", "resources.ramMb")]
    [InlineData("""{"agentId":"a","hostname":"h","attributes":[],"resources":{"cpus":1,"ramMb":1,"diskMb":-1,"ports":[]},"tasks":[],"waitMs":0}""", "resources.diskMb")]
    [InlineData("""{"agentId":"a","hostname":"h","attributes":[],"resources":{"cpus":1,"ramMb":1,"diskMb":1,"ports":[{"first":32000,"last":31000}]},"tasks":[],"waitMs":0}""", "32000-31000")]
    [InlineData("""{"agentId":"a","hostname":"h","attributes":[],"resources":{"cpus":1,"ramMb":1,"diskMb":1,"ports":[]},"tasks":[],"waitMs":30001}""", "waitMs")]
    [InlineData("""{"agentId":"a","hostname":"h","attributes":[],"resources":{"cpus":1,"ramMb":1,"diskMb":1,"ports":[]},"tasks":[],"waitMs":-1}""", "waitMs")]
    [InlineData("""{"agentId":"a","hostname":"h","attributes":[],"resources":{"cpus":1,"ramMb":1,"diskMb":1,"ports":[]},"tasks":[{"taskId":"t1","history":[]}],"waitMs":0}""", "t1")]
    [InlineData("""{"agentId":"a","hostname":"h","attributes":[],"resources":{"cpus":1,"ramMb":1,"diskMb":1,"ports":[]},"tasks":[{"taskId":"t1","history":[{"state":"SLEEPING","timestampMs":1,"message":""}]}],"waitMs":0}""", "$.tasks[0].history[0].state")]
    public async Task A_malformed_heartbeat_is_refused_with_a_message_naming_the_problem(string body, string named)
    {
        await using var server = await ServerHarness.StartAsync();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await server.Http.PostAsync(AgentApi.HeartbeatPath.TrimStart('/'), content);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 400, $"answered {(int)response.StatusCode}: {text}");
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal("INVALID_REQUEST", error["code"]!.GetValue<string>());
        Assert.Contains(named, error["message"]!.GetValue<string>(), StringComparison.Ordinal);

        // Nothing of the refused heartbeat was kept.
        Assert.Empty((await server.GetAsync("/offers")).Body!.AsArray());
    }

    [Fact]
    public async Task A_task_that_fits_no_agent_is_pending_with_the_veto_that_stopped_it()
    {
        await using var server = await ServerHarness.StartAsync();
        var agent = new FakeAgent(server.Http, "agent-small", "small.example")
        {
            Resources = new ResourceSet(4, 32, 8192, [new PortRange(31000, 31009)]),
        };
        await agent.HeartbeatAsync();
        Assert.Equal(200, (await server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job(instances: 1)) })).Status);

        var expected = $"{Vetoes.InsufficientRam} (1 host)";
        var task = await WaitForTaskAsync(server, t => t["pendingReason"]?.GetValue<string>() == expected, $"pendingReason {expected}");
        Assert.Equal("PENDING", task["status"]!.GetValue<string>());

        var (_, pending) = await server.GetAsync("/pendingtasks");
        var group = Assert.Single(pending!.AsArray())!;
        Assert.Equal(expected, group["reason"]!.GetValue<string>());
        Assert.Equal([task["taskId"]!.GetValue<string>()], group["taskIds"]!.AsArray().Select(t => t!.GetValue<string>()));

        var answer = await agent.HeartbeatAsync();
        Assert.Empty(answer.Launch);
    }

    private static JobConfiguration JobWithPort(int instances)
    {
        var job = ServerHarness.Job(instances: instances);
        job.Task.Resources.NamedPorts.Add("http");
        return job;
    }

    /// <summary>Creates a one-instance job and long-polls until <paramref name="agent"/> is told to launch it.</summary>
    private static async Task<string> LaunchOneAsync(ServerHarness server, FakeAgent agent)
    {
        await agent.HeartbeatAsync();
        Assert.Equal(200, (await server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(JobWithPort(instances: 1)) })).Status);
        var answer = await agent.HeartbeatUntilAsync(a => a.Launch.Count > 0, "a launch");
        return Assert.Single(answer.Launch).TaskId;
    }

    /// <summary>Polls the job's tasks until one satisfies <paramref name="match"/>; a timeout shows the tasks last seen.</summary>
    private static async Task<JsonNode> WaitForTaskAsync(ServerHarness server, Func<JsonNode, bool> match, string what)
    {
        var deadline = DateTime.UtcNow + FakeAgent.Patience;
        while (true)
        {
            var (_, body) = await server.GetAsync(TasksQuery);
            var tasks = body!["tasks"]!.AsArray();
            if (tasks.FirstOrDefault(t => match(t!)) is { } found)
            {
                return found;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{what}: not reached within {FakeAgent.Patience.TotalSeconds} s; tasks: {tasks.ToJsonString()}");
            await Task.Delay(50);
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + FakeAgent.Patience;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what}: not reached within {FakeAgent.Patience.TotalSeconds} s");
            await Task.Delay(50);
        }
    }
}
