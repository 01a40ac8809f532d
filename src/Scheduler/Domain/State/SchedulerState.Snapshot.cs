using System.Security.Cryptography;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Google.Protobuf;

namespace Aurora.Scheduler.State;

public sealed partial class SchedulerState
{
    /// <summary>The snapshot format this version writes; it reads this one and older ones.</summary>
    public const uint SnapshotFormatVersion = 1;

    /// <summary>The type the storage layer records for a snapshot blob of this state.</summary>
    public static readonly string SnapshotBlobType = SchedulerSnapshot.Descriptor.FullName;

    private static readonly Comparison<JobKey> JobKeyOrder = (a, b) =>
        string.CompareOrdinal(a.Canonical(), b.Canonical());

    /// <summary>
    /// The projections as a canonical snapshot: collections sorted by key and configurations listed
    /// in first use, so two equal states give byte-identical encodings whatever their history.
    /// </summary>
    public SchedulerSnapshot ToSnapshot() => Capture().ToSnapshot();

    /// <summary>
    /// A view of the state as it is now that stays true while the state changes afterwards: what a
    /// snapshot is built from without holding the state still for the whole encoding.
    /// </summary>
    /// <remarks>
    /// Must be called while nothing applies (under the persistence layer's read lock). It copies
    /// each task's mutable fields and a reference to its history, which only ever grows (a grown
    /// history is a new array, and entries are never changed), and builds the small collections
    /// (hosts, quotas, cron jobs, updates) whole: about 25 ms per 100,000 tasks (the snapshot benchmark), against
    /// the several hundred milliseconds that encoding the whole snapshot takes. The protobuf messages it
    /// shares (configurations, attributes, update instructions and events) are never changed once
    /// applied.
    /// </remarks>
    public StateCapture Capture()
    {
        var tasks = new TaskView[_tasks.Count];
        var i = 0;
        foreach (var task in _tasks.Values)
        {
            tasks[i++] = new TaskView(task);
        }

        var rest = new SchedulerSnapshot { FormatVersion = SnapshotFormatVersion, FrameworkId = FrameworkId ?? string.Empty };
        var cronJobs = _cronJobs.Values.ToArray();
        Array.Sort(cronJobs, (a, b) => JobKeyOrder(a.Job, b.Job));
        rest.CronJobs.AddRange(cronJobs.Select(c => new CronJobSnapshot { Config = c.Config, LaunchPending = c.LaunchPending, ScheduledMicros = c.ScheduledMicros }));
        rest.Quotas.AddRange(_quotas.OrderBy(q => q.Key, StringComparer.Ordinal).Select(q => new RoleQuota { Role = q.Key, Quota = q.Value }));
        rest.Hosts.AddRange(_hosts.Values.OrderBy(h => h.Host, StringComparer.Ordinal).Select(h => new HostSnapshot
        {
            Attributes = h.Attributes,
            Mode = h.Mode,
            Request = h.Request,
        }));
        var updates = _updates.Values.ToArray();
        Array.Sort(updates, static (a, b) =>
        {
            var byJob = JobKeyOrder(a.Job, b.Job);
            return byJob != 0 ? byJob : string.CompareOrdinal(a.Key.Id, b.Key.Id);
        });
        foreach (var update in updates)
        {
            var record = new JobUpdateSnapshot
            {
                Key = update.Key,
                User = update.User,
                Instructions = update.Instructions,
                Status = update.Status,
                CreatedMicros = update.CreatedMicros,
                LastModifiedMicros = update.LastModifiedMicros,
            };
            record.Metadata.AddRange(update.Metadata);
            record.Events.AddRange(update.Events);
            record.InstanceEvents.AddRange(update.InstanceEvents);
            rest.JobUpdates.Add(record);
        }

        return new StateCapture(tasks, rest);
    }

    /// <summary>Builds the state a snapshot describes.</summary>
    /// <exception cref="InvalidDataException">The snapshot is from a newer version or inconsistent.</exception>
    public static SchedulerState FromSnapshot(SchedulerSnapshot snapshot)
    {
        var state = new SchedulerState();
        state.Load(snapshot);
        return state;
    }

    public static SchedulerState FromSnapshot(ReadOnlySpan<byte> blob) => FromSnapshot(SchedulerSnapshot.Parser.ParseFrom(blob));

    /// <summary>SHA-256 of the canonical snapshot encoding: equal exactly when the states are equal.</summary>
    /// <remarks>The encoding is hashed as it is written, to nowhere: the bytes are never held whole.</remarks>
    public byte[] StateHash() => Capture().Encoder().WriteTo(Stream.Null);

    /// <summary>The state hash of an encoded snapshot (what <see cref="StateHash"/> computes).</summary>
    public static byte[] HashOf(ReadOnlySpan<byte> snapshotBlob) => SHA256.HashData(snapshotBlob);

    public static string FormatHash(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);

    private void ReplaceWith(SchedulerSnapshot snapshot)
    {
        _tasks.Clear();
        _tasksByJob.Clear();
        _tasksByHost.Clear();
        foreach (var byStatus in _tasksByStatus)
        {
            byStatus?.Clear();
        }

        Array.Clear(_countByStatus);

        _jobsByRole.Clear();
        _quotas.Clear();
        _hosts.Clear();
        _updates.Clear();
        _activeUpdates.Clear();
        _updatesByJob.Clear();
        _cronJobs.Clear();
        _configs.Clear();
        FrameworkId = null;
        Load(snapshot);
    }

    private void Load(SchedulerSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.FormatVersion > SnapshotFormatVersion)
        {
            throw new InvalidDataException($"The snapshot has format version {snapshot.FormatVersion}; this version reads up to {SnapshotFormatVersion}. Upgrade before loading it.");
        }

        FrameworkId = string.IsNullOrEmpty(snapshot.FrameworkId) ? null : snapshot.FrameworkId;
        var configs = snapshot.TaskConfigs;
        var users = new int[configs.Count];
        foreach (var t in snapshot.Tasks)
        {
            if (t.ConfigIndex >= configs.Count)
            {
                throw new InvalidDataException($"Snapshot task {t.TaskId} refers to configuration {t.ConfigIndex} of {configs.Count}.");
            }

            users[t.ConfigIndex]++;
        }

        // Interned once per distinct configuration: hashing a whole configuration per task would
        // dominate the load.
        var shared = new TaskConfig[configs.Count];
        for (var i = 0; i < configs.Count; i++)
        {
            shared[i] = users[i] == 0 ? configs[i] : _configs.Acquire(configs[i], users[i]);
        }

        foreach (var t in snapshot.Tasks)
        {

            if (_tasks.ContainsKey(t.TaskId) || t.Events.Count == 0 || t.Status == ScheduleStatus.Unspecified)
            {
                throw new InvalidDataException($"Snapshot task {t.TaskId} is duplicated, has no history or no status.");
            }

            var task = new TaskRecord(t.TaskId, shared[t.ConfigIndex], t.InstanceId, NullIfEmpty(t.AncestorId), t.FailureCount, t.PenaltyMs)
            {
                Status = t.Status,
                AgentId = _strings.Share(t.AgentId),
                Host = _strings.Share(t.Host),
                Ports = t.Ports.Count == 0 ? [] : [.. t.Ports],
                TimesPartitioned = t.TimesPartitioned,
            };
            foreach (var e in t.Events)
            {
                task.AddEvent(new TaskEvent(e.TimeMicros, e.Status, _strings.Share(e.Message), _strings.Share(e.Host)));
            }

            AddTask(task);
        }

        foreach (var cron in snapshot.CronJobs)
        {
            _cronJobs.Add(cron.Config.Key, new CronJobRecord(cron.Config, cron.ScheduledMicros) { LaunchPending = cron.LaunchPending });
            RoleJobs(cron.Config.Key.Role).Add(cron.Config.Key);
        }

        foreach (var quota in snapshot.Quotas)
        {
            _quotas[quota.Role] = quota.Quota ?? new Resources();
        }

        foreach (var host in snapshot.Hosts)
        {
            var record = HostFor(host.Attributes.Host);
            record.Attributes = host.Attributes;
            record.Mode = host.Mode;
            record.Request = host.Request;
        }

        foreach (var u in snapshot.JobUpdates)
        {
            var update = new JobUpdateRecord(u.Key, u.User, [.. u.Metadata], u.Instructions, u.CreatedMicros)
            {
                Status = u.Status,
                LastModifiedMicros = u.LastModifiedMicros,
            };
            foreach (var e in u.Events)
            {
                update.AddEvent(e);
            }

            foreach (var e in u.InstanceEvents)
            {
                update.AddInstanceEvent(e);
            }

            AddUpdate(update);
        }
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
