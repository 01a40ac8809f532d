using Aurora.Agent.Protocol;

namespace Aurora.Agent.Executor;

/// <summary>
/// Runs tasks as process groups in per-task sandboxes under the work dir and remembers them on
/// disk, so that a restarted agent picks its tasks up again (or reports them LOST) and never leaves
/// a process behind that nobody tracks.
/// </summary>
/// <remarks>Thread-safe: the heartbeat loop, the HTTP server and timers call it concurrently.</remarks>
public interface ITaskExecutor : IAsyncDisposable
{
    /// <summary>
    /// Reads the checkpoints left by an earlier run of the agent and reattaches to every task whose
    /// processes are still alive; a task whose processes are gone without a recorded exit becomes
    /// LOST with the reason. Call once, before anything else.
    /// </summary>
    IReadOnlyList<TaskReport> Recover();

    /// <summary>
    /// Starts the task; true when it took on a new task (the inventory changed), false when the id
    /// is already held (a repeated launch changes nothing) or refused.
    /// </summary>
    /// <remarks>
    /// An id that <see cref="ProtocolLimits.TaskIdProblem"/> refuses is not held and never reported:
    /// no heartbeat may carry it. Any other launch that cannot be materialised (its sandbox cannot
    /// be created, its checkpoint cannot be written) is held as FAILED with the reason, in memory
    /// only, since nothing of it ran. Failures never come back as exceptions.
    /// </remarks>
    bool Launch(TaskLaunch launch);

    /// <summary>
    /// Stops the task gracefully: SIGTERM to its process groups, SIGKILL after the grace period,
    /// finalizers run, then KILLED. True when a kill began; false for unknown ids and tasks already ending.
    /// </summary>
    bool Kill(string taskId, string reason, TimeSpan gracePeriod);

    /// <summary>Every task held: non-terminal ones and terminal ones not yet forgotten.</summary>
    IReadOnlyList<TaskReport> Inventory();

    /// <summary>Drops a terminal task from the inventory and its checkpoint (its sandbox stays on disk); true when it did. Non-terminal or unknown ids are ignored (false).</summary>
    bool Forget(string taskId);

    /// <summary>
    /// Deletes the sandboxes of tasks no longer held (forgotten, or left by an earlier agent) that
    /// were last touched before <paramref name="before"/>; returns their task ids. The Mesos agent's
    /// <c>--gc_delay</c>: without it the work dir only grows.
    /// </summary>
    IReadOnlyList<string> CollectSandboxes(DateTimeOffset before);

    /// <summary>The task's sandbox directory (kept after <see cref="Forget"/> while it is on disk), or null for an unknown task.</summary>
    string? SandboxOf(string taskId);

    /// <summary>What each task held has used, as last measured (CPU seconds, memory, disk); empty when the executor does not isolate tasks.</summary>
    IReadOnlyDictionary<string, TaskUsage> Usage() => new Dictionary<string, TaskUsage>(StringComparer.Ordinal);

    /// <summary>How tasks are isolated here, for /vars: <c>none</c>, <c>cgroups_v1</c> or <c>cgroups_v2</c>.</summary>
    string Isolation => "none";

    /// <summary>Raised after any task changes state (from a background thread); handlers must be quick.</summary>
    event Action? Changed;

    /// <summary>Kills every task and waits for them to end (dev clusters and tests); an agent that just stops leaves its tasks running for the next start to reattach.</summary>
    Task KillAllAsync(TimeSpan gracePeriod);
}
