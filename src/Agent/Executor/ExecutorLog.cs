using Microsoft.Extensions.Logging;

namespace Aurora.Agent.Executor;

/// <summary>The executor's log messages, with stable event ids (4000-4099).</summary>
internal static partial class ExecutorLog
{
    [LoggerMessage(4000, LogLevel.Information, "Task {TaskId} is {State}: {Message}")]
    public static partial void Transition(ILogger logger, string taskId, string state, string message);

    [LoggerMessage(4001, LogLevel.Information, "Task {TaskId}: started process '{Process}' run {Run} as process group {Pid}")]
    public static partial void ProcessStarted(ILogger logger, string taskId, string process, int run, int pid);

    [LoggerMessage(4002, LogLevel.Information, "Task {TaskId}: process '{Process}' run {Run} ended: {Outcome}")]
    public static partial void ProcessEnded(ILogger logger, string taskId, string process, int run, string outcome);

    [LoggerMessage(4003, LogLevel.Error, "Task {TaskId}: writing its checkpoint failed: {Reason}. Its new state is not reported until a write succeeds; check the work dir's disk.")]
    public static partial void CheckpointFailed(ILogger logger, Exception exception, string taskId, string reason);

    [LoggerMessage(4004, LogLevel.Error, "Task {TaskId}: the monitor failed on it: {Reason}. It is retried on the next tick.")]
    public static partial void TickFailed(ILogger logger, Exception exception, string taskId, string reason);

    [LoggerMessage(4005, LogLevel.Warning, "Checkpoint {Path} {Problem}; killed {Killed} process group(s) it or the sandbox named, and the task is reported LOST.")]
    public static partial void UnreadableCheckpoint(ILogger logger, string path, string problem, int killed);

    [LoggerMessage(4006, LogLevel.Information, "Task {TaskId}: reattached to process '{Process}' run {Run} (process group {Pid})")]
    public static partial void Reattached(ILogger logger, string taskId, string process, int run, int pid);

    [LoggerMessage(4007, LogLevel.Information, "Task {TaskId}: rotated {Count} log file(s) of process '{Process}' run {Run}")]
    public static partial void LogsRotated(ILogger logger, string taskId, string process, int run, int count);

    [LoggerMessage(4008, LogLevel.Warning, "Task {TaskId}: signalling process group {Pid} failed: {Reason}")]
    public static partial void SignalFailed(ILogger logger, string taskId, int pid, string reason);

    [LoggerMessage(4009, LogLevel.Warning, "Task {TaskId}: health check failed: {Detail}")]
    public static partial void HealthCheckFailed(ILogger logger, string taskId, string detail);

    [LoggerMessage(4010, LogLevel.Error, "Task {TaskId}: process group {Pid} survived SIGKILL for {Seconds} s (stuck in the kernel?); the task ends without waiting for it. Look at /proc/{Pid}/stack.")]
    public static partial void GroupSurvivedKill(ILogger logger, string taskId, int pid, int seconds);

    [LoggerMessage(4011, LogLevel.Error, "A Changed handler threw: {Reason}. Handlers must not throw; the executor goes on.")]
    public static partial void ChangedHandlerFailed(ILogger logger, Exception exception, string reason);

    [LoggerMessage(4012, LogLevel.Error, "The executor's monitor loop failed: {Reason}. It goes on with the next tick.")]
    public static partial void LoopFailed(ILogger logger, Exception exception, string reason);

    [LoggerMessage(4013, LogLevel.Warning, "Refused a launch: {Problem} The task is not held and cannot be reported back (the agent protocol does not carry such an id), so the scheduler should never assign it; repeats of this launch are not logged again.")]
    public static partial void LaunchRefused(ILogger logger, string problem);

    [LoggerMessage(4014, LogLevel.Error, "Task {TaskId} could not be launched: {Reason}. It is reported FAILED once, from memory (nothing of it ran); check the work dir's disk space and permissions.")]
    public static partial void LaunchFailed(ILogger logger, Exception exception, string taskId, string reason);

    [LoggerMessage(4015, LogLevel.Warning, "Checkpoint {Path} names a task the agent protocol cannot carry: {Problem} Killed {Killed} process group(s) it or its sandbox named and removed the checkpoint; the scheduler finds the task missing and makes it LOST.")]
    public static partial void UnreportableCheckpoint(ILogger logger, string path, string problem, int killed);

    [LoggerMessage(4016, LogLevel.Warning, "Task {TaskId} went over its {Resource} limit and is stopped: {Detail}")]
    public static partial void LimitExceeded(ILogger logger, string taskId, string resource, string detail);

    [LoggerMessage(4017, LogLevel.Warning, "Task {TaskId}: its cgroup {Problem}")]
    public static partial void CgroupFailed(ILogger logger, string taskId, string problem);

    [LoggerMessage(4018, LogLevel.Warning, "Removed {Count} cgroup(s) of tasks this agent no longer holds (left by an agent that stopped before removing them), killing what ran in them")]
    public static partial void LeftoverCgroupsRemoved(ILogger logger, int count);

    [LoggerMessage(4019, LogLevel.Warning, "Measuring the disk use of task {TaskId} failed: {Reason}")]
    public static partial void DiskWatchFailed(ILogger logger, string taskId, string reason);
}
