using System.Text.Json.Nodes;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Tests.Support;

namespace Aurora.Scheduler.Server.Tests;

/// <summary>POST /api/maintenance/sla_drain (Aurora's slaDrainHosts) against a real server and its cluster loop.</summary>
public sealed class SlaDrainApiTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_sla_drain_records_its_policy_and_timeout_and_a_host_without_tasks_is_drained_at_once()
    {
        await using var server = await ServerHarness.StartAsync();
        var before = Micros.Of(DateTimeOffset.UtcNow);

        var (status, body) = await server.PostAsync("/api/maintenance/sla_drain", Body(["a.example"], Percentage(95, 1800), timeoutSecs: 7200));

        Assert.True(status == 200, body?.ToJsonString());
        var answered = Assert.Single(body!["hosts"]!.AsArray())!;
        Assert.Equal("DRAINED", answered["mode"]!.GetValue<string>());
        var (_, view) = await server.GetAsync("/api/maintenance?hosts=a.example");
        var host = Assert.Single(view!["hosts"]!.AsArray())!;
        Assert.Equal("a.example", host["host"]!.GetValue<string>());
        Assert.Equal(95, host["slaPolicy"]!["percentage"]!["percentage"]!.GetValue<double>());
        Assert.Equal("1800", host["slaPolicy"]!["percentage"]!["durationSecs"]!.ToString());
        Assert.Equal(7200, host["timeoutSecs"]!.GetValue<long>());

        var request = server.Server.Runtime.Store.Read(state => state.FindHost("a.example")!.Request!.Clone());
        Assert.Equal(SlaPolicy.KindOneofCase.Percentage, request.DefaultSlaPolicy.KindCase);
        Assert.Equal(7200, request.TimeoutSecs);
        Assert.InRange(request.CreatedMicros, before, Micros.Of(DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task A_count_policy_is_recorded_and_a_forced_drain_shows_no_policy()
    {
        await using var server = await ServerHarness.StartAsync();

        var (status, body) = await server.PostAsync("/api/maintenance/sla_drain", Body(["a.example", "b.example"], Count(2, 600), timeoutSecs: 0));
        var (forced, _) = await server.PostAsync("/api/maintenance/drain", new JsonObject { ["hosts"] = new JsonArray("c.example") });

        Assert.True(status == 200, body?.ToJsonString());
        Assert.Equal(200, forced);
        var (_, view) = await server.GetAsync("/api/maintenance");
        var hosts = view!["hosts"]!.AsArray().ToDictionary(h => h!["host"]!.GetValue<string>(), h => h!);
        Assert.Equal(["a.example", "b.example", "c.example"], hosts.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("2", hosts["b.example"]["slaPolicy"]!["count"]!["count"]!.ToString());
        Assert.Equal(0, hosts["b.example"]["timeoutSecs"]!.GetValue<long>());
        Assert.Null(hosts["c.example"]["slaPolicy"]);
        Assert.Null(hosts["c.example"]["timeoutSecs"]);
    }

    [Fact]
    public async Task A_task_under_a_coordinator_policy_stays_until_its_hosts_timeout_and_then_drains()
    {
        // Tasks on silent agents would be LOST after -agent_timeout; there is no agent here.
        await using var server = await ServerHarness.StartAsync(extraFlags: ["-agent_timeout=1hrs"]);
        var job = ServerHarness.Job(instances: 2);
        Assert.Equal(200, (await server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(job) })).Status);
        var store = server.Server.Runtime.Store;
        var tasks = store.Read(state => state.TasksOf(job.Key).OrderBy(t => t.InstanceId).Select(t => t.TaskId).ToList());
        await RunOnAsync(server, tasks[0], "waiting.example");
        await RunOnAsync(server, tasks[1], "timed-out.example");

        // Recorded first, so every loop round that sees the second drain has seen this one too.
        var (waiting, waitingBody) = await server.PostAsync("/api/maintenance/sla_drain", Body(["waiting.example"], Coordinator(), timeoutSecs: 3600));
        var (timedOut, _) = await server.PostAsync("/api/maintenance/sla_drain", Body(["timed-out.example"], Coordinator(), timeoutSecs: 0));

        Assert.Equal(200, waiting);
        Assert.Equal(200, timedOut);
        Assert.Equal("DRAINING", waitingBody!["hosts"]![0]!["mode"]!.GetValue<string>());
        await WaitUntilAsync(server, state => state.FindTask(tasks[1])!.Status == ScheduleStatus.Draining, "the timed-out host's task DRAINING");
        Assert.Equal(ScheduleStatus.Running, store.Read(state => state.FindTask(tasks[0])!.Status));
        var (_, view) = await server.GetAsync("/api/maintenance?hosts=waiting.example");
        var host = view!["hosts"]![0]!;
        Assert.Equal("DRAINING", host["mode"]!.GetValue<string>());
        Assert.Equal("http://coordinator.example/drain", host["slaPolicy"]!["coordinator"]!["coordinatorUrl"]!.GetValue<string>());
        Assert.Equal(3600, host["timeoutSecs"]!.GetValue<long>());
    }

    [Fact]
    public async Task Bad_requests_are_refused_naming_the_field_and_record_nothing()
    {
        await using var server = await ServerHarness.StartAsync();
        var policy = Percentage(95, 1800);
        (JsonObject Body, string Field)[] cases =
        [
            (new JsonObject { ["defaultSlaPolicy"] = policy.DeepClone(), ["timeoutSecs"] = 60 }, "\"hosts\""),
            (Body([], policy, 60), "\"hosts\""),
            (new JsonObject { ["hosts"] = new JsonArray("h.example"), ["timeoutSecs"] = 60 }, "\"defaultSlaPolicy\""),
            (Body(["h.example"], new JsonObject(), 60), "\"defaultSlaPolicy\" must be an object with exactly one of"),
            (Body(["h.example"], new JsonObject { ["percentage"] = policy["percentage"]!.DeepClone(), ["count"] = Count(2, 60)["count"]!.DeepClone() }, 60), "exactly one of"),
            (Body(["h.example"], JsonValue.Create(95), 60), "\"defaultSlaPolicy\" must be an object"),
            (Body(["h.example"], new JsonObject { ["percentage"] = new JsonObject { ["percent"] = 95 } }, 60), "\"defaultSlaPolicy\" is not a valid SlaPolicy"),
            (Body(["h.example"], Percentage(0, 60), 60), "defaultSlaPolicy.percentage.percentage"),
            (Body(["h.example"], Percentage(100.5, 60), 60), "defaultSlaPolicy.percentage.percentage"),
            (Body(["h.example"], Percentage(95, -1), 60), "defaultSlaPolicy.percentage.durationSecs"),
            (Body(["h.example"], Count(0, 60), 60), "defaultSlaPolicy.count.count"),
            (Body(["h.example"], Count(2, -5), 60), "defaultSlaPolicy.count.durationSecs"),
            (Body(["h.example"], new JsonObject { ["coordinator"] = new JsonObject { ["coordinatorUrl"] = "not a url" } }, 60), "defaultSlaPolicy.coordinator.coordinatorUrl"),
            (new JsonObject { ["hosts"] = new JsonArray("h.example"), ["defaultSlaPolicy"] = policy.DeepClone() }, "\"timeoutSecs\""),
            (Body(["h.example"], policy, -1), "timeoutSecs must be"),
            (new JsonObject { ["hosts"] = new JsonArray("h.example"), ["defaultSlaPolicy"] = policy.DeepClone(), ["timeoutSecs"] = "soon" }, "\"timeoutSecs\" must be a whole number"),
        ];

        foreach (var (body, field) in cases)
        {
            var (status, answer) = await server.PostAsync("/api/maintenance/sla_drain", body);

            var what = $"{body.ToJsonString()} -> {status} {answer?.ToJsonString()}";
            Assert.True(status == 400, what);
            Assert.Equal("INVALID_REQUEST", answer!["error"]!["code"]!.GetValue<string>());
            Assert.True(answer["error"]!["message"]!.GetValue<string>().Contains(field, StringComparison.Ordinal), $"expected '{field}' in: {what}");
        }

        var (_, view) = await server.GetAsync("/api/maintenance");
        Assert.Empty(view!["hosts"]!.AsArray());
    }

    [Fact]
    public async Task An_sla_drain_needs_the_slaDrainHosts_permission_not_drainHosts()
    {
        using var directory = new TempDirectory();
        var ini = Path.Combine(directory.Path, "security.ini");
        await File.WriteAllTextAsync(ini, """
            [users]
            oncall = oncallpw, forced
            sre = srepw, sla

            [roles]
            forced = thrift.AuroraAdmin:drainHosts
            sla = thrift.AuroraAdmin:slaDrainHosts
            """);
        await using var server = await ServerHarness.StartAsync(extraFlags: ["-http_authentication_mechanism=BASIC", $"-shiro_ini_path={ini}"]);
        var body = Body(["a.example"], Percentage(95, 1800), 7200);

        var (anonymous, _) = await server.SendAsync(HttpMethod.Post, "/api/maintenance/sla_drain", body);
        var (denied, deniedBody) = await server.SendAsync(HttpMethod.Post, "/api/maintenance/sla_drain", body, basic: ("oncall", "oncallpw"));
        var (allowed, _) = await server.SendAsync(HttpMethod.Post, "/api/maintenance/sla_drain", body, basic: ("sre", "srepw"));

        Assert.Equal(401, anonymous);
        Assert.Equal(403, denied);
        Assert.Contains("thrift.AuroraAdmin:slaDrainHosts", deniedBody!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(200, allowed);
        Assert.Equal(MaintenanceMode.Drained, server.Server.Runtime.Store.Read(state => state.FindHost("a.example")!.Mode));
    }

    private static JsonObject Body(string[] hosts, JsonNode policy, long timeoutSecs) => new()
    {
        ["hosts"] = new JsonArray([.. hosts.Select(h => JsonValue.Create(h))]),
        ["defaultSlaPolicy"] = policy.DeepClone(),
        ["timeoutSecs"] = timeoutSecs,
    };

    private static JsonObject Percentage(double percentage, long durationSecs) =>
        new() { ["percentage"] = new JsonObject { ["percentage"] = percentage, ["durationSecs"] = durationSecs } };

    private static JsonObject Count(long count, long durationSecs) =>
        new() { ["count"] = new JsonObject { ["count"] = count, ["durationSecs"] = durationSecs } };

    private static JsonObject Coordinator() =>
        new() { ["coordinator"] = new JsonObject { ["coordinatorUrl"] = "http://coordinator.example/drain", ["statusKey"] = "drain" } };

    /// <summary>Places a PENDING task on <paramref name="host"/> and reports it RUNNING, as an agent there would.</summary>
    private static async Task RunOnAsync(ServerHarness server, string taskId, string host)
    {
        await server.Server.Runtime.ExecuteAsync(new AssignTask(taskId, $"agent-{host}", host, []), "test");
        await server.Server.Runtime.ExecuteAsync(new ChangeTaskState(taskId, ScheduleStatus.Running), "test");
    }

    private static async Task WaitUntilAsync(ServerHarness server, Func<State.SchedulerState, bool> condition, string what)
    {
        var store = server.Server.Runtime.Store;
        using var patience = new CancellationTokenSource(Patience);
        while (true)
        {
            var position = store.AppliedPosition;
            if (store.Read(condition))
            {
                return;
            }

            try
            {
                await store.WaitForChangeAsync(position, patience.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"{what}: not reached within {Patience.TotalSeconds} s.");
            }
        }
    }
}
