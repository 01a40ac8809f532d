using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Http;
using Aurora.Scheduler.Server.Tests.Support;
using Xunit.Abstractions;

namespace Aurora.Scheduler.Server.Tests.Fuzz;

/// <summary>
/// Issue 12's fuzzer of the HTTP API: thousands of random and mutated requests (job configurations,
/// updates, quotas, cron, maintenance, agent heartbeats, garbage) against a real server on loopback
/// with a real <c>aurora-agent</c> from dist/bin running what gets placed. After every case: every
/// answer came within a bound and was 2xx or 4xx, <c>/health</c> is OK, a refused request wrote
/// nothing to the log, every job the case created can be read, updated and killed (through the API,
/// and through the <c>aurora</c> client for a sample), and the agent's CPU stayed near idle.
/// </summary>
/// <remarks>
/// Seeded: a failure prints its seed and case; <c>AURORA_FUZZ_SEED=N</c> replays the requests (the
/// jobs a request picks among come from the live state, so a replay can differ where timing decides
/// what exists), <c>AURORA_FUZZ_LONG=1</c> (<c>./test.sh --long</c>) runs ten times as many cases,
/// <c>AURORA_FUZZ_CASES=N</c> runs N (<see cref="FuzzSettings"/>).
/// </remarks>
public sealed class ApiFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string RealAgentHost = "fuzz-real-agent";
    private const int Cases = 2000;
    private const int LongCases = 20_000;
    private const int QuietCheckEvery = 1000;
    private const int ClientChecks = 8;

    /// <summary>The longest any request may take to be answered (a held heartbeat waits at most 100 ms here).</summary>
    private static readonly TimeSpan RequestBound = TimeSpan.FromSeconds(20);

    private readonly TempDirectory _directory = new();
    private readonly HashSet<string> _acceptedAgents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _refusals = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TimeSpan> _time = new(StringComparer.Ordinal);
    private ServerHarness _server = null!;
    private ChildProcess _agent = null!;
    private HttpClient _http = null!;
    private string _configRoot = null!;
    private int _clientChecks;

    private SchedulerRuntime Runtime => _server.Server.Runtime;

    public async Task InitializeAsync()
    {
        _server = await ServerHarness.StartAsync(directory: _directory.Sub("scheduler"));
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = _server.Http.BaseAddress, Timeout = RequestBound };
        _configRoot = _directory.Sub("config");
        Directory.CreateDirectory(_configRoot);
        Directory.CreateDirectory(_directory.Sub("home"));
        await File.WriteAllTextAsync(System.IO.Path.Combine(_configRoot, "clusters.json"), new JsonArray(
            new JsonObject { ["name"] = "fuzz", ["scheduler_uri"] = _server.Http.BaseAddress!.ToString().TrimEnd('/'), ["auth_mechanism"] = "UNAUTHENTICATED" }).ToJsonString());
        _agent = ChildProcess.Start(System.IO.Path.Combine(DistClients.DistBin, "aurora-agent"),
        [
            $"-scheduler={_server.Http.BaseAddress}",
            $"-work_dir={_directory.Sub("agent")}",
            $"-hostname={RealAgentHost}",
            "-resources=cpus:4;mem:2048;disk:4096;ports:[42000-42099]",
            "-ip=127.0.0.1",
            "-http_port=0",
            "-heartbeat_wait=1secs",
        ]);
        await Eventually.HoldsAsync("the real agent to register", () => Runtime.Agents.Registry.Present().Any(a => a.Host == RealAgentHost), describe: () => _agent.Output);
    }

    public async Task DisposeAsync()
    {
        _agent.Terminate();
        await _agent.WaitForExitAsync(TimeSpan.FromSeconds(30));
        _agent.Dispose();
        LocalProcesses.KillAll(LocalProcesses.WorkingUnder(_directory.Sub("agent")));
        _http.Dispose();
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task No_request_wedges_the_scheduler_writes_half_a_command_or_creates_what_cannot_be_killed()
    {
        var settings = FuzzSettings.FromEnvironment(Cases, LongCases);
        output.WriteLine($"API fuzz: {settings.Replay}");
        var values = new FuzzValues(settings.Seed);
        var generator = new RequestGenerator(values, () => Runtime.Store.Read(state => state.JobKeys.ToList()), RealAgentHost);
        var statistics = new Dictionary<string, int>(StringComparer.Ordinal);
        var started = Stopwatch.StartNew();
        for (var index = 0; index < settings.Cases; index++)
        {
            var requests = Enumerable.Range(0, values.Between(1, 4)).Select(_ => generator.Next()).ToList();
            try
            {
                await RunCaseAsync(index, requests, values, statistics);
                if ((index + 1) % QuietCheckEvery == 0)
                {
                    await Timed("idle checks", AgentIsIdleWhenNothingChangesAsync);
                }
            }
            catch (Exception e)
            {
                throw new InvalidOperationException(
                    $"Fuzz case {index} failed, {settings.Replay}: {e.Message}\nRequests:\n{string.Join("\n", requests)}", e);
            }
        }

        await AgentIsIdleWhenNothingChangesAsync();
        output.WriteLine($"{settings.Cases} cases in {started.Elapsed.TotalSeconds:F0} s: "
            + string.Join(", ", statistics.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key} {s.Value}")));

        output.WriteLine("Time spent: " + string.Join(", ", _time.OrderByDescending(t => t.Value).Select(t => $"{t.Key} {t.Value.TotalSeconds:F1} s")));
        output.WriteLine("Most common refusals:\n" + string.Join("\n", _refusals.OrderByDescending(r => r.Value).Take(25).Select(r => $"{r.Value,6} {r.Key}")));

        // The run must have exercised both sides of every kind of request to prove anything.
        foreach (var kind in new[] { "CreateJob", "ScheduleCron", "StartUpdate", "SetQuota", "Maintenance", "Heartbeat" })
        {
            Assert.True(statistics.GetValueOrDefault($"{kind} 2xx") > 0, $"no {kind} was accepted in {settings.Cases} cases");
            Assert.True(statistics.GetValueOrDefault($"{kind} 4xx") > 0, $"no {kind} was refused in {settings.Cases} cases");
        }
    }

    private async Task RunCaseAsync(int index, List<FuzzRequest> requests, FuzzValues values, Dictionary<string, int> statistics)
    {
        var principal = $"fuzz-{index}";
        var cpuBefore = AgentCpu();
        var wall = Stopwatch.StartNew();
        var jobs = new Dictionary<JobKey, bool>(); // true: created by CreateJob, false: only by an update
        var crons = new HashSet<JobKey>();
        foreach (var request in requests)
        {
            var before = Runtime.Store.AppliedPosition;
            var sent = await Timed("requests", () => SendAsync(request, request.Kind == FuzzKind.Heartbeat ? null : principal));
            if (sent is not { } answer)
            {
                Count(statistics, $"{request.Kind} unsendable");
                continue;
            }

            Assert.True(answer.Status < 500, $"{request.Kind} was answered {answer.Status}: {answer.Body}");
            Count(statistics, $"{request.Kind} {answer.Status / 100}xx");
            if (answer.Status >= 400)
            {
                var reason = answer.Body is JsonObject { } error && error["error"]?["message"] is JsonValue message ? message.ToString() : $"{answer.Status} {answer.Body}";
                Count(_refusals, $"{request.Kind}: {new string([.. reason.Take(70).Select(c => char.IsControl(c) ? ' ' : c)])}");
                NothingWasWritten(before, principal, request);
                continue;
            }

            Remember(request, answer.Body, jobs, crons);
        }

        var (health, healthBody) = await _server.GetAsync("/health");
        Assert.True(health == 200, $"/health answered {health}: {healthBody}");

        foreach (var (job, created) in jobs.Where(j => !crons.Contains(j.Key)))
        {
            await Timed("job checks", () => JobCanBeReadUpdatedAndKilledAsync(job, created, values));
        }

        foreach (var cron in crons)
        {
            await Timed("cron checks", () => CronJobCanBeReadRescheduledAndDescheduledAsync(cron));
        }

        await SendOkAsync(HttpMethod.Post, "/api/maintenance/activate", new JsonObject { ["hosts"] = new JsonArray(RealAgentHost, "fuzz-host-0", "fuzz-host-1", "fuzz-host-2", "fuzz-host-3") });

        // A busy loop takes a whole core; what a case legitimately costs the agent (a launch, a kill) is a fraction of it.
        var cpu = AgentCpu() - cpuBefore;
        Assert.True(cpu <= (wall.Elapsed * 0.5) + TimeSpan.FromMilliseconds(500), $"the agent used {cpu.TotalMilliseconds:F0} ms of CPU in a case of {wall.Elapsed.TotalMilliseconds:F0} ms");
    }

    /// <summary>A refused request left no entry of its own behind, and a refused heartbeat registered nothing.</summary>
    private void NothingWasWritten(ulong before, string principal, FuzzRequest request)
    {
        var written = EntriesAfter(before).Where(e => e.Principal == principal).ToList();
        Assert.True(written.Count == 0, $"a refused {request.Kind} wrote {written.Count} log entries (first at position {written.FirstOrDefault()?.Position})");
        if (request.Kind == FuzzKind.Heartbeat && request.AgentId is { } agentId && !_acceptedAgents.Contains(agentId))
        {
            Assert.Null(Runtime.Agents.Registry.Find(agentId));
            var saved = EntriesAfter(before)
                .Where(e => e.Principal == Principals.Agent)
                .SelectMany(e => TransactionCodec.Decode(e).Events)
                .Where(e => e.KindCase == Event.KindOneofCase.HostAttributesSaved && e.HostAttributesSaved.Attributes.AgentId == agentId);
            Assert.Empty(saved);
        }
    }

    private IEnumerable<Storage.Protos.LogEntry> EntriesAfter(ulong before)
    {
        var last = Runtime.Store.AppliedPosition;
        return last > before ? Runtime.Store.Log.Read(before + 1, last).ToList() : [];
    }

    private void Remember(FuzzRequest request, JsonNode? answer, Dictionary<JobKey, bool> jobs, HashSet<JobKey> crons)
    {
        switch (request.Kind)
        {
            case FuzzKind.CreateJob when answer is JsonObject created && created["job"] is JsonObject key:
                jobs[KeyOf(key)] = true;
                break;
            case FuzzKind.ScheduleCron:
                // The path names the job (the body's key must match it).
                var parts = request.Path.Split('/');
                crons.Add(JobKeys.Create(Uri.UnescapeDataString(parts[3]), Uri.UnescapeDataString(parts[4]), Uri.UnescapeDataString(parts[5])));
                break;
            case FuzzKind.StartUpdate when answer is JsonObject started && started["key"] is JsonObject update && update["job"] is JsonObject key:
                // An update may create the job it updates.
                jobs.TryAdd(KeyOf(key), false);
                break;
            case FuzzKind.Heartbeat when request.AgentId is { } agentId:
                _acceptedAgents.Add(agentId);
                break;
        }
    }

    private async Task JobCanBeReadUpdatedAndKilledAsync(JobKey job, bool created, FuzzValues values)
    {
        var path = PathOf(job);

        // Whatever update the case left running is aborted first: a job is updated by one update at a time.
        var (_, updates) = await _server.GetAsync($"/api/updates?role={Uri.EscapeDataString(job.Role)}&environment={Uri.EscapeDataString(job.Environment)}&name={Uri.EscapeDataString(job.Name)}&statuses=ROLLING_FORWARD,ROLLING_BACK,ROLL_FORWARD_PAUSED,ROLL_BACK_PAUSED,ROLL_FORWARD_AWAITING_PULSE,ROLL_BACK_AWAITING_PULSE");
        foreach (var update in updates!["updates"]!.AsArray())
        {
            await SendOkAsync(HttpMethod.Post, $"/api/updates/{path}/{Uri.EscapeDataString(update!["key"]!["id"]!.GetValue<string>())}/abort", new JsonObject());
        }

        var (status, view) = await _server.GetAsync($"/api/jobs/{path}");
        if (status == 404 && !created)
        {
            // An update that creates a job adds its instances as it goes: aborted before the first, there is no job.
            Assert.Equal(0, Runtime.Store.Read(state => state.ActiveInstances(job).Count));
            return;
        }

        Assert.True(status == 200, $"accepted job {job.Canonical()} cannot be read: {status} {view}");

        if (view!["config"] is JsonObject config && config["task"] is JsonNode task)
        {
            // A change to make, so that the update has work to do: a metadata entry of its own.
            var changed = task.DeepClone().AsObject();
            var metadata = changed["metadata"] as JsonArray ?? [];
            metadata.Add(new JsonObject { ["key"] = "fuzz-update", ["value"] = Guid.NewGuid().ToString() });
            changed["metadata"] = metadata.DeepClone();
            var active = Runtime.Store.Read(state => state.ActiveInstances(job).Count);
            var request = new JsonObject
            {
                ["request"] = new JsonObject
                {
                    ["task"] = changed,
                    ["instanceCount"] = Math.Max(1, active),
                    ["settings"] = new JsonObject { ["strategy"] = new JsonObject { ["queue"] = new JsonObject { ["groupSize"] = 1 } } },
                },
            };
            var (updated, answer) = await SendJsonAsync(HttpMethod.Post, "/api/updates", request);
            // Refusals that are the rules, not a wedge: Aurora updates services only, and within the role's quota.
            var refusal = updated == 400 ? answer?["error"]?["message"]?.GetValue<string>() ?? string.Empty : string.Empty;
            var isService = task["isService"]?.GetValue<bool>() == true;
            var expected = refusal.Contains("quota", StringComparison.OrdinalIgnoreCase)
                || (!isService && refusal == "Updates are not supported for non-service tasks.");
            Assert.True(updated == 200 || expected, $"accepted job {job.Canonical()} cannot be updated: {updated} {answer}");
            if (updated == 200)
            {
                var id = answer!["key"]?["id"]?.GetValue<string>() ?? throw new InvalidOperationException($"the update of {job.Canonical()} changed nothing: {answer}");
                await SendOkAsync(HttpMethod.Post, $"/api/updates/{path}/{Uri.EscapeDataString(id)}/abort", new JsonObject());
            }
        }

        if (_clientChecks < ClientChecks && values.Chance(0.2))
        {
            _clientChecks++;
            var status2 = await Timed("clients", () => ClientAsync("aurora", ["job", "status", $"fuzz/{job.Canonical()}", "--json"]));
            Assert.True(status2.ExitCode == 0, $"aurora job status fuzz/{job.Canonical()}: {status2}");
            var killed = await Timed("clients", () => ClientAsync("aurora", ["job", "killall", $"fuzz/{job.Canonical()}"]));
            Assert.True(killed.ExitCode == 0, $"aurora job killall fuzz/{job.Canonical()}: {killed}");
        }
        else
        {
            await SendOkAsync(HttpMethod.Post, $"/api/jobs/{path}/kill", new JsonObject());
        }

        var alive = Runtime.Store.Read(state => state.ActiveInstances(job).Values.Where(t => !TaskStatuses.IsTerminal(t.Status) && t.Status != ScheduleStatus.Killing).Select(t => $"{t.TaskId} {t.Status}").ToList());
        Assert.True(alive.Count == 0, $"after the kill of {job.Canonical()}, tasks are still {string.Join(", ", alive)}");
    }

    private async Task CronJobCanBeReadRescheduledAndDescheduledAsync(JobKey job)
    {
        var path = PathOf(job);
        var (status, view) = await _server.GetAsync($"/api/cron/{path}");
        Assert.True(status == 200, $"accepted cron job {job.Canonical()} cannot be read: {status} {view}");
        await SendOkAsync(HttpMethod.Put, $"/api/cron/{path}", new JsonObject { ["config"] = view!["config"]!.DeepClone() });
        await SendOkAsync(HttpMethod.Delete, $"/api/cron/{path}", null);
        if (Runtime.Store.Read(state => state.ActiveInstances(job).Count) > 0)
        {
            await SendOkAsync(HttpMethod.Post, $"/api/jobs/{path}/kill", new JsonObject());
        }
    }

    /// <summary>
    /// With nothing to do, the agent only long-polls and watches its processes: over a window of
    /// several answered heartbeats (proof that time passed with the agent in its loop), it uses a
    /// small fraction of a core. Tasks still finishing (a finalizer's wait) cost it next to nothing.
    /// </summary>
    private async Task AgentIsIdleWhenNothingChangesAsync()
    {
        var real = Runtime.Agents.Registry.Present().SingleOrDefault(a => a.Host == RealAgentHost)
            ?? throw new InvalidOperationException($"the real agent is no longer heard from; its last lines:\n{AgentTail()}");
        var sandbox = new Uri(real.SandboxUrl!);

        var (used, wall) = await IdleProcess.MeasureAsync(_agent.Id, () => HeartbeatsAnsweredAsync(sandbox), AgentTail);
        output.WriteLine($"idle agent: {used.TotalMilliseconds:F0} ms of CPU in {wall.TotalMilliseconds:F0} ms ({used / wall:P0})");
        Assert.True(used < wall * IdleProcess.MaxIdleShare, $"the idle agent used {used.TotalMilliseconds:F0} ms of CPU in {wall.TotalMilliseconds:F0} ms; its active tasks: {ActiveOnRealAgent()}");
    }

    /// <summary>The jobs with active tasks on the real agent, and how many, for failure messages.</summary>
    private string ActiveOnRealAgent() => Runtime.Store.Read(state => string.Join(", ", state.TasksOnHost(RealAgentHost)
        .Where(t => !TaskStatuses.IsTerminal(t.Status))
        .GroupBy(t => t.Config.Job.Canonical())
        .Select(g => $"{g.Key} x{g.Count()} ({string.Join("/", g.Select(t => TaskStatuses.Name(t.Status)).Distinct())})")))
        + $"; the agent holds {Directory.EnumerateFiles(System.IO.Path.Combine(_directory.Sub("agent"), "checkpoints")).Count()} checkpoint(s) and {Directory.EnumerateDirectories(System.IO.Path.Combine(_directory.Sub("agent"), "sandboxes")).Count()} sandbox(es)";

    private string AgentTail() => string.Join("\n", _agent.Lines.TakeLast(20));

    private async Task<long> HeartbeatsAnsweredAsync(Uri sandbox)
    {
        using var response = await _http.GetAsync(new Uri(sandbox, "/state"));
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["heartbeatsAnswered"]!.GetValue<long>();
    }

    private TimeSpan AgentCpu() => IdleProcess.CpuOf(_agent.Id);

    /// <summary>Sends a fuzz request; null when the client itself cannot express it (an unusable URL).</summary>
    private async Task<(int Status, JsonNode? Body)?> SendAsync(FuzzRequest request, string? principal)
    {
        HttpRequestMessage message;
        try
        {
            message = new HttpRequestMessage(request.Method, new Uri(request.Path.TrimStart('/'), UriKind.Relative));
        }
        catch (Exception e) when (e is UriFormatException or ArgumentException)
        {
            return null;
        }

        using (message)
        {
            if (request.Body is { } body)
            {
                message.Content = request.Chunked ? new StreamContent(new UnknownLengthStream(body)) : new ByteArrayContent(body);
                message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            }

            if (principal is not null)
            {
                message.Headers.TryAddWithoutValidation(RequestSecurity.UserHeader, principal);
            }

            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(message);
            }
            catch (HttpRequestException e) when (e.InnerException is UriFormatException or ArgumentException or NotSupportedException)
            {
                return null;
            }
            catch (TaskCanceledException)
            {
                throw new TimeoutException($"no answer to {request.Kind} {request.Method} {request.Path} within {RequestBound.TotalSeconds} s");
            }
            catch (HttpRequestException) when (RequestLineBytes(message) > KestrelMaxRequestLineBytes)
            {
                // Kestrel answers 414 to a request line over its limit and closes the connection at
                // once, so a client still writing the body sees the connection reset instead. The
                // server is fine (every case ends by checking it answers), and no valid request's
                // line comes near the limit (job keys are at most 193 characters).
                return (414, JsonValue.Create("request line too long: the server closed the connection"));
            }
            catch (HttpRequestException e)
            {
                throw new InvalidOperationException($"{request.Kind} {request.Method} {request.Path} got no answer: {e.Message} {e.InnerException?.Message}", e);
            }

            using (response)
            {
                var text = await response.Content.ReadAsStringAsync();
                JsonNode? json = null;
                if (response.Content.Headers.ContentType?.MediaType == "application/json" && text.Length > 0)
                {
                    json = JsonNode.Parse(text);
                }

                return ((int)response.StatusCode, json ?? JsonValue.Create(text));
            }
        }
    }

    /// <summary>Kestrel's default <c>MaxRequestLineSize</c>, which the server keeps.</summary>
    private const int KestrelMaxRequestLineBytes = 8 * 1024;

    private int RequestLineBytes(HttpRequestMessage message) =>
        message.Method.Method.Length + new Uri(_http.BaseAddress!, message.RequestUri!).PathAndQuery.Length + " HTTP/1.1\r\n".Length + 1;

    private async Task<(int Status, JsonNode? Body)> SendJsonAsync(HttpMethod method, string path, JsonNode? body) =>
        await _server.SendAsync(method, path, body, user: "fuzz-checker");

    private async Task SendOkAsync(HttpMethod method, string path, JsonNode? body)
    {
        var (status, answer) = await SendJsonAsync(method, path, body);
        Assert.True(status == 200, $"{method} {path} answered {status}: {answer}");
    }

    private Task<ClientRun> ClientAsync(string tool, IReadOnlyList<string> args) =>
        DistClients.RunAsync(tool, args, _configRoot, _directory.Sub("home"), _directory.Path);

    private static JobKey KeyOf(JsonObject key) =>
        JobKeys.Create(key["role"]!.GetValue<string>(), key["environment"]!.GetValue<string>(), key["name"]!.GetValue<string>());

    private static string PathOf(JobKey job) => $"{Uri.EscapeDataString(job.Role)}/{Uri.EscapeDataString(job.Environment)}/{Uri.EscapeDataString(job.Name)}";

    private async Task Timed(string what, Func<Task> work) => await Timed(what, async () => { await work(); return true; });

    private async Task<T> Timed<T>(string what, Func<Task<T>> work)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await work();
        }
        finally
        {
            _time[what] = _time.GetValueOrDefault(what) + Stopwatch.GetElapsedTime(started);
        }
    }

    private static void Count(Dictionary<string, int> statistics, string what) => statistics[what] = statistics.GetValueOrDefault(what) + 1;

    /// <summary>A stream that does not know its length, so the request goes chunked.</summary>
    private sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
