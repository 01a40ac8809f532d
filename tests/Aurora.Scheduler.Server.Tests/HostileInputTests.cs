using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Aurora.Agent.Protocol;
using Aurora.Scheduler.Server.Agents;
using Aurora.Scheduler.Server.Http;
using Aurora.Scheduler.Server.Tests.Support;

namespace Aurora.Scheduler.Server.Tests;

/// <summary>
/// Issue 12: what a hostile or careless caller found, each against a real server on loopback. Every
/// refusal is checked for its status and code, and for leaving the log exactly as it was.
/// </summary>
public sealed class HostileInputTests : IAsyncLifetime
{
    private ServerHarness _server = null!;

    public async Task InitializeAsync() => _server = await ServerHarness.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private ulong LastPosition => _server.Server.Runtime.Store.Read((_, applied) => applied);

    /// <summary>Finding 4: a chunked body is held to the same limit as one with a Content-Length.</summary>
    [Theory]
    [InlineData(700 * 1024, true)]
    [InlineData(700 * 1024, false)]
    [InlineData(3 << 20, true)]
    public async Task A_body_over_the_entry_size_is_refused_with_413_however_it_is_sent(int size, bool chunked)
    {
        var before = LastPosition;
        var job = ServerHarness.Job();
        job.Task.Metadata.Add(new Protos.Metadata { Key = "padding", Value = new string('x', size) });
        var body = Encoding.UTF8.GetBytes(new JsonObject { ["config"] = ServerHarness.Proto(job) }.ToJsonString());

        using var request = new HttpRequestMessage(HttpMethod.Post, "api/jobs") { Content = Content(body, chunked) };
        using var response = await _server.Http.SendAsync(request);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("TOO_LARGE", error["code"]!.GetValue<string>());
        Assert.Equal(before, LastPosition);
    }

    [Fact]
    public async Task A_chunked_body_within_the_limit_is_accepted()
    {
        var body = Encoding.UTF8.GetBytes(new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job()) }.ToJsonString());

        using var request = new HttpRequestMessage(HttpMethod.Post, "api/jobs") { Content = Content(body, chunked: true) };
        using var response = await _server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>Finding 5: a key given twice is a 400 naming the key, not a 500.</summary>
    [Theory]
    [InlineData("""{"config":{},"config":{}}""", "config")]
    [InlineData("""{"config":{"key":{"role":"a","role":"b"}}}""", "role")]
    public async Task A_duplicate_key_is_refused_with_400_naming_it(string json, string key)
    {
        var before = LastPosition;
        using var content = new StringContent(json, Encoding.UTF8, "application/json");

        using var response = await _server.Http.PostAsync("api/jobs", content);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("INVALID_REQUEST", error["code"]!.GetValue<string>());
        Assert.Contains($"Duplicate property '{key}'", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, LastPosition);
    }

    /// <summary>Findings 2 and 3, at the API: the names that wedged a cluster are refused before anything is written.</summary>
    [Theory]
    [InlineData("www-data", "prod", "..")]
    [InlineData(".hidden", "prod", "hello")]
    [InlineData("www-data", "prod", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    public async Task A_job_whose_names_could_not_be_used_is_refused(string role, string environment, string name)
    {
        var before = LastPosition;
        var job = ServerHarness.Job(name: name, role: role);
        job.Key.Environment = environment;
        job.Task.Job.Environment = environment;

        var (status, body) = await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(job) });

        Assert.Equal(400, status);
        Assert.Equal("INVALID_REQUEST", body!["error"]!["code"]!.GetValue<string>());
        Assert.Equal(before, LastPosition);
    }

    [Fact]
    public async Task Resources_no_agent_could_offer_are_refused()
    {
        var job = ServerHarness.Job();
        job.Task.Resources.NumCpus = 1e308;

        var (status, body) = await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(job) });

        Assert.Equal(400, status);
        Assert.Contains("more than any agent can offer", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"numCpus": 1, "ramMb": 1.5, "diskMb": 1}""", "\"ramMb\" must be a whole number")]
    [InlineData("""{"numCpus": 1, "ramMb": 1e300, "diskMb": 1}""", "\"ramMb\" must be a whole number")]
    [InlineData("""{"numCpus": 1e999, "ramMb": 1, "diskMb": 1}""", "\"numCpus\" must be a number")]
    [InlineData("""{"numCpus": 1e308, "ramMb": 1, "diskMb": 1}""", "is more than a role could ever use")]
    public async Task A_quota_that_is_not_an_amount_is_refused_rather_than_rounded(string json, string expected)
    {
        var before = LastPosition;
        using var request = new HttpRequestMessage(HttpMethod.Put, "api/quotas/www-data") { Content = new StringContent(json, Encoding.UTF8, "application/json") };

        using var response = await _server.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, LastPosition);
    }

    [Theory]
    [InlineData("host\nforged")]
    [InlineData("")]
    [InlineData(".host")]
    public async Task A_maintenance_request_for_a_host_no_agent_could_have_is_refused(string host)
    {
        var before = LastPosition;

        var (status, body) = await _server.PostAsync("/api/maintenance/drain", new JsonObject { ["hosts"] = new JsonArray(host) });

        Assert.Equal(400, status);
        Assert.Contains("\"hosts\": hostname", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, LastPosition);
    }

    /// <summary>Finding 9: the system's principals cannot be claimed, so the audit log never shows a person's act as the system's.</summary>
    [Theory]
    [InlineData("scheduler")]
    [InlineData("cron")]
    [InlineData("agent")]
    [InlineData("aurora-log recover")]
    public async Task A_system_principal_cannot_be_claimed_through_the_user_header(string principal)
    {
        var before = LastPosition;

        var (status, body) = await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job()) }, user: principal);

        Assert.Equal(403, status);
        Assert.Contains("is reserved for the scheduler's own entries", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, LastPosition);
    }

    [Fact]
    public async Task A_person_s_name_is_recorded_as_the_principal()
    {
        var (status, body) = await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job()) }, user: "carol");

        Assert.Equal(200, status);
        var position = body!["position"]!.GetValue<ulong>();
        Assert.Equal("carol", _server.Server.Runtime.Store.Log.Read(position, position).Single().Principal);
    }

    /// <summary>Finding 7: every string of a heartbeat is checked before anything is stored or published.</summary>
    [Theory]
    [MemberData(nameof(BadHeartbeats))]
    public async Task A_heartbeat_with_a_bad_field_is_refused_and_leaves_no_trace(string what, HeartbeatRequest heartbeat, string expected)
    {
        var before = LastPosition;

        using var response = await _server.Http.PostAsJsonAsync(AgentApi.HeartbeatPath.TrimStart('/'), heartbeat, AgentApi.Json);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        var (_, offers) = await _server.GetAsync("/offers");

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, what);
        Assert.Contains(expected, error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(before, LastPosition);
        Assert.Empty(offers!.AsArray());
    }

    public static TheoryData<string, HeartbeatRequest, string> BadHeartbeats()
    {
        var good = new FakeAgent(null!, "agent-1", "host-1").Request(0);
        return new()
        {
            { "huge host name", good with { Hostname = new string('h', 100_000) }, "a host name has at most 253" },
            { "NUL in host name", good with { Hostname = "host\0evil" }, "hostname 'host\\u0000evil' may hold only" },
            { "newline in host name", good with { Hostname = "host\nevil" }, "hostname 'host\\u000Aevil' may hold only" },
            { "newline in agent id", good with { AgentId = "agent\n1" }, "agentId 'agent\\u000A1' may hold only" },
            { "script link", good with { SandboxUrl = "javascript:alert(1)" }, "sandboxUrl 'javascript:alert(1)' must be an http:// or https:// URL" },
            { "a link with a password", good with { SandboxUrl = "http://user:pw@host-1:1338" }, "must be an http:// or https:// URL with a host and no user name" },
            { "control characters in an attribute", good with { Attributes = [new("rack", ["r1\r\nX-Injected: 1"])] }, "may not hold control characters" },
            { "a huge attribute value", good with { Attributes = [new("rack", [new string('r', 5000)])] }, "has 1 to 1024 characters" },
            { "a task id no agent can hold", good with { Tasks = [new TaskReport(new string('t', 300), [new TaskTransition(AgentTaskState.Running, 1, "ok")])] }, "at most 239 fit" },
            { "more CPUs than any machine", good with { Resources = good.Resources with { Cpus = 1e308 } }, "resources.cpus=1E+308 must be from 0 to 65536" },
            { "overlapping port ranges", good with { Resources = good.Resources with { Ports = [new PortRange(31000, 31010), new PortRange(31005, 31020)] } }, "31000-31010 and 31005-31020 overlap" },
        };
    }

    /// <summary>Free text is fitted, not refused: an agent must never lose its tasks over a message it passed on (a kill reason of many lines).</summary>
    [Fact]
    public void A_reported_message_is_kept_as_one_bounded_line()
    {
        var heartbeat = new FakeAgent(null!, "agent-1", "host-1").Request(0) with
        {
            Tasks = [new TaskReport("t-1", [new TaskTransition(AgentTaskState.Killed, 1, "Killed by alice.\nbecause\r\n" + new string('x', 10_000))])],
        };

        var message = AgentEndpoints.OwnReport(new Aurora.Scheduler.State.SchedulerState(), heartbeat, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, "agent").Tasks.Single().History.Single().Message;

        Assert.Null(ProtocolLimits.Problem(heartbeat));
        Assert.StartsWith("Killed by alice. because  xxx", message, StringComparison.Ordinal);
        Assert.Equal(ProtocolLimits.MaxMessageLength, message.Length);
        Assert.DoesNotContain(message, char.IsControl);
    }

    [Fact]
    public async Task A_heartbeat_with_a_duplicate_key_is_refused()
    {
        var json = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(new FakeAgent(null!, "agent-1", "host-1").Request(0), AgentApi.Json))!.ToJsonString();
        json = json.Replace("\"hostname\":\"host-1\"", "\"hostname\":\"host-1\",\"hostname\":\"host-2\"", StringComparison.Ordinal);
        using var content = new StringContent(json, Encoding.UTF8, "application/json");

        using var response = await _server.Http.PostAsync(AgentApi.HeartbeatPath.TrimStart('/'), content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(text.Contains("Duplicate property", StringComparison.Ordinal), text);
    }

    /// <summary>
    /// Finding 2, the scheduler's half: an agent that never holds a launch gets it again only as the
    /// back-off allows (1 s, then doubling), however fast it heartbeats.
    /// </summary>
    [Fact]
    public async Task A_launch_the_agent_never_holds_is_resent_no_faster_than_the_back_off()
    {
        var agent = new FakeAgent(_server.Http, "agent-1", "host-1");
        await agent.HeartbeatAsync();
        var (status, _) = await _server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job(instances: 1)) });
        Assert.Equal(200, status);
        var first = await agent.HeartbeatUntilAsync(a => a.Launch.Count > 0, "the launch");
        var taskId = first.Launch.Single().TaskId;

        var started = TimeProvider.System.GetTimestamp();
        var launches = 1;
        for (var beat = 0; beat < 200; beat++)
        {
            launches += (await agent.HeartbeatAsync()).Launch.Count;
        }

        var elapsed = TimeProvider.System.GetElapsedTime(started);

        // Sends at 0, 1, 3, 7, 15 ... s: within t seconds at most 2 + log2(1 + t).
        var allowed = 2 + (int)Math.Log2(1 + (elapsed / LaunchBackoff.FirstRetry));
        Assert.InRange(launches, 1, allowed);
        Assert.True(_server.Server.Runtime.Agents.Launches.TimesSent("agent-1", taskId) >= 1);

        // A long poll is woken when the repeat falls due, well before its wait runs out.
        var polled = TimeProvider.System.GetTimestamp();
        var again = await agent.HeartbeatAsync(waitMs: AgentApi.MaxWaitMs);
        Assert.Equal(taskId, again.Launch.Single().TaskId);
        Assert.True(TimeProvider.System.GetElapsedTime(polled) < TimeSpan.FromMilliseconds(AgentApi.MaxWaitMs), "the poll waited out its whole wait");
    }

    private static HttpContent Content(byte[] body, bool chunked)
    {
        HttpContent content = chunked ? new StreamContent(new UnknownLengthStream(body)) : new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        return content;
    }

    /// <summary>A stream that does not know its length, so HttpClient sends it chunked.</summary>
    private sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
