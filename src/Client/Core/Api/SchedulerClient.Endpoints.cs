using System.Text.Json.Nodes;
using Aurora.Scheduler.Protos;
using Google.Protobuf;

namespace Aurora.Client.Api;

// One method per endpoint of docs/api.md, in its order.
public sealed partial class SchedulerClient
{
    // ---- Jobs and tasks

    /// <summary><c>GET /api/jobs</c>: job summaries.</summary>
    public async Task<IReadOnlyList<JsonObject>> GetJobSummariesAsync(string? role, string? environment, string? name, CancellationToken cancellationToken = default) =>
        Views.List(await GetAsync("api/jobs" + Query(("role", role), ("environment", environment), ("name", name)), cancellationToken).ConfigureAwait(false), "jobs");

    /// <summary><c>GET /api/jobs/{role}/{env}/{name}</c>: <c>{"job", "config", "cron", "tasks"}</c>; <c>NOT_FOUND</c> when there is no such job.</summary>
    public async Task<JsonObject> GetJobAsync(JobKey job, CancellationToken cancellationToken = default) =>
        Views.Object(await GetAsync(JobPath("api/jobs", job), cancellationToken).ConfigureAwait(false));

    /// <summary><c>POST /api/jobs</c>.</summary>
    public async Task<WriteResult> CreateJobAsync(JobConfiguration config, CancellationToken cancellationToken = default) =>
        WriteResult.From(await PostAsync("api/jobs", new JsonObject { ["config"] = Proto(config) }, cancellationToken).ConfigureAwait(false));

    /// <summary><c>POST /api/jobs/{key}/kill</c>; null <paramref name="instances"/> kills every active instance.</summary>
    public async Task<WriteResult> KillTasksAsync(JobKey job, IReadOnlyCollection<int>? instances, string? message, CancellationToken cancellationToken = default) =>
        WriteResult.From(await PostAsync(
            JobPath("api/jobs", job) + "/kill",
            new JsonObject { ["instances"] = Instances(instances), ["message"] = message },
            cancellationToken).ConfigureAwait(false));

    /// <summary><c>POST /api/jobs/{key}/restart</c>; null <paramref name="instances"/> restarts every active instance.</summary>
    public async Task<WriteResult> RestartAsync(JobKey job, IReadOnlyCollection<int>? instances, CancellationToken cancellationToken = default) =>
        WriteResult.From(await PostAsync(
            JobPath("api/jobs", job) + "/restart",
            new JsonObject { ["instances"] = Instances(instances) },
            cancellationToken).ConfigureAwait(false));

    /// <summary><c>POST /api/jobs/{key}/instances</c>: <paramref name="count"/> copies of <paramref name="templateInstance"/>.</summary>
    public async Task<WriteResult> AddInstancesAsync(JobKey job, int templateInstance, int count, CancellationToken cancellationToken = default) =>
        WriteResult.From(await PostAsync(
            JobPath("api/jobs", job) + "/instances",
            new JsonObject { ["templateInstance"] = templateInstance, ["count"] = count },
            cancellationToken).ConfigureAwait(false));

    /// <summary><c>GET /api/tasks</c>.</summary>
    public async Task<IReadOnlyList<JsonObject>> GetTasksAsync(TaskQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Views.List(await GetAsync("api/tasks" + query.ToQueryString(), cancellationToken).ConfigureAwait(false), "tasks");
    }

    /// <summary><c>GET /api/quotas/{role}</c>.</summary>
    public async Task<JsonObject> GetQuotaAsync(string role, CancellationToken cancellationToken = default) =>
        Views.Object(await GetAsync("api/quotas/" + Segment(role), cancellationToken).ConfigureAwait(false));

    // ---- Updates

    /// <summary><c>POST /api/updates</c>: answers <c>{"key": {"job", "id"}, ...}</c>.</summary>
    public async Task<JsonObject> StartUpdateAsync(JobUpdateRequest request, string? message, CancellationToken cancellationToken = default) =>
        Views.Object(await PostAsync("api/updates", new JsonObject { ["request"] = Proto(request), ["message"] = message }, cancellationToken).ConfigureAwait(false));

    /// <summary><c>GET /api/updates</c>: update summaries, newest first.</summary>
    public async Task<IReadOnlyList<JsonObject>> GetUpdatesAsync(UpdateQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Views.List(await GetAsync("api/updates" + query.ToQueryString(), cancellationToken).ConfigureAwait(false), "updates");
    }

    /// <summary><c>GET /api/updates/{key}/{id}</c>: update details.</summary>
    public async Task<JsonObject> GetUpdateAsync(JobKey job, string id, CancellationToken cancellationToken = default) =>
        Views.Object(await GetAsync(JobPath("api/updates", job) + "/" + Segment(id), cancellationToken).ConfigureAwait(false));

    /// <summary><c>POST /api/updates/{key}/{id}/{action}</c>.</summary>
    public async Task<WriteResult> ChangeUpdateAsync(JobKey job, string id, UpdateAction action, string? message, CancellationToken cancellationToken = default) =>
        WriteResult.From(await PostAsync(
            JobPath("api/updates", job) + "/" + Segment(id) + "/" + action.ToString().ToLowerInvariant(),
            new JsonObject { ["message"] = message },
            cancellationToken).ConfigureAwait(false));

    // ---- Cron

    /// <summary><c>PUT /api/cron/{key}</c>: create or replace.</summary>
    public async Task<WriteResult> ScheduleCronJobAsync(JobConfiguration config, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        return WriteResult.From(await PutAsync(JobPath("api/cron", config.Key), new JsonObject { ["config"] = Proto(config) }, cancellationToken).ConfigureAwait(false));
    }

    /// <summary><c>DELETE /api/cron/{key}</c>.</summary>
    public async Task<WriteResult> DescheduleCronJobAsync(JobKey job, CancellationToken cancellationToken = default) =>
        WriteResult.From(await DeleteAsync(JobPath("api/cron", job), cancellationToken).ConfigureAwait(false));

    /// <summary><c>POST /api/cron/{key}/start</c>: one run now.</summary>
    public async Task<WriteResult> StartCronJobAsync(JobKey job, CancellationToken cancellationToken = default) =>
        WriteResult.From(await PostAsync(JobPath("api/cron", job) + "/start", null, cancellationToken).ConfigureAwait(false));

    /// <summary><c>GET /api/cron/{key}</c>: <c>{"job", "cronSchedule", "collisionPolicy", "nextRun", "config"}</c>.</summary>
    public async Task<JsonObject> GetCronJobAsync(JobKey job, CancellationToken cancellationToken = default) =>
        Views.Object(await GetAsync(JobPath("api/cron", job), cancellationToken).ConfigureAwait(false));

    // ---- Administration

    /// <summary><c>PUT /api/quotas/{role}</c>.</summary>
    public async Task<WriteResult> SetQuotaAsync(string role, double numCpus, long ramMb, long diskMb, CancellationToken cancellationToken = default) =>
        WriteResult.From(await PutAsync(
            "api/quotas/" + Segment(role),
            new JsonObject { ["numCpus"] = numCpus, ["ramMb"] = ramMb, ["diskMb"] = diskMb },
            cancellationToken).ConfigureAwait(false));

    /// <summary><c>GET /api/maintenance</c>: <c>{"hosts": [{"host", "mode"}]}</c>; null <paramref name="hosts"/> asks for every host.</summary>
    public async Task<IReadOnlyList<JsonObject>> GetMaintenanceAsync(IReadOnlyCollection<string>? hosts, CancellationToken cancellationToken = default) =>
        Views.List(await GetAsync("api/maintenance" + Query(("hosts", hosts is null ? null : string.Join(',', hosts))), cancellationToken).ConfigureAwait(false), "hosts");

    /// <summary><c>POST /api/maintenance/{deactivate|drain|activate}</c>.</summary>
    public async Task<WriteResult> ChangeMaintenanceAsync(MaintenanceAction action, IReadOnlyCollection<string> hosts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        return WriteResult.From(await PostAsync(
            "api/maintenance/" + action.ToString().ToLowerInvariant(),
            new JsonObject { ["hosts"] = new JsonArray([.. hosts.Select(h => JsonValue.Create(h))]) },
            cancellationToken).ConfigureAwait(false));
    }

    /// <summary><c>POST /api/maintenance/sla_drain</c>: Aurora's slaDrainHosts, draining tasks only as their jobs' SLA allows until <paramref name="timeoutSecs"/> have passed.</summary>
    public async Task<WriteResult> SlaDrainHostsAsync(IReadOnlyCollection<string> hosts, SlaPolicy defaultSlaPolicy, long timeoutSecs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(defaultSlaPolicy);
        return WriteResult.From(await PostAsync(
            "api/maintenance/sla_drain",
            new JsonObject
            {
                ["hosts"] = new JsonArray([.. hosts.Select(h => JsonValue.Create(h))]),
                ["defaultSlaPolicy"] = Proto(defaultSlaPolicy),
                ["timeoutSecs"] = timeoutSecs,
            },
            cancellationToken).ConfigureAwait(false));
    }

    /// <summary><c>POST /api/backups</c>: answers the backup.</summary>
    public async Task<JsonObject> BackupNowAsync(CancellationToken cancellationToken = default) =>
        Views.Object(await PostAsync("api/backups", null, cancellationToken).ConfigureAwait(false));

    /// <summary><c>GET /api/backups</c>: oldest first.</summary>
    public async Task<IReadOnlyList<JsonObject>> ListBackupsAsync(CancellationToken cancellationToken = default) =>
        Views.List(await GetAsync("api/backups", cancellationToken).ConfigureAwait(false), "backups");

    /// <summary><c>POST /api/recovery/stage</c>.</summary>
    public async Task<WriteResult> StageRecoveryAsync(string backupId, CancellationToken cancellationToken = default) =>
        WriteResult.From(await PostAsync("api/recovery/stage", new JsonObject { ["backupId"] = backupId }, cancellationToken).ConfigureAwait(false));

    /// <summary><c>GET /api/recovery</c>: <c>{"staged", "backupId", "position", "taskCount"}</c>.</summary>
    public async Task<JsonObject> GetRecoveryAsync(CancellationToken cancellationToken = default) =>
        Views.Object(await GetAsync("api/recovery", cancellationToken).ConfigureAwait(false));

    /// <summary><c>GET /api/recovery/tasks</c>: tasks of the staged backup.</summary>
    public async Task<IReadOnlyList<JsonObject>> GetRecoveryTasksAsync(TaskQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return Views.List(await GetAsync("api/recovery/tasks" + query.ToQueryString(), cancellationToken).ConfigureAwait(false), "tasks");
    }

    /// <summary><c>POST /api/recovery/tasks/delete</c>: answers how many were deleted. Null filters are left out.</summary>
    public async Task<long> DeleteRecoveryTasksAsync(
        IReadOnlyCollection<JobKey>? jobs,
        IReadOnlyCollection<string>? taskIds,
        IReadOnlyCollection<string>? statuses,
        CancellationToken cancellationToken = default)
    {
        var body = new JsonObject();
        if (jobs is not null)
        {
            body["jobs"] = new JsonArray([.. jobs.Select(j => JsonValue.Create($"{j.Role}/{j.Environment}/{j.Name}"))]);
        }

        if (taskIds is not null)
        {
            body["taskIds"] = new JsonArray([.. taskIds.Select(t => JsonValue.Create(t))]);
        }

        if (statuses is not null)
        {
            body["statuses"] = new JsonArray([.. statuses.Select(s => JsonValue.Create(s))]);
        }

        var answer = Views.Object(await PostAsync("api/recovery/tasks/delete", body, cancellationToken).ConfigureAwait(false));
        return Views.Long(answer, "deleted") ?? 0;
    }

    /// <summary><c>POST /api/recovery/commit</c>.</summary>
    public async Task<WriteResult> CommitRecoveryAsync(CancellationToken cancellationToken = default) =>
        WriteResult.From(await PostAsync("api/recovery/commit", null, cancellationToken).ConfigureAwait(false));

    /// <summary><c>POST /api/recovery/unload</c>.</summary>
    public async Task<WriteResult> UnloadRecoveryAsync(CancellationToken cancellationToken = default) =>
        WriteResult.From(await PostAsync("api/recovery/unload", null, cancellationToken).ConfigureAwait(false));

    /// <summary><c>POST /api/snapshot</c>.</summary>
    public async Task<WriteResult> SnapshotAsync(CancellationToken cancellationToken = default) =>
        WriteResult.From(await PostAsync("api/snapshot", null, cancellationToken).ConfigureAwait(false));

    /// <summary><c>GET /api/scheduler</c>: <c>{"cluster", "leader", "leading", "replica": {...}}</c>.</summary>
    public async Task<JsonObject> GetSchedulerAsync(CancellationToken cancellationToken = default) =>
        Views.Object(await GetAsync("api/scheduler", cancellationToken).ConfigureAwait(false));

    /// <summary>A message in its protobuf JSON form (docs/api.md: lowerCamelCase, enums by proto name).</summary>
    public static JsonNode Proto(IMessage message) => JsonNode.Parse(JsonFormatter.Default.Format(message))!;

    private static string JobPath(string prefix, JobKey job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return $"{prefix}/{Segment(job.Role)}/{Segment(job.Environment)}/{Segment(job.Name)}";
    }

    private static JsonArray? Instances(IReadOnlyCollection<int>? instances) =>
        instances is null ? null : new JsonArray([.. instances.Select(i => JsonValue.Create(i))]);
}

/// <summary>What <c>POST /api/updates/{key}/{id}/{action}</c> does.</summary>
public enum UpdateAction
{
    Pause,
    Resume,
    Abort,
    Rollback,
    Pulse,
}

/// <summary>What <c>POST /api/maintenance/{action}</c> does.</summary>
public enum MaintenanceAction
{
    Deactivate,
    Drain,
    Activate,
}
