using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Aurora.Admin;
using Aurora.Cli;

namespace Aurora.Client.Tests.Commands;

/// <summary>What one command run left behind.</summary>
internal sealed record CliResult(int Exit, string Stdout, string Stderr)
{
    public JsonNode Json => JsonNode.Parse(Stdout)!;

    public override string ToString() => $"exit {Exit}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// A client environment of its own for one test: a temp home, a config root with a clusters.json
/// naming the fake scheduler as cluster <c>test</c>, no system directory, and fast polling.
/// </summary>
internal sealed class CliHarness : IDisposable
{
    public const string User = "alice";

    private readonly TempDirectory _directory = new();

    public CliHarness(Uri? scheduler = null, string auth = "UNAUTHENTICATED")
    {
        Directory.CreateDirectory(ConfigRoot);
        Directory.CreateDirectory(Home);
        if (scheduler is not null)
        {
            WriteClusters($$"""[{"name": "test", "scheduler_uri": "{{scheduler}}", "auth_mechanism": "{{auth}}"}]""");
        }

        Environment = new ClientEnvironment
        {
            Variables = new Dictionary<string, string> { ["AURORA_CONFIG_ROOT"] = ConfigRoot },
            HomeDirectory = Home,
            SystemConfigDirectory = _directory.Sub("etc-aurora"),
            UserName = User,
            PollInterval = TimeSpan.FromMilliseconds(5),
            RequestTimeout = TimeSpan.FromSeconds(20),
        };
    }

    public string ConfigRoot => _directory.Sub("config");

    public string Home => _directory.Sub("home");

    public ClientEnvironment Environment { get; set; }

    public void WriteClusters(string json) => File.WriteAllText(Path.Combine(ConfigRoot, "clusters.json"), json);

    public void WriteNetrc(string text) => File.WriteAllText(Path.Combine(Home, ".netrc"), text);

    /// <summary>Writes a file in the test's directory and returns its path.</summary>
    public string WriteFile(string name, string text)
    {
        var path = _directory.Sub(name);
        File.WriteAllText(path, text);
        return path;
    }

    public Task<CliResult> AuroraAsync(params string[] args) => RunAsync(AuroraCli.RunAsync, args);

    public Task<CliResult> AdminAsync(params string[] args) => RunAsync(AdminCli.RunAsync, args);

    private async Task<CliResult> RunAsync(Func<IReadOnlyList<string>, TextWriter, TextWriter, ClientEnvironment, CancellationToken, Task<int>> entry, string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var exit = await entry(args, stdout, stderr, Environment, timeout.Token);
        return new CliResult(exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A loopback port nothing listens on: bound and released, so connecting is refused.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public void Dispose() => _directory.Dispose();
}

/// <summary>Canned scheduler JSON.</summary>
internal static class Canned
{
    public static string Write(string message = "ok", long position = 7) =>
        new JsonObject { ["message"] = message, ["position"] = position }.ToJsonString();

    public static JsonObject Task(int instance, string status, string? host = null, string taskId = "", string name = "hello", string? statusTime = null) => new()
    {
        ["taskId"] = taskId.Length > 0 ? taskId : $"www-data-prod-{name}-{instance}-{status.ToLowerInvariant()}",
        ["job"] = new JsonObject { ["role"] = "www-data", ["environment"] = "prod", ["name"] = name },
        ["instance"] = instance,
        ["status"] = status,
        ["host"] = host,
        ["statusTime"] = statusTime ?? "2026-12-02T20:15:00.000Z",
    };

    public static string Tasks(params JsonObject[] tasks) => new JsonObject { ["tasks"] = new JsonArray(tasks) }.ToJsonString();

    public static JsonObject Update(string id, string status, string createdAt = "2026-12-02T20:15:00.000Z", string name = "hello") => new()
    {
        ["key"] = new JsonObject
        {
            ["job"] = new JsonObject { ["role"] = "www-data", ["environment"] = "prod", ["name"] = name },
            ["id"] = id,
        },
        ["status"] = status,
        ["user"] = "alice",
        ["createdAt"] = createdAt,
        ["lastModifiedAt"] = createdAt,
        ["message"] = null,
    };

    public static string Updates(params JsonObject[] updates) => new JsonObject { ["updates"] = new JsonArray(updates) }.ToJsonString();

    public const string HelloJob = """
        {
          "jobs": [
            {
              "cluster": "test",
              "role": "www-data",
              "environment": "prod",
              "name": "hello",
              "instances": 2,
              "service": true,
              "task": {
                "processes": [{"name": "hello", "cmdline": "echo hello; sleep 3600"}],
                "resources": {"cpu": 0.5, "ram": "64MB", "disk": "128MB"}
              },
              "update_config": {"batch_size": 2, "watch_secs": 10}
            }
          ]
        }
        """;

    public const string CronJob = """
        {
          "jobs": [
            {
              "cluster": "test",
              "role": "www-data",
              "environment": "prod",
              "name": "cleanup",
              "cron_schedule": "*/15 * * * *",
              "task": {
                "processes": [{"name": "cleanup", "cmdline": "echo cleaning"}],
                "resources": {"cpu": 0.1, "ram": "32MB", "disk": "32MB"}
              }
            }
          ]
        }
        """;
}
