using System.Globalization;
using System.Text;
using System.Text.Json;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Aurora.LogTool;

/// <summary>
/// How <c>aurora-log dump</c> shows one scheduler event: a one-line summary in Aurora's words for
/// text (job keys as <c>role/env/name</c>, statuses as <c>RUNNING</c>, configurations reduced to
/// instances, resources and tier), and the event's protobuf JSON for <c>--json</c> and <c>--verbose</c>.
/// </summary>
/// <remarks>Stateless; safe to share.</remarks>
internal static class EventFormatter
{
    private static readonly OneofDescriptor KindOneof = Event.Descriptor.Oneofs[0];
    private static readonly JsonFormatter ProtoJson = new(JsonFormatter.Settings.Default);

    /// <summary>The event's type name (<c>TaskStateChanged</c>); <c>Unknown</c> for a kind a newer scheduler wrote.</summary>
    public static string TypeName(Event e) => e.KindCase == Event.KindOneofCase.None ? "Unknown" : e.KindCase.ToString();

    /// <summary>The event's own message (a <see cref="TaskStateChanged"/>, ...), or null for an unknown kind.</summary>
    public static IMessage? Body(Event e) => KindOneof.Accessor.GetCaseFieldDescriptor(e)?.Accessor.GetValue(e) as IMessage;

    /// <summary>Writes the event's own message as protobuf JSON (an empty object for an unknown kind).</summary>
    public static void WriteJson(Utf8JsonWriter writer, Event e)
    {
        var body = Body(e);
        using var document = JsonDocument.Parse(body is null ? "{}" : ProtoJson.Format(body));
        document.RootElement.WriteTo(writer);
    }

    /// <summary>The event's fields as <c>name=value</c> pairs, space-separated; with <paramref name="verbose"/>, its whole JSON too.</summary>
    public static string Fields(Event e, bool verbose)
    {
        var f = new FieldWriter();
        switch (e.KindCase)
        {
            case Event.KindOneofCase.JobCreated:
                JobConfig(f, e.JobCreated.Config);
                break;
            case Event.KindOneofCase.JobConfigReplaced:
                JobConfig(f, e.JobConfigReplaced.Config);
                break;
            case Event.KindOneofCase.JobKilled:
                f.Add("job", Job(e.JobKilled.Job));
                f.Add("instances", e.JobKilled.Instances.Count == 0 ? "all" : Instances(e.JobKilled.Instances));
                f.AddIfSet("message", e.JobKilled.Message);
                break;
            case Event.KindOneofCase.InstancesAdded:
                f.Add("job", Job(e.InstancesAdded.Job));
                f.Add("instances", Instances(e.InstancesAdded.Instances));
                break;
            case Event.KindOneofCase.TasksCreated:
                TasksCreated(f, e.TasksCreated);
                break;
            case Event.KindOneofCase.TaskAssigned:
                var assigned = e.TaskAssigned;
                f.Add("task", assigned.TaskId);
                f.Add("host", assigned.Host);
                f.Add("agent", assigned.AgentId);
                f.AddIfSet("ports", string.Join(',', assigned.Ports.Select(p => $"{p.Name}:{p.Port.ToString(CultureInfo.InvariantCulture)}")));
                f.AddIfSet("message", assigned.Message);
                break;
            case Event.KindOneofCase.TaskStateChanged:
                var changed = e.TaskStateChanged;
                f.Add("task", changed.TaskId);
                f.AddRaw($"{TaskStatuses.Name(changed.From)} -> {TaskStatuses.Name(changed.To)}");
                f.AddIfSet("message", changed.Message);
                f.AddIfSet("host", changed.Host);
                break;
            case Event.KindOneofCase.TasksPruned:
                f.Add("tasks", string.Join(',', e.TasksPruned.TaskIds));
                f.AddIfSet("reason", e.TasksPruned.Reason);
                break;
            case Event.KindOneofCase.QuotaSet:
                f.Add("role", e.QuotaSet.Role);
                Resources(f, e.QuotaSet.Quota);
                break;
            case Event.KindOneofCase.HostAttributesSaved:
                var attributes = e.HostAttributesSaved.Attributes ?? new HostAttributes();
                f.Add("host", attributes.Host);
                f.AddIfSet("agent", attributes.AgentId);
                f.AddIfSet("attributes", string.Join(';', attributes.Attributes.Select(a => $"{a.Name}:{string.Join(',', a.Values)}")));
                break;
            case Event.KindOneofCase.HostMaintenanceChanged:
                var maintenance = e.HostMaintenanceChanged;
                f.Add("host", maintenance.Host);
                f.Add("mode", ProtoNames.Of(maintenance.Mode));
                if (maintenance.Request is { } request)
                {
                    f.Add("drain", request.DefaultSlaPolicy is null ? "forced" : "sla-aware");
                    f.AddIfSet("timeout_secs", request.TimeoutSecs == 0 ? string.Empty : Number(request.TimeoutSecs));
                }

                break;
            case Event.KindOneofCase.JobUpdateStarted:
                var started = e.JobUpdateStarted;
                UpdateKey(f, started.Key);
                f.Add("user", started.User);
                f.Add("status", ProtoNames.Of(started.Status));
                if (started.Instructions?.DesiredState is { } desired)
                {
                    f.Add("instances", RangesText(desired.Instances));
                    TaskConfig(f, desired.Task);
                }
                else
                {
                    f.Add("instances", "none (removes instances only)");
                }

                f.AddIfSet("message", started.Message);
                break;
            case Event.KindOneofCase.JobUpdateStateChanged:
                var updateChanged = e.JobUpdateStateChanged;
                UpdateKey(f, updateChanged.Key);
                f.AddRaw($"{ProtoNames.Of(updateChanged.From)} -> {ProtoNames.Of(updateChanged.To)}");
                f.AddIfSet("message", updateChanged.Message);
                break;
            case Event.KindOneofCase.JobUpdateInstanceEvent:
                var instanceEvent = e.JobUpdateInstanceEvent;
                UpdateKey(f, instanceEvent.Key);
                f.Add("instance", Number(instanceEvent.InstanceId));
                f.Add("action", ProtoNames.Of(instanceEvent.Action));
                f.AddIfSet("message", instanceEvent.Message);
                break;
            case Event.KindOneofCase.JobUpdatesPruned:
                f.Add("updates", string.Join(',', e.JobUpdatesPruned.Keys.Select(k => $"{Job(k.Job)}/{k.Id}")));
                f.AddIfSet("reason", e.JobUpdatesPruned.Reason);
                break;
            case Event.KindOneofCase.CronJobScheduled:
                JobConfig(f, e.CronJobScheduled.Config);
                break;
            case Event.KindOneofCase.CronJobDescheduled:
                f.Add("job", Job(e.CronJobDescheduled.Job));
                break;
            case Event.KindOneofCase.CronJobTriggered:
                f.Add("job", Job(e.CronJobTriggered.Job));
                f.Add("outcome", ProtoNames.Of(e.CronJobTriggered.Outcome));
                break;
            case Event.KindOneofCase.FrameworkIdSaved:
                f.Add("framework_id", e.FrameworkIdSaved.FrameworkId);
                break;
            case Event.KindOneofCase.SnapshotCommitted:
                f.Add("snapshot_position", Number(e.SnapshotCommitted.Position));
                f.Add("state_hash", Convert.ToHexStringLower(e.SnapshotCommitted.StateHash.Span));
                break;
            case Event.KindOneofCase.RecoveryCommitted:
                f.Add("backup", e.RecoveryCommitted.BackupId);
                f.Add("backup_position", Number(e.RecoveryCommitted.BackupPosition));
                f.Add("state_bytes", Number(e.RecoveryCommitted.State.Length));
                break;
            default:
                f.AddRaw("(an event kind this version does not know; a newer Aurora.NET wrote it)");
                break;
        }

        if (verbose && Body(e) is { } body)
        {
            f.Add("fields", LogDirectory.Json(w => WriteJson(w, e), indented: false));
        }

        return f.ToString();
    }

    /// <summary><c>role/env/name</c>.</summary>
    public static string Job(JobKey? key) => key is null ? "(none)" : key.Canonical();

    /// <summary><c>cpu=1 ram=128MB disk=256MB</c>.</summary>
    public static string ResourcesText(Resources? r) =>
        r is null ? "cpu=0 ram=0MB disk=0MB" : $"cpu={Number(r.NumCpus)} ram={Number(r.RamMb)}MB disk={Number(r.DiskMb)}MB";

    /// <summary>The value as is when it is one plain word, else as a JSON string, so every field splits on spaces.</summary>
    public static string Quote(string value) =>
        value.Length > 0 && !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '"' or '\\' or '=')
            ? value
            : JsonSerializer.Serialize(value);

    public static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    private static void JobConfig(FieldWriter f, JobConfiguration? config)
    {
        if (config is null)
        {
            f.Add("job", "(none)");
            return;
        }

        f.Add("job", Job(config.Key));
        if (config.CronSchedule.Length > 0)
        {
            f.Add("cron", config.CronSchedule);
            f.Add("collision", ProtoNames.Of(config.CronCollisionPolicy));
        }

        f.Add("instances", Number(config.InstanceCount));
        TaskConfig(f, config.Task);
    }

    private static void TaskConfig(FieldWriter f, TaskConfig? task)
    {
        if (task is null)
        {
            return;
        }

        f.AddRaw(ResourcesText(task.Resources));
        f.AddIfSet("tier", task.Tier);
        if (task.Production)
        {
            f.Add("production", "true");
        }
    }

    private static void TasksCreated(FieldWriter f, TasksCreated created)
    {
        if (created.Config is null)
        {
            // A reschedule: each new task runs its ancestor's configuration.
            f.Add("config", "ancestor's");
        }
        else
        {
            f.Add("job", Job(created.Config.Job));
            TaskConfig(f, created.Config);
        }

        var tasks = created.Tasks.Select(t =>
        {
            var details = new List<string> { $"instance {Number(t.InstanceId)}", TaskStatuses.Name(t.Status) };
            if (t.AncestorId.Length > 0)
            {
                details.Add($"ancestor {t.AncestorId}");
            }

            if (t.FailureCount > 0)
            {
                details.Add($"failures {Number(t.FailureCount)}");
            }

            if (t.PenaltyMs > 0)
            {
                details.Add($"penalty {Number(t.PenaltyMs)}ms");
            }

            if (t.Message.Length > 0)
            {
                details.Add(t.Message);
            }

            return $"{t.TaskId} ({string.Join(", ", details)})";
        });
        f.Add("tasks", string.Join("; ", tasks));
    }

    private static void Resources(FieldWriter f, Resources? r) => f.AddRaw(ResourcesText(r));

    private static void UpdateKey(FieldWriter f, JobUpdateKey? key)
    {
        f.Add("job", Job(key?.Job));
        f.Add("update", key?.Id ?? string.Empty);
    }

    private static string Instances(IEnumerable<int> instances) => RangesText(Ranges.Of(instances));

    /// <summary><c>0-2,5</c>.</summary>
    private static string RangesText(IEnumerable<Aurora.Scheduler.Protos.Range> ranges) =>
        string.Join(',', ranges.Select(r => r.First == r.Last ? Number(r.First) : $"{Number(r.First)}-{Number(r.Last)}"));

    /// <summary>Builds <c>name=value</c> pairs separated by single spaces.</summary>
    private sealed class FieldWriter
    {
        private readonly StringBuilder _text = new();

        public void Add(string name, string value) => AddRaw($"{name}={Quote(value)}");

        public void AddIfSet(string name, string value)
        {
            if (value.Length > 0)
            {
                Add(name, value);
            }
        }

        public void AddRaw(string text)
        {
            if (_text.Length > 0)
            {
                _text.Append(' ');
            }

            _text.Append(text);
        }

        public override string ToString() => _text.ToString();
    }
}
