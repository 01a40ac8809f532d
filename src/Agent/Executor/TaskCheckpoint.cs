using System.Text.Json.Serialization;
using Aurora.Agent.Protocol;

namespace Aurora.Agent.Executor;

/// <summary>Where a task is in its life on the agent.</summary>
internal enum TaskPhase
{
    /// <summary>Regular processes run, restart and are health checked.</summary>
    Active,

    /// <summary>The outcome is decided; the remaining regular processes got SIGTERM and are waited for (SIGKILL at the deadline).</summary>
    Stopping,

    /// <summary>Final processes run, bounded by the task's finalization wait.</summary>
    Finalizing,

    /// <summary>The outcome has been reported; nothing runs.</summary>
    Terminal,
}

internal enum ProcessStatus
{
    /// <summary>Not running now: waiting for its order predecessors, for min_duration, or for a rerun.</summary>
    Waiting,
    Running,
    Succeeded,

    /// <summary>Failed max_failures times: the task fails.</summary>
    Failed,

    /// <summary>Stopped by the executor (the task ended or was killed).</summary>
    Killed,

    /// <summary>Never ran: the task ended first, or an order predecessor of a final process did not succeed.</summary>
    Skipped,
}

/// <summary>One run of a process: the process group the executor started for it.</summary>
/// <param name="Run">0, 1, 2...: the run's log directory .logs/{process}/{run}.</param>
/// <param name="Pid">The wrapper bash, which is also the process group id (setsid).</param>
/// <param name="StartTime">The wrapper's start time in /proc (clock ticks after boot), to tell it from a later process with the same pid.</param>
/// <param name="StartedAtMs">When the run started, ms since the epoch (for min_duration).</param>
internal sealed record ProcessRun(int Run, int Pid, long StartTime, long StartedAtMs)
{
    /// <summary>The run's process group: the wrapper leads its own session, so this is always <see cref="Pid"/>; written out for whoever reads a checkpoint.</summary>
    public int Pgid => Pid;
}

/// <summary>A process of the task: what it has done so far and what runs now.</summary>
internal sealed class ProcessCheckpoint
{
    public required string Name { get; init; }

    public ProcessStatus Status { get; set; }

    /// <summary>Runs started so far; also the number of the next run.</summary>
    public int Runs { get; set; }

    public int Failures { get; set; }

    public long LastStartedAtMs { get; set; }

    public ProcessRun? Current { get; set; }

    /// <summary>The exit status of the last run that recorded one.</summary>
    public int? LastExitStatus { get; set; }
}

/// <summary>
/// Everything the executor knows about a task, as written to <c>checkpoints/{taskId}.json</c>. A
/// restarted agent resumes from it: running process groups are found again by pid and start time,
/// deadlines are absolute, and <see cref="History"/> holds every reported transition.
/// </summary>
internal sealed class TaskCheckpoint
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required TaskLaunch Launch { get; init; }

    public List<TaskTransition> History { get; init; } = [];

    public TaskPhase Phase { get; set; }

    /// <summary>The terminal state decided when the task left <see cref="TaskPhase.Active"/>, reported once finalizers are done.</summary>
    public AgentTaskState? Outcome { get; set; }

    public string? OutcomeMessage { get; set; }

    /// <summary>Stopping: when SIGKILL follows SIGTERM. Finalizing: when final processes are killed.</summary>
    public long PhaseDeadlineMs { get; set; }

    /// <summary>SIGKILL has been sent in the current phase.</summary>
    public bool Escalated { get; set; }

    public List<ProcessCheckpoint> Processes { get; init; } = [];

    [JsonIgnore]
    public AgentTaskState? State => History.Count == 0 ? null : History[^1].State;
}
