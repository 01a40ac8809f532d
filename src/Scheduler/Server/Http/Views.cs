using System.Text.Json.Nodes;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Agents;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Validation;
using Aurora.Storage.Backups;

namespace Aurora.Scheduler.Server.Http;

/// <summary>The JSON shapes of docs/api.md ("Views"), built from the projections; copies, never live views.</summary>
internal static class Views
{
    public static JsonObject Key(JobKey key) => new()
    {
        ["role"] = key.Role,
        ["environment"] = key.Environment,
        ["name"] = key.Name,
    };

    public static JsonObject UpdateKey(JobUpdateKey key) => new() { ["job"] = Key(key.Job), ["id"] = key.Id };

    /// <param name="agents">Placement's pending reasons and the agents' sandbox addresses; null for tasks that are not live (staged recovery).</param>
    public static JsonObject Task(TaskRecord task, bool withEvents, AgentServices? agents)
    {
        var ports = new JsonObject();
        foreach (var port in task.Ports)
        {
            ports[port.Name] = port.Port;
        }

        var latest = task.LatestEvent;
        var view = new JsonObject
        {
            ["taskId"] = task.TaskId,
            ["job"] = Key(task.Job),
            ["instance"] = task.InstanceId,
            ["status"] = TaskStatuses.Name(task.Status),
            ["host"] = task.Host,
            ["agentId"] = task.AgentId,
            ["ports"] = ports,
            ["failureCount"] = task.FailureCount,
            ["ancestorId"] = task.AncestorId,
            ["statusTime"] = ApiJson.Time(latest.TimeMicros),
            ["message"] = latest.Message,
        };
        if (task.Status == ScheduleStatus.Pending && agents is not null)
        {
            view["pendingReason"] = agents.PendingReason(task.TaskId);
        }

        if (task.AgentId is { } agentId && agents?.Registry.Find(agentId)?.SandboxUrl is { } sandbox)
        {
            view["sandboxUrl"] = $"{sandbox.TrimEnd('/')}/tasks/{Uri.EscapeDataString(task.TaskId)}";
        }

        if (withEvents)
        {
            var events = new JsonArray();
            foreach (var e in task.Events)
            {
                events.Add(new JsonObject
                {
                    ["status"] = TaskStatuses.Name(e.Status),
                    ["time"] = ApiJson.Time(e.TimeMicros),
                    ["message"] = e.Message,
                    ["scheduler"] = e.Host,
                });
            }

            view["events"] = events;
        }

        return view;
    }

    /// <summary>The configuration a job runs: its cron template, else its newest active task's with the active instance count.</summary>
    public static JobConfiguration? Configuration(SchedulerState state, JobKey job)
    {
        if (state.FindCronJob(job) is { } cron)
        {
            return cron.Config;
        }

        var active = state.ActiveInstances(job);
        if (active.Count == 0)
        {
            return null;
        }

        var newest = active.Values.MaxBy(t => t.Events[0].TimeMicros)!;
        return new JobConfiguration { Key = job.Clone(), Task = newest.Config.Clone(), InstanceCount = active.Count };
    }

    public static JsonObject JobSummary(SchedulerState state, JobKey job)
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var task in state.TasksOf(job))
        {
            var name = TaskStatuses.Name(task.Status);
            counts[name] = counts.GetValueOrDefault(name) + 1;
        }

        var taskCounts = new JsonObject();
        foreach (var (status, count) in counts)
        {
            taskCounts[status] = count;
        }

        var config = Configuration(state, job);
        var cron = state.FindCronJob(job);
        return new JsonObject
        {
            ["job"] = Key(job),
            ["cron"] = cron is not null,
            ["cronSchedule"] = cron?.Config.CronSchedule,
            ["instanceCount"] = config?.InstanceCount ?? 0,
            ["tier"] = config?.Task.Tier,
            ["service"] = config?.Task.IsService ?? false,
            ["taskCounts"] = taskCounts,
        };
    }

    public static JsonObject Resources(Resources r) => new()
    {
        ["numCpus"] = r.NumCpus,
        ["ramMb"] = r.RamMb,
        ["diskMb"] = r.DiskMb,
    };

    public static JsonObject Quota(SchedulerState state, string role)
    {
        var usage = QuotaCalculator.Consumption(state, role);
        return new JsonObject
        {
            ["role"] = role,
            ["quota"] = Resources(state.QuotaOf(role)),
            ["prodSharedConsumption"] = Resources(usage.ProdShared),
            ["prodDedicatedConsumption"] = Resources(usage.ProdDedicated),
            ["nonProdSharedConsumption"] = Resources(usage.NonProdShared),
            ["nonProdDedicatedConsumption"] = Resources(usage.NonProdDedicated),
        };
    }

    public static JsonObject UpdateSummary(JobUpdateRecord update)
    {
        var last = update.Events.Count > 0 ? update.Events[^1] : null;
        return new JsonObject
        {
            ["key"] = UpdateKey(update.Key),
            ["status"] = ProtoNames.Of(update.Status),
            ["user"] = update.User,
            ["createdAt"] = ApiJson.Time(update.CreatedMicros),
            ["lastModifiedAt"] = ApiJson.Time(update.LastModifiedMicros),
            ["message"] = string.IsNullOrEmpty(last?.Message) ? null : last.Message,
        };
    }

    public static JsonObject UpdateDetails(JobUpdateRecord update)
    {
        var view = UpdateSummary(update);
        view["events"] = new JsonArray([.. update.Events.Select(e => (JsonNode)new JsonObject
        {
            ["status"] = ProtoNames.Of(e.Status),
            ["time"] = ApiJson.Time(e.TimeMicros),
            ["user"] = e.User,
            ["message"] = string.IsNullOrEmpty(e.Message) ? null : e.Message,
        })]);
        view["instanceEvents"] = new JsonArray([.. update.InstanceEvents.Select(e => (JsonNode)new JsonObject
        {
            ["instance"] = e.InstanceId,
            ["action"] = ProtoNames.Of(e.Action),
            ["time"] = ApiJson.Time(e.TimeMicros),
            ["message"] = string.IsNullOrEmpty(e.Message) ? null : e.Message,
        })]);
        view["settings"] = ApiJson.Node(update.Instructions.Settings);
        view["instructions"] = ApiJson.Node(update.Instructions);
        return view;
    }

    public static JsonObject Backup(BackupInfo backup) => new()
    {
        ["id"] = Path.GetFileName(backup.Path),
        ["position"] = backup.Position,
        ["createdAt"] = ApiJson.Time(backup.CreatedAt),
        ["cluster"] = backup.ClusterName,
        ["sizeBytes"] = backup.BlobLength,
    };

    /// <summary>A host's mode; with <c>slaPolicy</c> and <c>timeoutSecs</c> while an SLA-aware drain request (slaDrainHosts) is on record.</summary>
    public static JsonObject Maintenance(string host, SchedulerState state)
    {
        var record = state.FindHost(host);
        var view = new JsonObject
        {
            ["host"] = host,
            ["mode"] = ProtoNames.Of(record?.Mode ?? MaintenanceMode.None),
        };
        if (record?.Request is { DefaultSlaPolicy: { } policy } request)
        {
            view["slaPolicy"] = ApiJson.Node(policy);
            view["timeoutSecs"] = request.TimeoutSecs;
        }

        return view;
    }
}
