using System.Net;
using Aurora.Agent.Node;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Server.Agents;
using Aurora.Scheduler.Server.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Aurora.Scheduler.Server;

/// <summary>
/// <c>aurora-scheduler</c> as a running thing: the runtime (store, housekeeping, backups) behind one
/// Kestrel server on <c>-http_port</c>. Started by <see cref="Program"/> and, in-process, by tests.
/// </summary>
internal sealed class SchedulerServer : IAsyncDisposable
{
    private static readonly TimeSpan DevAgentKillGrace = TimeSpan.FromSeconds(5);

    private readonly WebApplication _app;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _shutdown;
    private AgentNode? _devAgent;

    private SchedulerServer(WebApplication app, SchedulerRuntime runtime)
    {
        _app = app;
        Runtime = runtime;
    }

    public SchedulerRuntime Runtime { get; }

    /// <summary>Where the HTTP server listens, e.g. <c>http://127.0.0.1:8081/</c>.</summary>
    public Uri BaseUri { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Completes with the exit code once the server stopped (quit, abort, fatal error or disposal).</summary>
    public Task<int> Exited => _exited.Task;

    public static async Task<SchedulerServer> StartAsync(ServerOptions options, ILoggerFactory? loggers = null, TimeProvider? time = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        if (loggers is null)
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
                o.UseUtcTimestamp = true;
            });
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        }
        else
        {
            builder.Services.AddSingleton(loggers);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = Math.Max(ApiJson.DrainBytes, options.MaxEntrySize + 1L);
            if (options.BindAddress is { } address)
            {
                kestrel.Listen(address, options.HttpPort);
            }
            else
            {
                kestrel.ListenAnyIP(options.HttpPort);
            }
        });

        var app = builder.Build();
        var loggerFactory = app.Services.GetRequiredService<ILoggerFactory>();
        SchedulerServer? server = null;

        // The runtime may end the process before StartAsync returns (a log that cannot be opened).
        var runtime = new SchedulerRuntime(options, loggerFactory, time ?? TimeProvider.System, code => server!.Stop(code));
        server = new SchedulerServer(app, runtime);
        var api = new ApiContext(runtime, new RequestSecurity(options.Security));
        ConfigurePipeline(app, api);
        OpsEndpoints.Map(app, api, quit: () => server.Stop(ExitCodes.Ok), abort: () => server.Stop(ExitCodes.Aborted));
        JobEndpoints.Map(app, api);
        AdminEndpoints.Map(app, api);
        AgentEndpoints.Map(app, api, runtime.Agents);

        try
        {
            // Serve first: while the store opens, requests are answered 503 "Storage is not READY".
            await app.StartAsync().ConfigureAwait(false);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            server.BaseUri = new Uri(address.Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal).Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
            var logger = loggerFactory.CreateLogger("Aurora.Scheduler");
            ServerMessages.Listening(logger, options.ClusterName, address);
            if (options.AgentAuthenticator is { } agentAuthenticator)
            {
                ServerMessages.AgentCredentialsLoaded(logger, agentAuthenticator.Count, agentAuthenticator.Source);
            }
            else
            {
                ServerMessages.AgentHeartbeatsOpen(logger);
            }

            runtime.Start(options.AdvertisedHost is { } host ? new UriBuilder(server.BaseUri) { Host = host }.Uri : server.BaseUri);
            if (options.DevAgentDirectory is { } agentDirectory)
            {
                server._devAgent = await StartDevAgentAsync(agentDirectory, server.BaseUri, options.DevAgentCredential, loggerFactory).ConfigureAwait(false);
            }
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return server;
    }

    /// <summary>Stops serving and ends with <paramref name="exitCode"/>; the first request to stop wins.</summary>
    public void Stop(int exitCode) => _ = ShutdownAsync(exitCode);

    public async ValueTask DisposeAsync() => await ShutdownAsync(ExitCodes.Ok).ConfigureAwait(false);

    private Task ShutdownAsync(int exitCode)
    {
        lock (_exited)
        {
            return _shutdown ??= Task.Run(async () =>
            {
                try
                {
                    if (_devAgent is { } agent)
                    {
                        // The -dev agent lives in this process: its tasks end with it rather than outlive it.
                        await agent.StopAndKillTasksAsync(DevAgentKillGrace).ConfigureAwait(false);
                    }

                    // Each step says when it is done, so that a shutdown that hangs names the step it hangs in.
                    var logger = _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Aurora.Scheduler");
                    ServerMessages.ShuttingDown(logger, exitCode);
                    await _app.StopAsync().ConfigureAwait(false);
                    ServerMessages.HttpStopped(logger);
                    await Runtime.DisposeAsync().ConfigureAwait(false);
                    ServerMessages.RuntimeClosed(logger);
                    await _app.DisposeAsync().ConfigureAwait(false);
                }
                finally
                {
                    _exited.TrySetResult(exitCode);
                }
            });
        }
    }

    /// <summary>The -dev agent: a real agent (sandboxes, processes, heartbeats over HTTP) hosted in this process.</summary>
    /// <remarks>It presents <paramref name="credential"/> (generated for this run unless -agent_credentials gave one).</remarks>
    private static async Task<AgentNode> StartDevAgentAsync(string workDirectory, Uri scheduler, Aurora.Agent.Protocol.AgentCredential? credential, ILoggerFactory loggers)
    {
        // -nosetuid: a dev cluster runs every role as the user who started it, roles need not be Unix users.
        var options = AgentFlags.Parse([$"-work_dir={workDirectory}", $"-scheduler={scheduler}", "-http_port=0", "-ip=127.0.0.1", "-nosetuid"]) with { Credential = credential };
        var agent = await AgentNode.StartAsync(options, loggers).ConfigureAwait(false);
        ServerMessages.DevAgentStarted(loggers.CreateLogger("Aurora.Scheduler"), agent.AgentId, agent.SandboxUri);
        return agent;
    }

    private static void ConfigurePipeline(WebApplication app, ApiContext api)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Aurora.Scheduler.Http");
        app.Use(async (http, next) =>
        {
            api.Runtime.Metrics.HttpRequest();
            try
            {
                if (ServesOnlyOnLeader(http.Request))
                {
                    await AwaitElectionOutcomeAsync(api.Runtime, http.RequestAborted).ConfigureAwait(false);
                }

                if (RedirectToLeader(http, api))
                {
                    return;
                }

                if (ServesOnlyOnLeader(http.Request) && api.Runtime.IsLeader && api.Runtime.StoreIfOpen is { IsWritable: false } store)
                {
                    // Elected a moment ago: answer once everything committed before the term is applied here.
                    await store.WaitWritableAsync(http.RequestAborted).ConfigureAwait(false);
                }

                if (IsAuthenticatedCall(http))
                {
                    // Who asks is settled before anything of the request is read or validated (401 before 400).
                    api.Security.Authenticate(http);
                }

                await next(http).ConfigureAwait(false);
            }
            catch (Exception e) when (!http.Response.HasStarted)
            {
                var (status, code, message) = ApiContext.Classify(e);
                if (status == HttpStatusCode.InternalServerError)
                {
                    ServerMessages.RequestFailed(logger, e, http.Request.Method, http.Request.Path);
                }

                http.Response.Clear();
                if (status == HttpStatusCode.Unauthorized)
                {
                    http.Response.Headers.WWWAuthenticate = Auth.HttpSecurity.Challenge;
                }

                http.Response.StatusCode = (int)status;
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(ApiContext.ErrorBody(code, message).ToJsonString(ApiJson.Options)).ConfigureAwait(false);
            }
        });
        app.Use(async (http, next) =>
        {
            await next(http).ConfigureAwait(false);

            // Routing answers unknown paths and wrong methods without a body; the API always says why.
            if (http.Response is { HasStarted: false, StatusCode: 404 or 405 } response && response.ContentLength is null)
            {
                var code = response.StatusCode == 404 ? "NOT_FOUND" : "METHOD_NOT_ALLOWED";
                var message = response.StatusCode == 404
                    ? $"No endpoint {http.Request.Path}; docs/api.md lists them."
                    : $"{http.Request.Method} is not allowed on {http.Request.Path}.";
                response.ContentType = "application/json";
                await response.WriteAsync(ApiContext.ErrorBody(code, message).ToJsonString(ApiJson.Options)).ConfigureAwait(false);
            }
        });
    }

    /// <summary>Every write but the agents' heartbeats (agents present their own credentials: <see cref="AgentEndpoints"/>), to an endpoint that exists.</summary>
    private static bool IsAuthenticatedCall(HttpContext http) =>
        !(HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) || HttpMethods.IsOptions(http.Request.Method))
        && !http.Request.Path.StartsWithSegments("/agent", StringComparison.Ordinal)
        && http.GetEndpoint() is not null;

    /// <summary>
    /// A replica elected a moment ago commits its term's first entry before it serves (a few
    /// milliseconds): a request that arrives meanwhile waits for that, rather than being redirected
    /// to this very replica or refused. Bounded at one second: an election that has not led to
    /// serving by then has failed, and the request is answered as any other.
    /// </summary>
    private static async Task AwaitElectionOutcomeAsync(SchedulerRuntime runtime, CancellationToken cancellationToken)
    {
        var deadline = Environment.TickCount64 + 1000;
        while (runtime.IsElected && Environment.TickCount64 < deadline)
        {
            await Task.Delay(2, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The API and the agents' endpoints: answered by the leader only. /api/scheduler (this replica's view) is answered everywhere.</summary>
    private static bool ServesOnlyOnLeader(HttpRequest request) =>
        (request.Path.StartsWithSegments("/api", StringComparison.Ordinal) || request.Path.StartsWithSegments("/agent", StringComparison.Ordinal))
        && !request.Path.StartsWithSegments("/api/scheduler", StringComparison.Ordinal);

    /// <summary>
    /// Reads and writes on a replica that does not lead go to the leader (307 keeps the method and
    /// body), as in Aurora; the body names the leader for clients that do not follow redirects.
    /// With no leader known, 503: a follower's state may be behind, and it never answers from it.
    /// </summary>
    private static bool RedirectToLeader(HttpContext http, ApiContext api)
    {
        var request = http.Request;
        var runtime = api.Runtime;
        if (!ServesOnlyOnLeader(request) || runtime.StoreIfOpen is not { } store || runtime.State != StorageState.Ready || runtime.IsLeader
            || string.Equals(request.Headers["Bypass-Leader-Redirect"], "true", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (runtime.LeaderUrl is not { } leader)
        {
            throw store.NotLeader();
        }

        var target = new Uri(leader, request.Path.Value + request.QueryString.Value);
        http.Response.StatusCode = (int)HttpStatusCode.TemporaryRedirect;
        http.Response.Headers.Location = target.ToString();
        http.Response.ContentType = "application/json";
        var body = ApiContext.ErrorBody("NOT_LEADER", $"this replica does not lead; the leader is at {leader}").ToJsonString(ApiJson.Options);
        http.Response.ContentLength = System.Text.Encoding.UTF8.GetByteCount(body);
        _ = http.Response.WriteAsync(body);
        return true;
    }
}
