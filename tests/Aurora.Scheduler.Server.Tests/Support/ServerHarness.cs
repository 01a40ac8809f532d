using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Http;
using Aurora.Storage.IO;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Scheduler.Server.Tests.Support;

/// <summary>A real aurora-scheduler (Kestrel on a free loopback port) over a temp directory, and an HTTP client for it.</summary>
internal sealed class ServerHarness : IAsyncDisposable
{
    private readonly TempDirectory? _ownedDirectory;

    private ServerHarness(SchedulerServer server, string directory, TempDirectory? owned)
    {
        Server = server;
        Directory = directory;
        _ownedDirectory = owned;
        Http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseUri };
    }

    public SchedulerServer Server { get; }

    public string Directory { get; }

    public string LogDirectory => Path.Combine(Directory, "log");

    public string BackupDirectory => Path.Combine(Directory, "backups");

    public HttpClient Http { get; }

    /// <param name="directory">Reuse a directory (a restart); a new temp directory when null.</param>
    /// <param name="initialize">Initialize the log as aurora-log initialize would.</param>
    public static async Task<ServerHarness> StartAsync(string? directory = null, bool initialize = true, IEnumerable<string>? extraFlags = null, bool waitReady = true, ILoggerFactory? loggers = null)
    {
        TempDirectory? owned = directory is null ? new TempDirectory() : null;
        var root = directory ?? owned!.Path;
        var log = Path.Combine(root, "log");
        if (initialize && !new ReplicaMetadataStore(PhysicalFileSystem.Instance, log).Exists)
        {
            Initialize(log);
        }

        var args = new List<string>
        {
            "-cluster_name=test", "-ip=127.0.0.1", "-http_port=0",
            $"-native_log_file_path={log}", $"-backup_dir={Path.Combine(root, "backups")}",
        };
        args.AddRange(extraFlags ?? []);
        var options = ServerOptions.FromFlags(SchedulerFlags.Parse(args));
        var server = await SchedulerServer.StartAsync(options, loggers ?? NullLoggerFactory.Instance);
        if (waitReady)
        {
            await server.Runtime.WaitOpenedAsync(TimeSpan.FromSeconds(30));
        }

        return new ServerHarness(server, root, owned);
    }

    /// <summary>What aurora-log initialize does: an empty VOTING replica.</summary>
    public static void Initialize(string log)
    {
        System.IO.Directory.CreateDirectory(log);
        new ReplicaMetadataStore(PhysicalFileSystem.Instance, log).Save(ReplicaMetadataStore.NewVoting(DateTimeOffset.UtcNow));
    }

    public async Task<(int Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, JsonNode? body = null, string? user = null, (string User, string Password)? basic = null)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        if (user is not null)
        {
            request.Headers.Add(RequestSecurity.UserHeader, user);
        }

        if (basic is { } credentials)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.User}:{credentials.Password}")));
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? json = null;
        if (response.Content.Headers.ContentType?.MediaType == "application/json" && text.Length > 0)
        {
            json = JsonNode.Parse(text);
        }
        else if (text.Length > 0)
        {
            json = JsonValue.Create(text);
        }

        return ((int)response.StatusCode, json);
    }

    public Task<(int Status, JsonNode? Body)> GetAsync(string path) => SendAsync(HttpMethod.Get, path);

    public Task<(int Status, JsonNode? Body)> PostAsync(string path, JsonNode? body = null, string? user = "alice") => SendAsync(HttpMethod.Post, path, body, user);

    public static JsonNode Proto(IMessage message) => JsonNode.Parse(JsonFormatter.Default.Format(message))!;

    public static JobConfiguration Job(string name = "hello", int instances = 2, string role = "www-data", string cron = "")
    {
        var key = JobKeys.Create(role, "prod", name);
        return new JobConfiguration
        {
            Key = key,
            InstanceCount = instances,
            CronSchedule = cron,
            Task = new TaskConfig
            {
                Job = key.Clone(),
                IsService = cron.Length == 0,
                Tier = "preemptible",
                MaxTaskFailures = 1,
                Resources = new Resources { NumCpus = 0.5, RamMb = 64, DiskMb = 64 },
                Processes = { new Process { Name = "main", Cmdline = "echo hello; sleep 60" } },
            },
        };
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        _ownedDirectory?.Dispose();
    }
}
