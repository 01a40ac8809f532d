using Microsoft.Extensions.Logging;

namespace Aurora.Agent.Node;

/// <summary>The agent's log messages, with stable event ids (4100-4149).</summary>
internal static partial class NodeMessages
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Information,
        Message = "Agent {AgentId} on {Hostname} serving sandboxes at {SandboxUri}; heartbeating to {Scheduler}")]
    public static partial void Started(ILogger logger, string agentId, string hostname, Uri sandboxUri, Uri scheduler);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information,
        Message = "Recovered {Tasks} task(s) from the work dir ({Active} still active)")]
    public static partial void Recovered(ILogger logger, int tasks, int active);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information,
        Message = "Registered with the scheduler at {Scheduler}")]
    public static partial void Registered(ILogger logger, Uri scheduler);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Warning,
        Message = "Cannot heartbeat to the scheduler: {Reason}. Retrying with backoff up to {MaxBackoff}; this is logged once per outage. Check that -scheduler points at a running scheduler")]
    public static partial void OutageBegan(ILogger logger, string reason, TimeSpan maxBackoff);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Debug,
        Message = "Heartbeat attempt {Attempt} failed: {Reason}")]
    public static partial void AttemptFailed(ILogger logger, int attempt, string reason);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Information,
        Message = "Heartbeats reach the scheduler at {Scheduler} again, after {Attempts} failed attempt(s)")]
    public static partial void OutageEnded(ILogger logger, Uri scheduler, int attempts);

    [LoggerMessage(EventId = 4106, Level = LogLevel.Information,
        Message = "Took on task {TaskId} ({Role}/{Environment}/{Job}/{Instance}); its states follow as the executor records them")]
    public static partial void TookOn(ILogger logger, string taskId, string role, string environment, string job, int instance);

    [LoggerMessage(EventId = 4107, Level = LogLevel.Information,
        Message = "Killing task {TaskId} (grace {GraceSecs}s): {Reason}")]
    public static partial void Killing(ILogger logger, string taskId, int graceSecs, string reason);

    [LoggerMessage(EventId = 4108, Level = LogLevel.Error,
        Message = "The executor failed to {Action} task {TaskId}; the agent carries on")]
    public static partial void ExecutorFailed(ILogger logger, Exception exception, string action, string taskId);

    [LoggerMessage(EventId = 4109, Level = LogLevel.Information,
        Message = "Following the scheduler's redirect to its leader at {Leader}")]
    public static partial void Redirected(ILogger logger, Uri leader);

    [LoggerMessage(EventId = 4110, Level = LogLevel.Information,
        Message = "Agent {AgentId} stopped{Tasks}")]
    public static partial void Stopped(ILogger logger, string agentId, string tasks);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Error,
        Message = "{Method} {Path} failed")]
    public static partial void RequestFailed(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = 4112, Level = LogLevel.Information,
        Message = "Deleted {Count} sandbox(es) of tasks finished more than {GcDelay} ago (-gc_delay)")]
    public static partial void SandboxesCollected(ILogger logger, int count, TimeSpan gcDelay);

    [LoggerMessage(EventId = 4113, Level = LogLevel.Error,
        Message = "The executor holds a task the agent protocol cannot carry, left out of every heartbeat: {Problem} The scheduler would refuse the whole heartbeat with it")]
    public static partial void Unreportable(ILogger logger, string problem);

    [LoggerMessage(EventId = 4114, Level = LogLevel.Warning,
        Message = "Tasks run WITHOUT resource isolation: {Problem}. Their cpus, mem and disk are placement accounting only and nothing stops a task from using more. Run the agent as root on a machine with cgroups, or pass -isolation=none to say this is meant")]
    public static partial void IsolationOff(ILogger logger, string problem);

    [LoggerMessage(EventId = 4115, Level = LogLevel.Information,
        Message = "Tasks are isolated with {Isolation}: one cgroup each under {Root}, at most {PidsMax} processes per task, sandboxes measured every {DiskWatch}")]
    public static partial void IsolationOn(ILogger logger, string isolation, string root, long pidsMax, TimeSpan diskWatch);
}
