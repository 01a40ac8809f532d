using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Aurora.Cluster.Tests;

/// <summary>
/// A real cluster from dist/bin (./build.sh, run by ./test.sh before the tests):
/// <c>aurora-scheduler -dev</c> on a fixed free port (so agents find it again after a restart)
/// and <c>aurora-agent</c> processes, each with its own work dir, host name, attributes and port
/// range, plus the <c>aurora</c> and <c>aurora_admin</c> clients pointed at it.
/// </summary>
/// <remarks>The scheduler's agent timeout is short (3 s) so that lost agents are noticed within a test.</remarks>
public sealed partial class AgentCluster : IAsyncDisposable
{
    public static readonly TimeSpan AgentTimeout = TimeSpan.FromSeconds(3);

    private readonly TempDirectory _directory = new();
    private readonly Dictionary<string, (ChildProcess Process, string[] Args)> _agents = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly IReadOnlyList<string> _schedulerFlags;
    private ChildProcess? _scheduler;

    private AgentCluster(IReadOnlyList<string> schedulerFlags)
    {
        _schedulerFlags = schedulerFlags;
        Port = DistClients.FreePort();
        SchedulerUri = new Uri($"http://127.0.0.1:{Port}/");
        Directory.CreateDirectory(ConfigRoot);
        Directory.CreateDirectory(Home);
        File.WriteAllText(Path.Combine(ConfigRoot, "clusters.json"), new JsonArray(
            new JsonObject { ["name"] = "devcluster", ["scheduler_uri"] = SchedulerUri.ToString().TrimEnd('/'), ["auth_mechanism"] = "UNAUTHENTICATED" }).ToJsonString());
    }

    public static string DistBin => DistClients.DistBin;

    public string Root => _directory.Path;

    public string ConfigRoot => _directory.Sub("config");

    public string Home => _directory.Sub("home");

    public string DevDirectory => _directory.Sub("dev");

    public int Port { get; }

    public Uri SchedulerUri { get; }

    public ChildProcess Scheduler => _scheduler ?? throw new InvalidOperationException("the scheduler is not running");

    public static async Task<AgentCluster> StartAsync(params string[] schedulerFlags)
    {
        var cluster = new AgentCluster(schedulerFlags);
        try
        {
            await cluster.StartSchedulerAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async Task StartSchedulerAsync()
    {
        _scheduler = ChildProcess.Start(
            Path.Combine(DistBin, "aurora-scheduler"),
            ["-dev", $"-dev_dir={DevDirectory}", "-dev_agent=false", $"-http_port={Port}", $"-agent_timeout={AgentTimeout.TotalSeconds:0}secs", .. _schedulerFlags]);
        await _scheduler.WaitForLineAsync(Ready(), TimeSpan.FromMinutes(2));
    }

    /// <summary>kill -9 the scheduler (or SIGTERM it) and start it again on the same port and log.</summary>
    public async Task RestartSchedulerAsync(bool kill)
    {
        if (kill)
        {
            Scheduler.KillProcessOnly();
        }
        else
        {
            Scheduler.Terminate();
        }

        await Scheduler.WaitForExitAsync(TimeSpan.FromMinutes(1));
        Scheduler.Dispose();
        _scheduler = null;
        await StartSchedulerAsync();
    }

    /// <summary>Starts an agent named <paramref name="host"/> (its -hostname) with the given attributes and a port range of its own.</summary>
    public ChildProcess StartAgent(string host, string attributes, int firstPort)
    {
        string[] args =
        [
            $"-scheduler={SchedulerUri}",
            $"-work_dir={WorkDir(host)}",
            $"-hostname={host}",
            $"-attributes={attributes}",
            $"-resources=cpus:4;mem:4096;disk:8192;ports:[{firstPort}-{firstPort + 99}]",
            "-ip=127.0.0.1",
            "-http_port=0",
            "-heartbeat_wait=2secs",

            // Roles here (team) are not Unix users, and several agents share one machine: user switching and cgroups have their own tests.
            "-nosetuid",
            "-isolation=none",
        ];
        var agent = ChildProcess.Start(Path.Combine(DistBin, "aurora-agent"), args);
        _agents[host] = (agent, args);
        return agent;
    }

    /// <summary>Starts a stopped or killed agent again with its earlier flags and work dir.</summary>
    public ChildProcess RestartAgent(string host)
    {
        var (old, args) = _agents[host];
        old.Dispose();
        var agent = ChildProcess.Start(Path.Combine(DistBin, "aurora-agent"), args);
        _agents[host] = (agent, args);
        return agent;
    }

    /// <summary>kill -9 the agent alone: its tasks' processes live on, as when only the agent crashes.</summary>
    public async Task KillAgentAsync(string host)
    {
        var agent = _agents[host].Process;
        agent.KillProcessOnly();
        await agent.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    public string WorkDir(string host) => _directory.Sub(Path.Combine("agents", host));

    public ChildProcess AgentProcess(string host) => _agents[host].Process;

    /// <summary>How many heartbeats the agent on <paramref name="host"/> has had answered (its /state): proof that time passed in its loop.</summary>
    public async Task<long> HeartbeatsAnsweredAsync(string host)
    {
        var offers = (await GetAsync("offers")).AsArray();
        var sandbox = offers.Single(o => o!["host"]!.GetValue<string>() == host)!["sandboxUrl"]!.GetValue<string>();
        var state = JsonNode.Parse(await _http.GetStringAsync(new Uri(new Uri(sandbox), "/state")))!;
        return state["heartbeatsAnswered"]!.GetValue<long>();
    }

    public async Task WaitForAgentsAsync(params string[] hosts) =>
        await Eventually.HoldsAsync($"agents {string.Join(", ", hosts)} offering", async () =>
        {
            var offers = (await GetAsync("offers")).AsArray();
            var present = offers.Select(o => o!["host"]!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
            return hosts.All(present.Contains);
        });

    public async Task<JsonNode> GetAsync(string path)
    {
        using var response = await _http.GetAsync(new Uri(SchedulerUri, path));
        var body = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode
            ? JsonNode.Parse(body)!
            : throw new HttpRequestException($"GET {path}: {(int)response.StatusCode} {body}");
    }

    public async Task<JsonNode> SendAsync(HttpMethod method, string path, JsonNode? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(SchedulerUri, path)) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Add("X-Aurora-User", "tester");
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode
            ? JsonNode.Parse(text)!
            : throw new HttpRequestException($"{method} {path}: {(int)response.StatusCode} {text}", null, response.StatusCode);
    }

    /// <summary>Every task of the job (active and terminal), with events.</summary>
    public async Task<IReadOnlyList<JsonObject>> TasksAsync(string job, bool activeOnly = true)
    {
        var parts = job.Split('/');
        var tasks = await GetAsync($"api/tasks?role={parts[0]}&environment={parts[1]}&name={parts[2]}&events=true{(activeOnly ? "&active=true" : string.Empty)}");
        return tasks["tasks"]!.AsArray().Select(t => t!.AsObject()).ToList();
    }

    public static string Status(JsonObject task) => task["status"]!.GetValue<string>();

    public static string? Host(JsonObject task) => task["host"]?.GetValue<string>();

    /// <summary>Waits until every active task of the job is RUNNING and there are <paramref name="instances"/> of them.</summary>
    public async Task<IReadOnlyList<JsonObject>> WaitForRunningAsync(string job, int instances)
    {
        IReadOnlyList<JsonObject> tasks = [];
        await Eventually.HoldsAsync($"{instances} RUNNING instance(s) of {job}", async () =>
        {
            tasks = await TasksAsync(job);
            return tasks.Count == instances && tasks.All(t => Status(t) == "RUNNING");
        }, describe: () => Describe(tasks));
        return tasks;
    }

    public static string Describe(IEnumerable<JsonObject> tasks) =>
        string.Join("\n", tasks.Select(t => $"{t["instance"]} {Status(t)} {Host(t)} {t["message"]} {t["pendingReason"]}"));

    public Task<ClientRun> AuroraAsync(params string[] args) => RunClientAsync("aurora", args);

    public Task<ClientRun> AdminAsync(params string[] args) => RunClientAsync("aurora_admin", args);

    /// <summary>Writes a job file and returns its path.</summary>
    public string JobFile(string name, JsonNode content)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, content.ToJsonString());
        return path;
    }

    /// <summary>Kills the job and waits until its tasks are terminal and none of their processes is left on any agent.</summary>
    public async Task KillJobAndCheckNoProcessesLeftAsync(string job)
    {
        await SendAsync(HttpMethod.Post, $"api/jobs/{job}/kill", new JsonObject());
        await Eventually.HoldsAsync($"{job} has no active task", async () => (await TasksAsync(job)).Count == 0);
        await Eventually.HoldsAsync($"no process of {job} is left", () => ProcessesOf(job).Count == 0, describe: () => string.Join(", ", ProcessesOf(job)));
    }

    /// <summary>Processes running in a sandbox of one of the job's tasks (task ids start with role-environment-name-), on <paramref name="host"/> or any agent.</summary>
    public IReadOnlyList<int> ProcessesOf(string job, string? host = null)
    {
        var sandboxPrefix = $"/sandboxes/{job.Replace('/', '-')}-";
        return LocalProcesses.WorkingUnder(host is null ? Path.Combine(Root, "agents") : WorkDir(host), cwd => cwd.Contains(sandboxPrefix, StringComparison.Ordinal));
    }

    /// <summary>After each test, pass or fail: deschedules cron jobs, kills every job and ends all maintenance, so that a failed test leaves nothing behind for the next.</summary>
    public async Task KillEverythingAsync()
    {
        var jobs = (await GetAsync("api/jobs"))["jobs"]!.AsArray().Select(j => j!.AsObject()).ToList();
        foreach (var job in jobs)
        {
            var key = job["job"]!;
            var path = $"{key["role"]!.GetValue<string>()}/{key["environment"]!.GetValue<string>()}/{key["name"]!.GetValue<string>()}";
            if (job["cron"]?.GetValue<bool>() == true)
            {
                await SendAsync(HttpMethod.Delete, $"api/cron/{path}");
            }

            await SendAsync(HttpMethod.Post, $"api/jobs/{path}/kill", new JsonObject());
        }

        var inMaintenance = (await GetAsync("api/maintenance"))["hosts"]!.AsArray().Select(h => (JsonNode)h!["host"]!.GetValue<string>()).ToArray();
        if (inMaintenance.Length > 0)
        {
            await SendAsync(HttpMethod.Post, "api/maintenance/activate", new JsonObject { ["hosts"] = new JsonArray(inMaintenance) });
        }

        await Eventually.HoldsAsync("every task to end", async () => (await GetAsync("api/tasks?active=true"))["tasks"]!.AsArray().Count == 0);
        await Eventually.HoldsAsync("no task process left", () => LocalProcesses.WorkingUnder(Path.Combine(Root, "agents")).Count == 0);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (agent, _) in _agents.Values)
        {
            // A stopped agent leaves its tasks running (as a Mesos agent): tests kill their jobs first,
            // and whatever a failed test left behind is killed here so that no test leaks processes.
            agent.Terminate();
            await agent.WaitForExitAsync(TimeSpan.FromSeconds(30));
            agent.Dispose();
        }

        LocalProcesses.KillAll(LocalProcesses.WorkingUnder(Root));
        _scheduler?.Dispose();
        _http.Dispose();
        _directory.Dispose();
    }

    private Task<ClientRun> RunClientAsync(string tool, string[] args) => DistClients.RunAsync(tool, args, ConfigRoot, Home, Root);

    [GeneratedRegex("Storage is READY")]
    private static partial Regex Ready();
}
