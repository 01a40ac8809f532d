using System.Text.Json.Nodes;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Auth;

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
                RamMb = (long)ApiJson.Number(body, "ramMb"),
                DiskMb = (long)ApiJson.Number(body, "diskMb"),
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
        if (runtime.State == StorageState.Ready && runtime.StoreIfOpen is { } store)
        {
            replica["appendedPosition"] = store.Log.LastDurablePosition;
            replica["committedPosition"] = store.Log.LastDurablePosition;
            replica["appliedPosition"] = store.AppliedPosition;
            replica["term"] = store.Log.LastDurableTerm;
        }

        return new JsonObject
        {
            ["cluster"] = runtime.Options.ClusterName,
            ["leading"] = api.Leadership.IsLeader,
            ["leader"] = api.Leadership.IsLeader ? null : api.Leadership.Leader?.ToString(),
            ["version"] = typeof(AdminEndpoints).Assembly.GetName().Version?.ToString(3),
            ["replica"] = replica,
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
                var hosts = ApiJson.Strings(body, "hosts") ?? throw ApiException.Invalid("The request body needs \"hosts\", a list of host names.");
                return await api.ExecuteAsync(http, Permissions.Admin(rpc), new ChangeHostMaintenance(hosts, mode), _ => api.Read(state => new JsonObject
                {
                    ["hosts"] = new JsonArray([.. hosts.Select(h => (JsonNode)Views.Maintenance(h, state))]),
                }));
            });
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
                ["tasks"] = new JsonArray([.. query.Run(staged.State).Select(t => (JsonNode)Views.Task(t, staged.State, withEvents: false))]),
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
