using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aurora.Agent.Protocol;

/// <summary>
/// The agent protocol. An agent POSTs a <see cref="HeartbeatRequest"/> to <see cref="HeartbeatPath"/>
/// on the leading scheduler; the request registers the agent, advertises its resources and carries
/// its whole task inventory, and the answer says what to launch, what to kill and which terminal
/// tasks the scheduler has recorded (so the agent may forget them).
/// </summary>
/// <remarks>
/// Every message is a full statement of the sender's view, never a delta, so a lost, repeated or
/// reordered message does no harm and a scheduler that has just failed over needs nothing but the
/// log and the next heartbeat to reconcile: launches and kills are derived from the log's state and
/// the inventory, and a task's <see cref="TaskReport.History"/> lets the scheduler replay the
/// transitions it missed.
/// </remarks>
public static class AgentApi
{
    public const string HeartbeatPath = "/agent/v1/heartbeat";

    /// <summary>The longest a scheduler holds a heartbeat that has nothing to deliver.</summary>
    public const int MaxWaitMs = 30_000;

    /// <summary>camelCase properties, enums as upper-case names (STARTING), nulls omitted, duplicate keys refused.</summary>
    public static JsonSerializerOptions Json { get; } = CreateJsonOptions();

    private static JsonSerializerOptions CreateJsonOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,

            // A key given twice is refused: which of the two counts is not for the reader to guess.
            AllowDuplicateProperties = false,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseUpper, allowIntegerValues: false));
        options.TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver();
        options.MakeReadOnly();
        return options;
    }
}

/// <summary>The states an agent reports; the scheduler-only states (PENDING, KILLING, ...) never come from an agent.</summary>
public enum AgentTaskState
{
    Starting,
    Running,
    Finished,
    Failed,
    Killed,
    Lost,
}

public static class AgentTaskStates
{
    public static bool IsTerminal(AgentTaskState state) => state is not (AgentTaskState.Starting or AgentTaskState.Running);
}

/// <summary>A closed range of ports, e.g. 31000-31999.</summary>
public sealed record PortRange(int First, int Last)
{
    public int Count => Last - First + 1;
}

/// <summary>What an agent offers (or a task asks for).</summary>
public sealed record ResourceSet(double Cpus, long RamMb, long DiskMb, IReadOnlyList<PortRange> Ports, long Gpus = 0);

/// <summary>A host attribute, e.g. rack:r1; a value list because Mesos attributes may be sets.</summary>
public sealed record AgentAttribute(string Name, IReadOnlyList<string> Values);

/// <summary>One step of a task's life on the agent.</summary>
public sealed record TaskTransition(AgentTaskState State, long TimestampMs, string Message);

/// <summary>A task the agent holds, with every transition it went through there, oldest first; the last is its current state.</summary>
public sealed record TaskReport(string TaskId, IReadOnlyList<TaskTransition> History)
{
    public TaskTransition Current => History[^1];
}

/// <param name="AgentId">Stable across agent restarts (kept in the work dir); a new id on a known host means the old agent's tasks are gone.</param>
/// <param name="SandboxUrl">Where the agent serves sandboxes (http://host:port), for links from the scheduler.</param>
/// <param name="RevocableResources">Revocable capacity on top of <paramref name="Resources"/>, offered only to revocable-tier tasks.</param>
/// <param name="ContainerEngine">Whether a container engine (Docker) is usable on this host.</param>
/// <param name="Tasks">Every task the agent holds: running ones, and terminal ones until the scheduler acknowledges them.</param>
/// <param name="WaitMs">How long the scheduler may hold the request when it has nothing to deliver (0: answer at once).</param>
public sealed record HeartbeatRequest(
    string AgentId,
    string Hostname,
    string? SandboxUrl,
    IReadOnlyList<AgentAttribute> Attributes,
    ResourceSet Resources,
    ResourceSet? RevocableResources,
    bool ContainerEngine,
    IReadOnlyList<TaskReport> Tasks,
    int WaitMs);

/// <param name="Launch">Tasks assigned to this agent that its inventory lacks; launching is idempotent by task id.</param>
/// <param name="Kill">Tasks to stop: asked to be killed, or unknown to / already terminal in the scheduler.</param>
/// <param name="Acknowledged">Terminal tasks the scheduler has recorded: the agent may drop them from its inventory.</param>
/// <param name="HeartbeatIntervalMs">How often the agent should heartbeat when idle.</param>
/// <param name="ThermosExecutorFlags">The scheduler's -thermos_executor_flags, for information; the effective logger defaults travel with each launch.</param>
public sealed record HeartbeatResponse(
    IReadOnlyList<TaskLaunch> Launch,
    IReadOnlyList<TaskKill> Kill,
    IReadOnlyList<string> Acknowledged,
    int HeartbeatIntervalMs,
    string? ThermosExecutorFlags = null);

/// <summary>Stop a task: SIGTERM to each process group, SIGKILL after <paramref name="GracePeriodSecs"/>.</summary>
public sealed record TaskKill(string TaskId, string Reason, int GracePeriodSecs);

/// <summary>How a process's stdout/stderr are kept: <c>standard</c> (never rotated) or <c>rotate</c>.</summary>
/// <remarks>A field left unset (an empty mode, a size or count of 0) takes the next default: the task's, then the agent's.</remarks>
public sealed record LoggerSpec(string Mode, long RotateLogSizeMb, int RotateLogBackups)
{
    public const string Standard = "standard";
    public const string Rotate = "rotate";

    /// <summary>This spec with its unset fields taken from <paramref name="fallback"/>; <paramref name="fallback"/> itself when this is null.</summary>
    public static LoggerSpec Over(LoggerSpec? spec, LoggerSpec fallback)
    {
        ArgumentNullException.ThrowIfNull(fallback);
        return spec is null
            ? fallback
            : new LoggerSpec(
                string.IsNullOrEmpty(spec.Mode) ? fallback.Mode : spec.Mode,
                spec.RotateLogSizeMb > 0 ? spec.RotateLogSizeMb : fallback.RotateLogSizeMb,
                spec.RotateLogBackups > 0 ? spec.RotateLogBackups : fallback.RotateLogBackups);
    }
}

/// <summary>A Thermos process.</summary>
/// <param name="MaxFailures">Runs that may fail before the process (and task) fails; 0 means retry forever.</param>
/// <param name="Daemon">Rerun even after success.</param>
/// <param name="Ephemeral">The task does not wait for it to finish.</param>
/// <param name="MinDurationSecs">The least time between the starts of two runs.</param>
/// <param name="Final">A finalizer: runs after the other processes end, or on kill.</param>
/// <param name="Logger">Overrides the task's default logger for this process.</param>
public sealed record ProcessSpec(
    string Name,
    string Cmdline,
    int MaxFailures,
    bool Daemon,
    bool Ephemeral,
    int MinDurationSecs,
    bool Final,
    LoggerSpec? Logger);

/// <summary>Thermos health checking; a checked task is RUNNING only once healthy.</summary>
/// <param name="Kind"><c>http</c> (GET http://127.0.0.1:{ports["health"]}{Endpoint}) or <c>shell</c>.</param>
public sealed record HealthCheckSpec(
    string Kind,
    string? Endpoint,
    string? ExpectedResponse,
    int ExpectedResponseCode,
    string? ShellCommand,
    double InitialIntervalSecs,
    double IntervalSecs,
    double TimeoutSecs,
    int MaxConsecutiveFailures,
    int MinConsecutiveSuccesses)
{
    public const string Http = "http";
    public const string Shell = "shell";
}

public sealed record MountSpec(string HostPath, string ContainerPath, bool ReadOnly);

/// <summary>A container the task asks for: <c>docker</c>, or <c>mesos</c> with an image. A mesos container without an image runs as plain processes and is not sent.</summary>
public sealed record ContainerSpec(string Kind, string Image, IReadOnlyList<MountSpec> Volumes, IReadOnlyDictionary<string, string> DockerParameters)
{
    public const string Docker = "docker";
    public const string Mesos = "mesos";
}

/// <summary>Everything an agent needs to run one task.</summary>
/// <param name="Ports">The task's named ports, assigned from the agent's port ranges.</param>
/// <param name="ProcessOrder">Thermos order constraints: each list runs in sequence.</param>
/// <param name="DefaultLogger">The cluster-wide default from the scheduler's -thermos_executor_flags; null leaves the agent's own default.</param>
/// <param name="GlobalMounts">The scheduler's -global_container_mounts, for container tasks.</param>
public sealed record TaskLaunch(
    string TaskId,
    string Role,
    string Environment,
    string JobName,
    int InstanceId,
    double Cpus,
    long RamMb,
    long DiskMb,
    IReadOnlyDictionary<string, int> Ports,
    IReadOnlyList<ProcessSpec> Processes,
    IReadOnlyList<IReadOnlyList<string>> ProcessOrder,
    int FinalizationWaitSecs,
    HealthCheckSpec? HealthCheck,
    ContainerSpec? Container,
    LoggerSpec? DefaultLogger,
    IReadOnlyList<MountSpec> GlobalMounts);
