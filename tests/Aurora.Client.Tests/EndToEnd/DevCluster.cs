using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Aurora.Client.Tests.EndToEnd;

/// <summary>
/// The built executables in dist/bin (./build.sh, run by ./test.sh before the tests) and a real
/// <c>aurora-scheduler -dev</c> they talk to, with its own clusters.json, home directory and ports.
/// </summary>
public partial class DevCluster : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private ChildProcess? _scheduler;

    public static string DistBin => DistClients.DistBin;

    public string Root => _directory.Path;

    public string Home => _directory.Sub("home");

    public string ConfigRoot => _directory.Sub("config");

    public string DevDirectory => _directory.Sub("dev");

    public Uri SchedulerUri { get; private set; } = null!;

    /// <summary>Scheduler flags beyond -dev; a subclass adds authentication.</summary>
    protected virtual IEnumerable<string> ExtraFlags => [];

    /// <summary>Whether -dev runs its agent. Off by default so that the client tests see tasks stay PENDING, deterministically.</summary>
    protected virtual bool WithAgent => false;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Home);
        Directory.CreateDirectory(ConfigRoot);
        _scheduler = ChildProcess.Start(Path.Combine(DistBin, "aurora-scheduler"), ["-dev", $"-dev_dir={DevDirectory}", "-http_port=0", $"-dev_agent={(WithAgent ? "true" : "false")}", .. ExtraFlags]);
        var listening = await _scheduler.WaitForLineAsync(Listening(), TimeSpan.FromMinutes(2));
        SchedulerUri = new Uri(listening.Groups["url"].Value.TrimEnd('/') + "/");
        await _scheduler.WaitForLineAsync(Ready(), TimeSpan.FromMinutes(2));
        WriteClusters(new JsonArray(
            new JsonObject { ["name"] = "devcluster", ["scheduler_uri"] = SchedulerUri.ToString().TrimEnd('/'), ["auth_mechanism"] = AuthMechanism },
            new JsonObject { ["name"] = "downcluster", ["scheduler_uri"] = "http://127.0.0.1:9" }));
    }

    protected virtual string AuthMechanism => "UNAUTHENTICATED";

    public void WriteClusters(JsonArray clusters) =>
        File.WriteAllText(Path.Combine(ConfigRoot, "clusters.json"), clusters.ToJsonString());

    public async Task DisposeAsync()
    {
        if (_scheduler is { } scheduler)
        {
            // SIGTERM first: the -dev agent then kills its tasks; Dispose kills whatever is left.
            scheduler.Terminate();
            await scheduler.WaitForExitAsync(TimeSpan.FromSeconds(30));
            scheduler.Dispose();
        }

        _directory.Dispose();
    }

    public Task<ClientRun> AuroraAsync(params string[] args) => RunAsync("aurora", args);

    public Task<ClientRun> AdminAsync(params string[] args) => RunAsync("aurora_admin", args);

    /// <summary>Writes a job file into the cluster's directory and returns its path.</summary>
    public string JobFile(string name, string content)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, content);
        return path;
    }

    private Task<ClientRun> RunAsync(string tool, string[] args) => DistClients.RunAsync(tool, args, ConfigRoot, Home, Root);

    [GeneratedRegex(@"listening on (?<url>http://\S+)")]
    private static partial Regex Listening();

    [GeneratedRegex("Storage is READY")]
    private static partial Regex Ready();
}
