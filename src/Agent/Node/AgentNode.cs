using System.Net;
using System.Text.Json;
using Aurora.Agent.Executor;
using Aurora.Agent.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aurora.Agent.Node;

/// <summary>
/// A running agent: the executor with the tasks it recovered, the sandbox HTTP server and the
/// heartbeat loop. Hosted by <c>aurora-agent</c>, and in-process by the scheduler's -dev mode and tests.
/// </summary>
/// <remarks>
/// <see cref="StartAsync"/> recovers the executor's tasks first (so the first heartbeat carries the
/// whole inventory), then serves HTTP, then heartbeats. <see cref="StopAsync"/> leaves tasks running,
/// as a Mesos agent does, for the next start to reattach; the first stop wins, later calls wait for it.
/// </remarks>
public sealed class AgentNode : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly Lock _stopLock = new();
    private HeartbeatLoop? _heartbeats;
    private SandboxCollector? _collector;
    private Task? _stopped;

    private AgentNode(AgentOptions options, string agentId, ITaskExecutor executor, WebApplication app, HttpClient http, ILogger logger)
    {
        Options = options;
        AgentId = agentId;
        Executor = executor;
        _app = app;
        _http = http;
        _logger = logger;
    }

    public AgentOptions Options { get; }

    /// <summary>Kept in <c>{work_dir}/meta/agent_id</c>; the same across restarts.</summary>
    public string AgentId { get; }

    /// <summary>Where the sandbox HTTP server actually listens, e.g. <c>http://127.0.0.1:5051/</c> (the bound port when -http_port=0).</summary>
    public Uri SandboxUri { get; private set; } = new("http://127.0.0.1/");

    public ITaskExecutor Executor { get; }

    /// <summary>Heartbeats the scheduler has answered so far.</summary>
    public long HeartbeatsAnswered => _heartbeats?.Answers ?? 0;

    /// <param name="executorFactory">Builds the executor; the real <see cref="TaskExecutor"/> when null.</param>
    /// <exception cref="IOException">The work dir or the HTTP port cannot be used.</exception>
    /// <exception cref="ArgumentException">The host name or attributes break <see cref="ProtocolLimits"/>.</exception>
    public static async Task<AgentNode> StartAsync(AgentOptions options, ILoggerFactory loggers, Func<ExecutorOptions, ITaskExecutor>? executorFactory = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        if ((ProtocolLimits.HostnameProblem(options.Hostname) ?? AgentFlags.AttributesProblem(options.Attributes, "attributes")) is { } problem)
        {
            // The scheduler would refuse every heartbeat: fail here, where the cause is known.
            throw new ArgumentException($"The agent's options break the agent protocol: {problem}", nameof(options));
        }

        var logger = loggers.CreateLogger("Aurora.Agent");
        Directory.CreateDirectory(options.WorkDir);
        var agentId = AgentIdentity.LoadOrCreate(options.WorkDir, options.Hostname);
        var executorOptions = new ExecutorOptions(options.WorkDir, options.Hostname, agentId)
        {
            DefaultLogger = options.DefaultLogger,
            ContainerEngineAvailable = options.ContainerEngine,
            PollInterval = options.ExecutorPollInterval,
            RunAsRoleUser = options.RunAsRoleUser,
            AllowRootRole = options.AllowRootRole,
            Isolation = ResolveIsolation(options, logger),
        };
        var executor = (executorFactory ?? (o => DefaultExecutor.Create(o, loggers)))(executorOptions);
        WebApplication? app = null;
        HttpClient? http = null;
        try
        {
            var recovered = executor.Recover();
            NodeMessages.Recovered(logger, recovered.Count, recovered.Count(t => !AgentTaskStates.IsTerminal(t.Current.State)));
            ct.ThrowIfCancellationRequested();

            app = BuildHttp(options, loggers);
            http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
            {
                Timeout = Timeout.InfiniteTimeSpan,
            };
            var node = new AgentNode(options, agentId, executor, app, http, logger);
            SandboxServer.Map(app, node.State, executor);
            app.MapGet("/vars", () => Results.Text(node.Vars(), "text/plain"));
            app.MapGet("/vars.json", () => Results.Text(JsonSerializer.Serialize(node.VarsJson(), AgentApi.Json), "application/json"));
            await app.StartAsync(ct).ConfigureAwait(false);
            node.SandboxUri = PublicUri(app, options);

            node._heartbeats = new HeartbeatLoop(options, agentId, node.SandboxUri, executor, http, loggers.CreateLogger("Aurora.Agent.Heartbeat"), TimeProvider.System);
            node._heartbeats.Start();
            node._collector = new SandboxCollector(executor, options.SandboxGcDelay, TimeProvider.System, logger);
            NodeMessages.Started(logger, agentId, options.Hostname, node.SandboxUri, options.Scheduler);
            return node;
        }
        catch
        {
            http?.Dispose();
            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }

            await executor.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops heartbeating and serving; the tasks keep running for the next start to reattach.</summary>
    public Task StopAsync() => Stop(killGrace: null);

    /// <summary>Kills every task (SIGTERM, SIGKILL after <paramref name="grace"/>), waits for them, then stops (dev clusters and tests).</summary>
    public Task StopAndKillTasksAsync(TimeSpan grace) => Stop(grace);

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private Task Stop(TimeSpan? killGrace)
    {
        lock (_stopLock)
        {
            return _stopped ??= StopOnceAsync(killGrace);
        }
    }

    private async Task StopOnceAsync(TimeSpan? killGrace)
    {
        if (_heartbeats is not null)
        {
            await _heartbeats.DisposeAsync().ConfigureAwait(false);
        }

        if (_collector is not null)
        {
            await _collector.DisposeAsync().ConfigureAwait(false);
        }

        if (killGrace is { } grace)
        {
            await Executor.KillAllAsync(grace).ConfigureAwait(false);
        }

        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _http.Dispose();
        await Executor.DisposeAsync().ConfigureAwait(false);
        NodeMessages.Stopped(_logger, AgentId, killGrace is null ? "; its tasks keep running" : " after killing its tasks");
    }

    /// <summary>
    /// Decides <c>-isolation</c>: the machine's cgroup hierarchy with the agent's root cgroups made, or
    /// null (none). <see cref="IsolationMode.Cgroups"/> refuses to start without them;
    /// <see cref="IsolationMode.Auto"/> goes on without, and says so.
    /// </summary>
    /// <exception cref="IOException">-isolation=cgroups and cgroups cannot be used here.</exception>
    private static TaskIsolation? ResolveIsolation(AgentOptions options, ILogger logger)
    {
        if (options.Isolation == IsolationMode.None)
        {
            return null;
        }

        string? problem;
        var hierarchy = CgroupHierarchy.DetectLocal(options.CgroupsRoot, out problem);
        if (hierarchy is not null)
        {
            try
            {
                hierarchy.Prepare();
                var isolation = new TaskIsolation(hierarchy, options.CgroupsPidsMax, options.CgroupsEnableCfs, options.DiskWatchInterval);
                NodeMessages.IsolationOn(logger, isolation.Describe(), options.CgroupsRoot, options.CgroupsPidsMax, options.DiskWatchInterval);
                return isolation;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = $"cannot make the agent's cgroups ({hierarchy.Version}, -cgroups_root={options.CgroupsRoot}): {e.Message}";
            }
        }

        if (options.Isolation == IsolationMode.Cgroups)
        {
            throw new IOException($"-isolation=cgroups: {problem}. Run the agent as root on a machine with cgroups, or use -isolation=auto or none");
        }

        NodeMessages.IsolationOff(logger, problem ?? "cgroups are unusable");
        return null;
    }

    /// <summary>Aurora's <c>/vars</c> format: one <c>name value</c> line each, names sorted.</summary>
    private string Vars()
    {
        var lines = VarsJson().Select(v => $"{v.Key} {Convert.ToString(v.Value, System.Globalization.CultureInfo.InvariantCulture)}");
        return string.Join('\n', lines) + "\n";
    }

    private SortedDictionary<string, object> VarsJson()
    {
        var vars = new SortedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["agent_id"] = AgentId,
            ["heartbeats_answered"] = HeartbeatsAnswered,
            ["isolation"] = Executor.Isolation,
            ["tasks"] = Executor.Inventory().Count,
        };
        foreach (var (taskId, usage) in Executor.Usage())
        {
            vars[$"task_{taskId}_cpu_seconds"] = Math.Round(usage.CpuSeconds, 3);
            vars[$"task_{taskId}_rss_bytes"] = usage.RssBytes;
            vars[$"task_{taskId}_memory_peak_bytes"] = usage.MemoryPeakBytes;
            vars[$"task_{taskId}_memory_limit_bytes"] = usage.MemoryLimitBytes;
            vars[$"task_{taskId}_disk_bytes"] = usage.DiskBytes;
            vars[$"task_{taskId}_disk_quota_bytes"] = usage.DiskQuotaBytes;
        }

        return vars;
    }

    private AgentStateView State()
    {
        var usage = Executor.Usage();
        var tasks = Executor.Inventory()
            .Select(t => new TaskStateView(t.TaskId, t.Current.State, t.Current.Message, t.Current.TimestampMs, new Uri(SandboxUri, "tasks/" + Uri.EscapeDataString(t.TaskId)).ToString(), t.History, usage.GetValueOrDefault(t.TaskId)))
            .ToList();
        return new AgentStateView(
            AgentId,
            Options.Hostname,
            SandboxUri.ToString(),
            Options.Scheduler.ToString(),
            Options.Resources,
            Options.RevocableResources,
            Options.Attributes,
            Options.ContainerEngine,
            HeartbeatsAnswered,
            tasks);
    }

    private static WebApplication BuildHttp(AgentOptions options, ILoggerFactory loggers)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(options.Ip, options.HttpPort);
        });
        return builder.Build();
    }

    /// <summary>The bound address as others reach it: a wildcard bind is published under the host name.</summary>
    private static Uri PublicUri(WebApplication app, AgentOptions options)
    {
        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var host = options.Ip.Equals(IPAddress.Any) || options.Ip.Equals(IPAddress.IPv6Any) ? options.Hostname : bound.Host;
        return new UriBuilder(bound.Scheme, host, bound.Port, "/").Uri;
    }
}
