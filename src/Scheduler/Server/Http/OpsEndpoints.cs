using System.Text;
using System.Text.Json.Nodes;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Agents;
using Aurora.Scheduler.Server.Auth;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Server.Http;

/// <summary>The operator's endpoints beside the API: health, leadership, metrics, state views and lifecycle.</summary>
internal static class OpsEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ApiContext api, Action quit, Action abort)
    {
        var runtime = api.Runtime;

        // Healthy while the process serves, ready or not: a supervisor restarts only a process that is stuck or gone.
        app.MapGet("/health", () => runtime.State == StorageState.Failed
            ? Results.Text("FAILED\n", "text/plain", statusCode: 503)
            : Results.Text("OK\n", "text/plain"));
        app.MapGet("/leaderhealth", () => runtime.IsLeader
            ? Results.Text("OK\n", "text/plain")
            : runtime.LeaderUrl is not null
                ? Results.Text("not the leader\n", "text/plain", statusCode: 503)
                : Results.Text("no leader is known\n", "text/plain", statusCode: 502));

        app.MapGet("/vars", () => Results.Text(VarsText(runtime), "text/plain"));
        app.MapGet("/vars.json", () => ApiContext.Json(VarsJson(runtime)));
        app.MapGet("/metrics", () => Results.Text(Prometheus(runtime), "text/plain; version=0.0.4"));

        app.MapGet("/quotas", (HttpRequest request) => ApiContext.Json(api.Read(state =>
        {
            IEnumerable<string> roles = request.Query["role"].FirstOrDefault() is { Length: > 0 } role ? [role] : state.Quotas.Keys.Order(StringComparer.Ordinal);
            var quotas = new JsonObject();
            foreach (var name in roles)
            {
                var quota = state.QuotaOf(name);
                quotas[name] = new JsonObject { ["cpu_cores"] = quota.NumCpus, ["ram_mb"] = quota.RamMb, ["disk_mb"] = quota.DiskMb };
            }

            return quotas;
        })));
        app.MapGet("/maintenance", () => ApiContext.Json(api.Read(MaintenanceView)));
        app.MapGet("/offers", () => ApiContext.Json(api.Read(state => Offers(state, api.Runtime.Agents, api.Runtime.Options.Settings))));
        app.MapGet("/pendingtasks", () => ApiContext.Json(api.Read(state => PendingTasks(state, api.Runtime.Agents))));
        app.MapGet("/state", () => ApiContext.Json(api.Read(StateView)));

        app.MapPost("/quitquitquit", (HttpContext http) =>
        {
            api.Security.Authorize(http, LifecyclePermission("quitquitquit"));
            ServerMessages.LifecycleRequested(runtime.Loggers.CreateLogger("Aurora.Scheduler"), "Graceful shutdown", http.Connection.RemoteIpAddress?.ToString());
            quit();
            return Results.Text("Shutting down.\n", "text/plain");
        });
        app.MapPost("/abortabortabort", (HttpContext http) =>
        {
            api.Security.Authorize(http, LifecyclePermission("abortabortabort"));
            ServerMessages.LifecycleRequested(runtime.Loggers.CreateLogger("Aurora.Scheduler"), "Abort", http.Connection.RemoteIpAddress?.ToString());
            abort();
            return Results.Text("Aborting.\n", "text/plain");
        });
    }

    /// <summary>
    /// Aurora leaves its lifecycle endpoints open; with authentication on, stopping a replica is an
    /// admin act here (<c>thrift.AuroraAdmin:quitquitquit</c>), since anyone who reaches the port could otherwise stop it.
    /// </summary>
    private static string LifecyclePermission(string endpoint) => $"{Permissions.AdminDomain}:{endpoint}";

    /// <summary>Every flag (as <c>flag_NAME</c>) and every metric, sorted.</summary>
    public static SortedDictionary<string, string> Vars(SchedulerRuntime runtime, SortedDictionary<string, double> numbers)
    {
        var vars = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in runtime.Options.Flags)
        {
            vars[$"flag_{name}"] = value ?? string.Empty;
        }

        foreach (var (name, value) in numbers)
        {
            vars[name] = ServerMetrics.Format(value);
        }

        foreach (var (name, _, histogram) in runtime.Metrics.Histograms())
        {
            var (cumulative, count, sum) = histogram.Read();
            vars[$"{name}_count"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            vars[$"{name}_sum_seconds"] = ServerMetrics.Format(sum);
            for (var i = 0; i < LatencyHistogram.Bounds.Length; i++)
            {
                vars[$"{name}_le_{ServerMetrics.Format(LatencyHistogram.Bounds[i])}"] = cumulative[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return vars;
    }

    private static string VarsText(SchedulerRuntime runtime)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in Vars(runtime, runtime.Metrics.Numbers()))
        {
            text.Append(name).Append(' ').Append(value).Append('\n');
        }

        return text.ToString();
    }

    private static JsonObject VarsJson(SchedulerRuntime runtime)
    {
        var json = new JsonObject();
        var numbers = runtime.Metrics.Numbers();
        foreach (var (name, value) in Vars(runtime, numbers))
        {
            json[name] = numbers.TryGetValue(name, out var number) ? JsonValue.Create(number) : JsonValue.Create(value);
        }

        return json;
    }

    private static string Prometheus(SchedulerRuntime runtime)
    {
        var text = new StringBuilder();
        foreach (var (name, value) in runtime.Metrics.Numbers())
        {
            var metric = "aurora_" + name;
            text.Append("# TYPE ").Append(metric).Append(name.EndsWith("_total", StringComparison.Ordinal) ? " counter\n" : " gauge\n");
            text.Append(metric).Append(' ').Append(ServerMetrics.Format(value)).Append('\n');
        }

        foreach (var (name, help, histogram) in runtime.Metrics.Histograms())
        {
            var (cumulative, count, sum) = histogram.Read();
            var metric = $"aurora_{name}_seconds";
            text.Append("# HELP ").Append(metric).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ").Append(metric).Append(" histogram\n");
            for (var i = 0; i < cumulative.Length; i++)
            {
                var bound = i < LatencyHistogram.Bounds.Length ? ServerMetrics.Format(LatencyHistogram.Bounds[i]) : "+Inf";
                text.Append(metric).Append("_bucket{le=\"").Append(bound).Append("\"} ").Append(cumulative[i]).Append('\n');
            }

            text.Append(metric).Append("_sum ").Append(ServerMetrics.Format(sum)).Append('\n');
            text.Append(metric).Append("_count ").Append(count).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Aurora's /maintenance: {DRAINED: [hosts], SCHEDULED: [hosts], DRAINING: {host: [taskIds]}}.</summary>
    private static JsonObject MaintenanceView(SchedulerState state)
    {
        var hosts = state.Hosts.OrderBy(h => h.Host, StringComparer.Ordinal).ToList();
        var draining = new JsonObject();
        foreach (var host in hosts.Where(h => h.Mode == MaintenanceMode.Draining))
        {
            draining[host.Host] = new JsonArray([.. state.TasksOnHost(host.Host).Where(t => t.IsActive).Select(t => (JsonNode)t.TaskId)]);
        }

        return new JsonObject
        {
            ["DRAINED"] = new JsonArray([.. hosts.Where(h => h.Mode == MaintenanceMode.Drained).Select(h => (JsonNode)h.Host)]),
            ["SCHEDULED"] = new JsonArray([.. hosts.Where(h => h.Mode == MaintenanceMode.Scheduled).Select(h => (JsonNode)h.Host)]),
            ["DRAINING"] = draining,
        };
    }

    /// <summary>Each present agent's capacity, what its tasks hold, and what is free (Aurora's /offers, one offer per agent).</summary>
    /// <remarks>Revocable-tier tasks draw on the agent's revocable resources, as in placement, so they count in <c>revocableUsed</c>, not <c>used</c>; ports are shared.</remarks>
    private static JsonArray Offers(SchedulerState state, AgentServices agents, SchedulerSettings settings)
    {
        var offers = new JsonArray();
        foreach (var agent in agents.Registry.Present())
        {
            var used = new Resources();
            var revocableUsed = new Resources();
            var ports = 0;
            foreach (var task in state.TasksOnHost(agent.Host))
            {
                if (task.AgentId == agent.AgentId && TaskStatuses.IsAgentAssigned(task.Status))
                {
                    if (TaskTiers.Of(task.Config, settings).Revocable)
                    {
                        revocableUsed = ResourceMath.Add(revocableUsed, task.Config.Resources);
                    }
                    else
                    {
                        used = ResourceMath.Add(used, task.Config.Resources);
                    }

                    ports += task.Ports.Count;
                }
            }

            var capacity = AgentRegistry.ToOffer(agent).Capacity;
            offers.Add(new JsonObject
            {
                ["agentId"] = agent.AgentId,
                ["host"] = agent.Host,
                ["sandboxUrl"] = agent.SandboxUrl,
                ["attributes"] = new JsonObject(agent.Attributes.Select(a => KeyValuePair.Create(a.Name, (JsonNode?)new JsonArray([.. a.Values.Select(v => (JsonNode)v)])))),
                ["mode"] = ProtoNames.Of(state.FindHost(agent.Host)?.Mode ?? MaintenanceMode.None),
                ["capacity"] = ResourcesView(capacity, agent.Resources.Ports.Sum(p => p.Count)),
                ["used"] = ResourcesView(used, ports),
                ["revocable"] = agent.RevocableResources is { } revocable ? ResourcesView(AgentRegistry.ToOffer(agent).RevocableCapacity!, 0) : null,
                ["revocableUsed"] = agent.RevocableResources is null ? null : ResourcesView(revocableUsed, 0),
                ["containerEngine"] = agent.ContainerEngine,
                ["lastSeen"] = agent.LastSeen.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            });
        }

        return offers;
    }

    private static JsonObject ResourcesView(Resources resources, int ports) => new()
    {
        ["cpus"] = resources.NumCpus,
        ["ramMb"] = resources.RamMb,
        ["diskMb"] = resources.DiskMb,
        ["gpus"] = resources.NumGpus,
        ["ports"] = ports,
    };

    /// <summary>PENDING tasks grouped by job and configuration, each group with why it is not placed.</summary>
    private static JsonArray PendingTasks(SchedulerState state, AgentServices agents)
    {
        var groups = state.TasksIn(ScheduleStatus.Pending)
            .GroupBy(t => (Job: t.Job.Canonical(), t.Config))
            .OrderBy(g => g.Key.Job, StringComparer.Ordinal);
        return new JsonArray([.. groups.Select(g => (JsonNode)new JsonObject
        {
            ["name"] = g.Key.Job,
            ["taskIds"] = new JsonArray([.. g.Select(t => t.TaskId).Order(StringComparer.Ordinal).Select(id => (JsonNode)id)]),
            ["penaltyMs"] = g.Max(t => t.PenaltyMs),
            ["reason"] = agents.PendingReason(g.Min(t => t.TaskId)!),
        })]);
    }

    private static JsonObject StateView(SchedulerState state)
    {
        var byStatus = new JsonObject();
        foreach (var status in TaskStatuses.All)
        {
            byStatus[TaskStatuses.Name(status)] = state.CountIn(status);
        }

        return new JsonObject
        {
            ["frameworkId"] = state.FrameworkId,
            ["stateHash"] = SchedulerState.FormatHash(state.StateHash()),
            ["tasksByStatus"] = byStatus,
            ["jobs"] = new JsonArray([.. state.JobKeys.OrderBy(k => k.Canonical(), StringComparer.Ordinal).Select(k => (JsonNode)Views.JobSummary(state, k))]),
            ["quotas"] = new JsonObject([.. state.Quotas.OrderBy(q => q.Key, StringComparer.Ordinal).Select(q => KeyValuePair.Create(q.Key, (JsonNode?)Views.Resources(q.Value)))]),
            ["hosts"] = new JsonArray([.. state.Hosts.OrderBy(h => h.Host, StringComparer.Ordinal).Select(h => (JsonNode)new JsonObject
            {
                ["host"] = h.Host,
                ["agentId"] = h.Attributes.AgentId,
                ["mode"] = ProtoNames.Of(h.Mode),
                ["attributes"] = ApiJson.Node(h.Attributes),
            })]),
            ["activeUpdates"] = new JsonArray([.. state.ActiveUpdates.Select(u => (JsonNode)Views.UpdateSummary(u))]),
        };
    }
}
