using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Aurora.Agent.Protocol;
using Aurora.CommandLine;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Tests.Support;
using Aurora.Testing;

namespace Aurora.Scheduler.Server.Tests;

/// <summary>
/// Agents authenticate (-agent_credentials): a heartbeat without the credential, with a wrong one, about
/// another host's tasks, or claiming another host's agent id is refused and changes nothing in the log.
/// </summary>
public sealed class AgentCredentialTests
{
    private const int RefusedCredentialsEvent = 3021;
    private const int AgentIdBoundEvent = 3022;
    private const int ForeignTasksEvent = 3023;

    private static readonly AgentCredential Good = new("agent-principal", "kitesurf");

    [Fact]
    public async Task A_heartbeat_with_no_credential_or_a_wrong_one_is_refused_logged_and_changes_nothing()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        await using var server = await StartAsync(directory, logs);
        var agent = new FakeAgent(server.Http, "agent-1", "host-1.example") { Credential = Good };
        var taskId = await RunOneTaskAsync(server, agent);
        var before = server.Server.Runtime.Store.AppliedPosition;

        // Each claims the real agent with an empty inventory: taken, it would make the task LOST.
        var stranger = new FakeAgent(server.Http, "agent-1", "host-1.example");
        var empty = stranger.Request(0);
        var attempts = new (string What, string? Header)[]
        {
            ("no credential", null),
            ("a wrong secret", new AgentCredential(Good.Principal, "windsurf").BasicHeader()),
            ("an unknown principal", new AgentCredential("stranger", Good.Secret).BasicHeader()),
            ("a malformed header", "Basic not-base64!"),
            ("another scheme", "Bearer " + Good.Secret),
        };
        foreach (var (what, header) in attempts)
        {
            using var response = await stranger.SendAsync(empty, authorization: header);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode == 401, $"{what}: answered {(int)response.StatusCode} {body}");
            Assert.Equal("AUTH_REQUIRED", JsonNode.Parse(body)!["error"]!["code"]!.GetValue<string>());
            Assert.Contains("Basic", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(Good.Secret, body, StringComparison.Ordinal);
        }

        Assert.Equal(before, server.Server.Runtime.Store.AppliedPosition);
        Assert.Equal(ScheduleStatus.Running, server.Server.Runtime.Store.Read(s => s.FindTask(taskId)!.Status));
        Assert.Equal(attempts.Length, logs.Count(RefusedCredentialsEvent));
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(Good.Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Reports_of_another_hosts_tasks_are_refused_logged_and_change_nothing()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        await using var server = await StartAsync(directory, logs);
        var agent = new FakeAgent(server.Http, "agent-1", "host-1.example") { Credential = Good };
        var taskId = await RunOneTaskAsync(server, agent);

        // A real agent (it holds the credential) on another host.
        var other = new FakeAgent(server.Http, "agent-2", "host-2.example") { Credential = Good };
        await other.HeartbeatAsync();
        var before = server.Server.Runtime.Store.AppliedPosition;

        other.Report(taskId, AgentTaskState.Starting);
        other.Report(taskId, AgentTaskState.Running);
        other.Report(taskId, AgentTaskState.Failed, "made up");
        var answer = await other.HeartbeatAsync();

        Assert.Equal(before, server.Server.Runtime.Store.AppliedPosition);
        Assert.Equal(ScheduleStatus.Running, server.Server.Runtime.Store.Read(s => s.FindTask(taskId)!.Status));
        Assert.Empty(answer.Launch);
        Assert.Equal(1, logs.Count(ForeignTasksEvent));
        Assert.Contains(logs.Entries, e => e.EventId == ForeignTasksEvent && e.Message.Contains(taskId, StringComparison.Ordinal) && e.Message.Contains("host-1.example", StringComparison.Ordinal));

        // A non-terminal report of it is answered with a kill: the task is not the reporting agent's to run.
        var running = new FakeAgent(server.Http, "agent-2", "host-2.example") { Credential = Good };
        running.Report(taskId, AgentTaskState.Running);
        var kill = Assert.Single((await running.HeartbeatAsync()).Kill);
        Assert.Equal(taskId, kill.TaskId);
        Assert.Equal(before, server.Server.Runtime.Store.AppliedPosition);
        Assert.Equal(ScheduleStatus.Running, server.Server.Runtime.Store.Read(s => s.FindTask(taskId)!.Status));
    }

    [Fact]
    public async Task A_heartbeat_reusing_an_agent_id_with_another_host_name_is_refused_and_the_agents_tasks_stay_running()
    {
        using var directory = new TempDirectory();
        string taskId;
        using (var logs = new CapturedLogs())
        {
            await using var server = await StartAsync(directory, logs);
            var agent = new FakeAgent(server.Http, "agent-1", "host-1.example") { Credential = Good };
            taskId = await RunOneTaskAsync(server, agent);
            var before = server.Server.Runtime.Store.AppliedPosition;

            await AssertImpostorRefusedAsync(server, logs, taskId, before);
            var (_, offers) = await server.GetAsync("/offers");
            var offer = Assert.Single(offers!.AsArray())!;
            Assert.Equal(("agent-1", "host-1.example"), (offer["agentId"]!.GetValue<string>(), offer["host"]!.GetValue<string>()));

            // The real agent goes on as before.
            agent.Report(taskId, AgentTaskState.Running);
            Assert.Empty((await agent.HeartbeatAsync()).Kill);
        }

        // After a restart the registry is empty: the binding comes from the log's host attributes.
        using (var logs = new CapturedLogs())
        {
            await using var server = await StartAsync(directory, logs, initialize: false);
            await AssertImpostorRefusedAsync(server, logs, taskId, server.Server.Runtime.Store.AppliedPosition);
        }
    }

    [Fact]
    public async Task Without_agent_credentials_heartbeats_stay_open_and_the_scheduler_warns_at_startup()
    {
        using var logs = new CapturedLogs();
        await using var server = await ServerHarness.StartAsync(loggers: logs.Factory);
        await new FakeAgent(server.Http, "agent-1", "host-1.example").HeartbeatAsync();
        Assert.Equal(1, logs.Count(3019));
        Assert.Equal(0, logs.Count(3020));
    }

    [Theory]
    [InlineData("agent-principal kitesurf\n", "agent-principal", "kitesurf")]
    [InlineData("\n  agent-principal\tkitesurf  \r\n\n", "agent-principal", "kitesurf")]
    [InlineData("{\"principal\": \"agent-principal\", \"secret\": \"kite surf\"}", "agent-principal", "kite surf")]
    public void The_agents_credential_file_takes_Mesos_forms(string text, string principal, string secret)
    {
        using var directory = new TempDirectory();
        var path = directory.Sub("credential");
        File.WriteAllText(path, text);

        var credential = AgentCredentialFile.LoadOne("credential", "file://" + path);

        Assert.Equal((principal, secret), (credential.Principal, credential.Secret));
        Assert.Equal(principal, credential.ToString());
    }

    [Theory]
    [InlineData("a s1\nb s2\n", 2)]
    [InlineData("{\"credentials\": [{\"principal\": \"a\", \"secret\": \"s1\"}, {\"principal\": \"b\", \"secret\": \"s2\"}]}", 2)]
    public void The_schedulers_credentials_file_takes_Mesos_forms(string text, int count)
    {
        using var directory = new TempDirectory();
        var path = directory.Sub("credentials");
        File.WriteAllText(path, text);

        var credentials = AgentCredentialFile.LoadAll("agent_credentials", path);

        Assert.Equal(count, credentials.Count);
        Assert.Equal(["a", "b"], credentials.Select(c => c.Principal));
    }

    [Theory]
    [InlineData("", "is empty")]
    [InlineData("\n \n", "is empty")]
    [InlineData("agent-principal\n", "line 1 has 1 word(s)")]
    [InlineData("a s1 extra\n", "line 1 has 3 word(s)")]
    [InlineData("a s1\nb s2\n", "holds 2 credentials")]
    [InlineData("{\"principal\": \"a\"}", "the secret of principal 'a' is missing or empty")]
    [InlineData("{\"principal\": \"a\", \"secret\": \"\"}", "the secret of principal 'a' is missing or empty")]
    [InlineData("{\"principal\": \"\", \"secret\": \"x\"}", "the principal is missing or empty")]
    [InlineData("{\"principal\": \"a:b\", \"secret\": \"x\"}", "may not hold ':'")]
    [InlineData("{\"principal\": \"a\", \"secret\": \"x\", \"extra\": 1}", "unknown field 'extra'")]
    [InlineData("{\"principal\": \"a\", ", "is not valid JSON")]
    public void A_bad_agent_credential_file_names_the_file_and_what_is_wrong(string text, string problem)
    {
        using var directory = new TempDirectory();
        var path = directory.Sub("credential");
        File.WriteAllText(path, text);

        var message = Assert.Throws<AgentCredentialFileException>(() => AgentCredentialFile.LoadOne("credential", path)).Message;

        Assert.StartsWith($"-credential={path}: ", message, StringComparison.Ordinal);
        Assert.Contains(problem, message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"credentials\": []}", "empty \"credentials\" list")]
    [InlineData("{\"principal\": \"a\", \"secret\": \"x\"}", "is JSON but not {\"credentials\"")]
    [InlineData("a s1\na s2\n", "gives principal 'a' 2 times")]
    [InlineData("a s1\nb\n", "line 2 has 1 word(s)")]
    public void A_bad_agent_credentials_file_stops_the_scheduler_with_the_file_and_the_problem(string text, string problem)
    {
        using var directory = new TempDirectory();
        var path = directory.Sub("credentials");
        File.WriteAllText(path, text);

        var message = Assert.Throws<UsageException>(() => Options($"-agent_credentials={path}")).Message;

        Assert.StartsWith($"-agent_credentials={path}: ", message, StringComparison.Ordinal);
        Assert.Contains(problem, message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_or_unreadable_credentials_file_stops_the_scheduler_naming_it()
    {
        using var directory = new TempDirectory();
        var missing = directory.Sub("nope");
        Assert.Equal($"-agent_credentials={missing}: no such file", Assert.Throws<UsageException>(() => Options($"-agent_credentials={missing}")).Message);
        Assert.Equal($"-agent_credentials={directory.Path}: is a directory, not a credential file", Assert.Throws<UsageException>(() => Options($"-agent_credentials={directory.Path}")).Message);
    }

    [Fact]
    public void Dev_generates_a_credential_for_its_agent_and_accepts_only_that_one()
    {
        using var directory = new TempDirectory();
        var options = ServerOptions.FromFlags(SchedulerFlags.Parse(["-dev", $"-dev_dir={directory.Path}"]));

        var credential = Assert.IsType<AgentCredential>(options.DevAgentCredential);
        var authenticator = Assert.IsType<Aurora.Scheduler.Server.Auth.AgentAuthenticator>(options.AgentAuthenticator);
        Assert.Equal(1, authenticator.Count);
        Assert.Equal(Aurora.Scheduler.Server.Auth.AuthenticationOutcome.Authenticated, authenticator.Authenticate(credential.BasicHeader()).Outcome);
        Assert.Equal(Aurora.Scheduler.Server.Auth.AuthenticationOutcome.Failed, authenticator.Authenticate(new AgentCredential(credential.Principal, "guess").BasicHeader()).Outcome);
        Assert.Null(ServerOptions.FromFlags(SchedulerFlags.Parse(["-dev", $"-dev_dir={directory.Path}", "-dev_agent=false"])).AgentAuthenticator);
    }

    [Fact]
    public async Task The_dev_cluster_runs_a_job_on_its_agent_through_the_generated_credential_and_a_stranger_is_refused()
    {
        using var directory = new TempDirectory();
        var options = ServerOptions.FromFlags(SchedulerFlags.Parse(["-dev", $"-dev_dir={directory.Sub("dev")}", "-http_port=0"]));
        var server = await SchedulerServer.StartAsync(options, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        try
        {
            await server.Runtime.WaitOpenedAsync(TimeSpan.FromSeconds(30));
            using var http = new HttpClient { BaseAddress = server.BaseUri };
            using var create = new HttpRequestMessage(HttpMethod.Post, "api/jobs") { Content = JsonContent.Create(new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job(instances: 1)) }) };
            create.Headers.Add("X-Aurora-User", "alice");
            using (var created = await http.SendAsync(create))
            {
                Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
            }

            await Eventually.HoldsAsync(
                "the job's task RUNNING on the -dev agent",
                () => server.Runtime.Store.Read(s => s.Tasks.Any(t => t.Status == ScheduleStatus.Running)),
                TimeSpan.FromSeconds(60),
                poll: TimeSpan.FromMilliseconds(50));

            var stranger = new FakeAgent(http, "stranger", "stranger-host");
            using var refused = await stranger.SendAsync(stranger.Request(0));
            Assert.Equal(401, (int)refused.StatusCode);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static ServerOptions Options(params string[] extra) =>
        ServerOptions.FromFlags(SchedulerFlags.Parse(["-cluster_name=east", "-native_log_file_path=/var/lib/aurora/db", "-backup_dir=/var/lib/aurora/backups", .. extra]));

    private static async Task AssertImpostorRefusedAsync(ServerHarness server, CapturedLogs logs, string taskId, ulong before)
    {
        // Holds the credential and the published agent id, claims another host, and holds none of the tasks.
        var impostor = new FakeAgent(server.Http, "agent-1", "host-2.example") { Credential = Good };
        using var response = await impostor.SendAsync(impostor.Request(0));
        var body = await response.Content.ReadAsStringAsync();

        Assert.True((int)response.StatusCode == 409, $"answered {(int)response.StatusCode} {body}");
        var error = JsonNode.Parse(body)!["error"]!;
        Assert.Equal("AGENT_ID_BOUND", error["code"]!.GetValue<string>());
        Assert.Contains("Agent id agent-1 is bound to host host-1.example", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(1, logs.Count(AgentIdBoundEvent));
        Assert.Equal(before, server.Server.Runtime.Store.AppliedPosition);
        Assert.Equal(ScheduleStatus.Running, server.Server.Runtime.Store.Read(s => s.FindTask(taskId)!.Status));
    }

    private static async Task<ServerHarness> StartAsync(TempDirectory directory, CapturedLogs logs, bool initialize = true)
    {
        var credentials = directory.Sub("agent-credentials");
        File.WriteAllText(credentials, $"{Good.Principal} {Good.Secret}\nother-principal other-secret\n");
        return await ServerHarness.StartAsync(directory.Path, initialize: initialize, extraFlags: [$"-agent_credentials={credentials}"], loggers: logs.Factory);
    }

    /// <summary>Creates a one-instance job, has <paramref name="agent"/> launch it and report it RUNNING.</summary>
    private static async Task<string> RunOneTaskAsync(ServerHarness server, FakeAgent agent)
    {
        await agent.HeartbeatAsync();
        Assert.Equal(200, (await server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job(instances: 1)) })).Status);
        var answer = await agent.HeartbeatUntilAsync(a => a.Launch.Count > 0, "a launch");
        var taskId = Assert.Single(answer.Launch).TaskId;
        agent.Report(taskId, AgentTaskState.Starting);
        agent.Report(taskId, AgentTaskState.Running);
        await agent.HeartbeatAsync();
        Assert.Equal(ScheduleStatus.Running, server.Server.Runtime.Store.Read(s => s.FindTask(taskId)!.Status));
        return taskId;
    }
}
