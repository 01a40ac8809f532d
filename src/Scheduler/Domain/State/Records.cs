using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.State;

/// <summary>A host the scheduler knows: its attributes (from its agent) and its maintenance mode.</summary>
/// <remarks>Owned by <see cref="SchedulerState"/>; see its threading contract.</remarks>
public sealed class HostRecord(string host)
{
    public string Host { get; } = host;

    /// <summary>The attributes the agent last advertised; empty when only maintenance was recorded.</summary>
    public HostAttributes Attributes { get; internal set; } = new() { Host = host };

    public MaintenanceMode Mode { get; internal set; } = MaintenanceMode.None;

    /// <summary>The drain request while the host is DRAINING or DRAINED.</summary>
    public HostMaintenanceRequest? Request { get; internal set; }

    /// <summary>Every value of the attribute named <paramref name="name"/> (values of repeated attributes are unioned).</summary>
    public IEnumerable<string> AttributeValues(string name) =>
        Attributes.Attributes.Where(a => a.Name == name).SelectMany(a => a.Values);
}

/// <summary>A cron job's stored template (Aurora's CronJobStore).</summary>
public sealed class CronJobRecord(JobConfiguration config, long scheduledMicros)
{
    public JobConfiguration Config { get; internal set; } = config;

    public JobKey Job => Config.Key;

    /// <summary>A KILL_EXISTING trigger waits for the previous run's tasks to terminate.</summary>
    public bool LaunchPending { get; internal set; }

    public long ScheduledMicros { get; } = scheduledMicros;
}

/// <summary>A job update with its history (Aurora's JobUpdateDetails).</summary>
/// <remarks>Owned by <see cref="SchedulerState"/>; see its threading contract.</remarks>
public sealed class JobUpdateRecord(JobUpdateKey key, string user, IReadOnlyList<Metadata> metadata, JobUpdateInstructions instructions, long createdMicros)
{
    private readonly List<JobUpdateEventRecord> _events = [];
    private readonly List<JobInstanceUpdateEventRecord> _instanceEvents = [];

    public JobUpdateKey Key { get; } = key;

    public JobKey Job => Key.Job;

    /// <summary>Who started the update; while the update is active, the holder of the job's lock.</summary>
    public string User { get; } = user;

    public IReadOnlyList<Metadata> Metadata { get; } = metadata;

    public JobUpdateInstructions Instructions { get; } = instructions;

    public JobUpdateStatus Status { get; internal set; }

    public long CreatedMicros { get; } = createdMicros;

    public long LastModifiedMicros { get; internal set; } = createdMicros;

    public IReadOnlyList<JobUpdateEventRecord> Events => _events;

    public IReadOnlyList<JobInstanceUpdateEventRecord> InstanceEvents => _instanceEvents;

    public bool IsActive => JobUpdateStates.IsActive(Status);

    internal void AddEvent(JobUpdateEventRecord record) => _events.Add(record);

    internal void AddInstanceEvent(JobInstanceUpdateEventRecord record) => _instanceEvents.Add(record);

    /// <summary>A record equal to this one with histories of its own (<see cref="SchedulerState.Clone"/>).</summary>
    internal JobUpdateRecord Copy()
    {
        var copy = new JobUpdateRecord(Key, User, Metadata, Instructions, CreatedMicros) { Status = Status, LastModifiedMicros = LastModifiedMicros };
        copy._events.AddRange(_events);
        copy._instanceEvents.AddRange(_instanceEvents);
        return copy;
    }
}
