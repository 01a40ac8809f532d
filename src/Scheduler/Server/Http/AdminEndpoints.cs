using System.Globalization;
using System.Text.Json.Nodes;
using Aurora.Agent.Protocol;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Auth;
using Aurora.Storage.Protos;

namespace Aurora.Scheduler.Server.Http;

/// <summary>Aurora's AuroraAdmin: quotas, maintenance, backups, staged recovery, snapshots, and the scheduler's own status (docs/api.md).</summary>
internal static class AdminEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ApiContext api)
    {
        app.MapPut("/api/quotas/{role}", async (HttpContext http, string role) =>
        {
            var body = await ApiJson.ReadBodyAsync(http.Request, api.MaxBodyBytes);
            var quota = new Resources
            {
                NumCpus = ApiJson.Number(body, "numCpus"),
                RamMb = ApiJson.WholeNumber(body, "ramMb"),
                DiskMb = ApiJson.WholeNumber(body, "diskMb"),
            };
            return await api.ExecuteAsync(http, Permissions.Admin("setQuota"), new SetQuota(role, quota), _ => api.Read(state => Views.Quota(state, role)));
        });

        MapMaintenance(app, api);
        MapBackupsAndRecovery(app, api);

        app.MapPost("/api/snapshot", async (HttpContext http) =>
        {
            api.Security.Authorize(http, Permissions.Admin("snapshot"));
            var snapshot = await api.Runtime.SnapshotAsync(http.RequestAborted);
            return ApiContext.Json(new JsonObject
            {
                ["message"] = snapshot is null ? "Nothing changed since the last snapshot." : $"Snapshot written at log position {snapshot.Position}.",
                ["position"] = snapshot?.Position ?? 0,
            });
        });

        app.MapGet("/api/scheduler", () => ApiContext.Json(SchedulerStatus(api)));
    }

    /// <summary>
    /// This replica and, on the leader, every replica as it knows them: status, term, the named
    /// positions (appended: durable in the replica's log; committed: held by a quorum; applied: in
    /// its state), lag behind the leader, the last snapshot, and who leads. Answered locally on
    /// every replica, not redirected.
    /// </summary>
    public static JsonObject SchedulerStatus(ApiContext api)
    {
        var runtime = api.Runtime;
        var replica = new JsonObject
        {
            ["status"] = runtime.State switch
            {
                StorageState.Empty => "EMPTY",
                StorageState.Ready => "VOTING",
                StorageState.Recovering => "RECOVERING",
                _ => "FAILED",
            },
            ["notReadyReason"] = runtime.NotReadyReason,
            ["quorumSize"] = runtime.Options.QuorumSize,
        };
        var replicas = new JsonArray();
        string? leaderId = null;
        if (runtime.State == StorageState.Ready && runtime.StoreIfOpen is { } store)
        {
            var status = store.Replication.Status;
            leaderId = status.LeaderId;
            replica["id"] = status.SelfId;
            replica["status"] = status.Status.ToString().ToUpperInvariant();
            replica["role"] = status.Role.ToString().ToUpperInvariant();
            replica["term"] = status.Term;
            replica["appendedPosition"] = status.LastPosition;
            replica["committedPosition"] = status.CommitPosition;
            replica["appliedPosition"] = store.AppliedPosition;
            replica["firstRetainedPosition"] = store.Log.FirstRetainedPosition;
            var newest = store.Snapshots.List().MaxBy(s => s.Position);
            if (newest is not null)
            {
                replica["lastSnapshot"] = new JsonObject { ["position"] = newest.Position, ["term"] = newest.Term, ["createdAt"] = newest.CreatedAt.ToString("O") };
            }

            replicas.Add(new JsonObject
            {
                ["id"] = status.SelfId,
                ["self"] = true,
                ["leader"] = status.LeaderId == status.SelfId,
                ["status"] = replica["status"]!.GetValue<string>(),
                ["term"] = status.Term,
                ["appendedPosition"] = status.LastPosition,
                ["committedPosition"] = status.CommitPosition,
                ["appliedPosition"] = store.AppliedPosition,
                ["lastSnapshotPosition"] = newest?.Position,
            });
            foreach (var peer in status.Peers.OrderBy(p => p.Id, StringComparer.Ordinal))
            {
                // What the leader knows of each follower: how far its log matches the leader's, and
                // the progress the follower reported in its last answer. A follower that has not
                // answered in this term is UNKNOWN, with no positions.
                var heard = peer.Status != ReplicaStatus.Unspecified;
                replicas.Add(new JsonObject
                {
                    ["id"] = peer.Id,
                    ["self"] = false,
                    ["leader"] = false,
                    ["status"] = heard ? peer.Status.ToString().ToUpperInvariant() : "UNKNOWN",
                    ["term"] = heard ? status.Term : null,
                    ["matchPosition"] = peer.MatchPosition,
                    ["committedPosition"] = heard ? peer.CommitPosition : null,
                    ["appliedPosition"] = heard ? peer.AppliedPosition : null,
                    ["lastSnapshotPosition"] = heard && peer.SnapshotPosition > 0 ? peer.SnapshotPosition : null,
                    ["lag"] = peer.Lag,
                });
            }
        }

        return new JsonObject
        {
            ["cluster"] = runtime.Options.ClusterName,
            ["leading"] = runtime.IsLeader,
            ["leader"] = runtime.LeaderUrl?.ToString(),
            ["leaderId"] = leaderId,
            ["version"] = typeof(AdminEndpoints).Assembly.GetName().Version?.ToString(3),
            ["replica"] = replica,
            ["replicas"] = replicas,
        };
    }

    private static void MapMaintenance(IEndpointRouteBuilder app, ApiContext api)
    {
        app.MapGet("/api/maintenance", (HttpContext http) =>
        {
            api.Security.Authorize(http, Permissions.Admin("maintenanceStatus"));
            var filter = http.Request.Query["hosts"].FirstOrDefault()?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            return ApiContext.Json(api.Read(state => new JsonObject
            {
                ["hosts"] = new JsonArray([.. (filter ?? state.Hosts.Where(h => h.Mode != MaintenanceMode.None).Select(h => h.Host))
                    .Order(StringComparer.Ordinal)
                    .Select(h => (JsonNode)Views.Maintenance(h, state))]),
            }));
        });
        foreach (var (verb, rpc, mode) in new[]
        {
            ("deactivate", "startMaintenance", MaintenanceMode.Scheduled),
            ("drain", "drainHosts", MaintenanceMode.Draining),
            ("activate", "endMaintenance", MaintenanceMode.None),
        })
        {
            app.MapPost($"/api/maintenance/{verb}", async (HttpContext http) =>
            {
                var body = await ApiJson.ReadBodyAsync(http.Request, api.MaxBodyBytes);
                var hosts = RequireHosts(body);
                return await api.ExecuteAsync(http, Permissions.Admin(rpc), new ChangeHostMaintenance(hosts, mode), _ => HostModes(api, hosts));
            });
        }

        app.MapPost("/api/maintenance/sla_drain", async (HttpContext http) =>
        {
            var body = await ApiJson.ReadBodyAsync(http.Request, api.MaxBodyBytes);
            var hosts = RequireHosts(body);
            var request = SlaDrainRequest(body);
            return await api.ExecuteAsync(http, Permissions.Admin("slaDrainHosts"), new ChangeHostMaintenance(hosts, MaintenanceMode.Draining, request), _ => HostModes(api, hosts));
        });
    }

    private static IReadOnlyList<string> RequireHosts(JsonObject body)
    {
        var hosts = ApiJson.Strings(body, "hosts") ?? throw ApiException.Invalid("The request body needs \"hosts\", a list of host names.");
        if (hosts.Count == 0)
        {
            throw ApiException.Invalid("\"hosts\" must name at least one host.");
        }

        // Host names are kept in the log and shown by /maintenance: held to the rule agents' names obey.
        foreach (var host in hosts)
        {
            if (ProtocolLimits.HostnameProblem(host) is { } problem)
            {
                throw ApiException.Invalid($"\"hosts\": {problem}");
            }
        }

        return hosts;
    }

    private static JsonObject HostModes(ApiContext api, IReadOnlyList<string> hosts) => api.Read(state => new JsonObject
    {
        ["hosts"] = new JsonArray([.. hosts.Select(h => (JsonNode)Views.Maintenance(h, state))]),
    });

    /// <summary>
    /// slaDrainHosts' request: exactly one default policy and a timeout. Checked here, with the field
    /// named, because the maintenance controller would otherwise act on a policy that can never hold
    /// (or always holds) for as long as the timeout runs.
    /// </summary>
    private static HostMaintenanceRequest SlaDrainRequest(JsonObject body)
    {
        const string Field = "defaultSlaPolicy";
        string[] kinds = ["percentage", "count", "coordinator"];
        if (body[Field] is null)
        {
            throw ApiException.Invalid($"The request body needs \"{Field}\": {{\"percentage\": {{...}}}}, {{\"count\": {{...}}}} or {{\"coordinator\": {{...}}}}.");
        }

        if (body[Field] is not JsonObject given || kinds.Count(k => given[k] is not null) != 1)
        {
            throw ApiException.Invalid($"\"{Field}\" must be an object with exactly one of \"percentage\", \"count\" or \"coordinator\".");
        }

        var policy = ApiJson.Message<SlaPolicy>(body, Field);
        switch (policy.KindCase)
        {
            case SlaPolicy.KindOneofCase.Percentage:
                var percentage = policy.Percentage.Percentage;
                if (!(percentage > 0 && percentage <= 100))
                {
                    throw ApiException.Invalid(string.Create(CultureInfo.InvariantCulture, $"{Field}.percentage.percentage must be greater than 0 and at most 100, got {percentage}."));
                }

                RequireSeconds(policy.Percentage.DurationSecs, $"{Field}.percentage.durationSecs");
                break;
            case SlaPolicy.KindOneofCase.Count:
                if (policy.Count.Count < 1)
                {
                    throw ApiException.Invalid($"{Field}.count.count must be at least 1, got {policy.Count.Count}.");
                }

                RequireSeconds(policy.Count.DurationSecs, $"{Field}.count.durationSecs");
                break;
            default:
                var url = policy.Coordinator.CoordinatorUrl;
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                {
                    throw ApiException.Invalid($"{Field}.coordinator.coordinatorUrl must be an absolute http(s) URL, got '{url}'.");
                }

                break;
        }

        if (body["timeoutSecs"] is null)
        {
            throw ApiException.Invalid("The request body needs \"timeoutSecs\": after that many seconds the hosts' remaining tasks are drained regardless of SLA.");
        }

        var timeout = ApiJson.Int(body, "timeoutSecs")!.Value;
        RequireSeconds(timeout, "timeoutSecs");
        return new HostMaintenanceRequest { DefaultSlaPolicy = policy, TimeoutSecs = timeout };
    }

    // Bounded so that seconds * 1_000_000 added to a time in microseconds cannot overflow in the controller.
    private static void RequireSeconds(long seconds, string field)
    {
        if (seconds is < 0 or > int.MaxValue)
        {
            throw ApiException.Invalid($"{field} must be a whole number of seconds from 0 to {int.MaxValue}, got {seconds}.");
        }
    }

    private static void MapBackupsAndRecovery(IEndpointRouteBuilder app, ApiContext api)
    {
        var runtime = api.Runtime;
        app.MapPost("/api/backups", async (HttpContext http) =>
        {
            api.Security.Authorize(http, Permissions.Admin("performBackup"));
            var backup = await runtime.BackupNowAsync(http.RequestAborted);
            var view = Views.Backup(backup);
            view["message"] = $"Backup {view["id"]} written.";
            return ApiContext.Json(view);
        });
        app.MapGet("/api/backups", (HttpContext http) =>
        {
            api.Security.Authorize(http, Permissions.Admin("listBackups"));
            return ApiContext.Json(new JsonObject
            {
                ["backups"] = new JsonArray([.. runtime.Backups.List().OrderBy(b => b.CreatedAt).ThenBy(b => b.Position).Select(b => (JsonNode)Views.Backup(b))]),
            });
        });

        var recovery = app.MapGroup("/api/recovery");
        recovery.MapPost("/stage", async (HttpContext http) =>
        {
            api.Security.Authorize(http, Permissions.Admin("stageRecovery"));
            var body = await ApiJson.ReadBodyAsync(http.Request, api.MaxBodyBytes);
            var id = ApiJson.String(body, "backupId") ?? throw ApiException.Invalid("The request body needs \"backupId\".");
            var staged = runtime.Recovery.Stage(id);
            var view = RecoveryStatus(runtime);
            view["message"] = $"Backup {staged.BackupId} staged: {staged.State.TaskCount} tasks at log position {staged.Position}.";
            return ApiContext.Json(view);
        });
        recovery.MapGet("/", (HttpContext http) =>
        {
            api.Security.Authorize(http, Permissions.Admin("queryRecovery"));
            return ApiContext.Json(RecoveryStatus(runtime));
        });
        recovery.MapGet("/tasks", (HttpContext http) =>
        {
            api.Security.Authorize(http, Permissions.Admin("queryRecovery"));
            var query = TaskQuery.From(http.Request.Query);
            return ApiContext.Json(runtime.Recovery.Read(staged => new JsonObject
            {
                ["backupId"] = staged.BackupId,
                ["tasks"] = new JsonArray([.. query.Run(staged.State).Select(t => (JsonNode)Views.Task(t, withEvents: false, agents: null))]),
            }));
        });
        recovery.MapPost("/tasks/delete", async (HttpContext http) =>
        {
            var principal = api.Security.Authorize(http, Permissions.Admin("deleteRecoveryTasks"));
            var body = await ApiJson.ReadBodyAsync(http.Request, api.MaxBodyBytes);
            var query = DeleteQuery(body);
            var deleted = runtime.Recovery.DeleteTasks(state => query.Run(state).Select(t => t.TaskId), runtime.Time.GetUtcNow(), principal);
            return ApiContext.Json(new JsonObject { ["deleted"] = deleted, ["message"] = $"Deleted {deleted} tasks from the staged recovery." });
        });
        recovery.MapPost("/commit", async (HttpContext http) =>
        {
            CommitRecovery? command = null;
            var logger = runtime.Loggers.CreateLogger("Aurora.Scheduler");
            var result = await api.ExecuteAsync(http, Permissions.Admin("commitRecovery"), () => command = runtime.Recovery.CommitCommand(), outcome =>
            {
                ServerMessages.RecoveryCommitted(logger, command!.BackupId, outcome.Principal, outcome.Position);
                return new JsonObject { ["backupId"] = command.BackupId };
            });
            runtime.Recovery.Unload(command!.BackupId);
            return result;
        });
        recovery.MapPost("/unload", (HttpContext http) =>
        {
            api.Security.Authorize(http, Permissions.Admin("unloadRecovery"));
            var unloaded = runtime.Recovery.Unload();
            return ApiContext.Json(new JsonObject { ["message"] = unloaded ? "Recovery unloaded." : "No recovery was staged." });
        });
    }

    private static JsonObject RecoveryStatus(SchedulerRuntime runtime) =>
        runtime.Recovery.IsStaged
            ? runtime.Recovery.Read(staged => new JsonObject
            {
                ["staged"] = true,
                ["backupId"] = staged.BackupId,
                ["position"] = staged.Position,
                ["cluster"] = staged.ClusterName,
                ["taskCount"] = staged.State.TaskCount,
            })
            : new JsonObject { ["staged"] = false };

    /// <summary>deleteRecoveryTasks' filters; at least one, so that an empty body never deletes everything.</summary>
    private static TaskQuery DeleteQuery(JsonObject body)
    {
        var jobs = ApiJson.Strings(body, "jobs")?.Select(text => JobKeys.TryParse(text, out var key, out var error) ? key : throw ApiException.Invalid($"jobs: {error}")).ToList();
        var taskIds = ApiJson.Strings(body, "taskIds");
        var statuses = ApiJson.Strings(body, "statuses") is { } names ? ApiJson.Enums<ScheduleStatus>(names, "statuses") : null;
        if (jobs is null && taskIds is null && statuses is null)
        {
            throw ApiException.Invalid("Say which tasks to delete: \"jobs\", \"taskIds\" and/or \"statuses\" (every task matching all given filters is deleted).");
        }

        return new TaskQuery(null, null, null, null, statuses, taskIds?.ToHashSet(StringComparer.Ordinal), null, false, 0, null) { Jobs = jobs?.ToHashSet() };
    }
}
