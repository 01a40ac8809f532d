namespace Aurora.Scheduler.Server;

/// <summary>Process exit codes a supervisor can tell apart.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>A fatal storage error (the log cannot be written, or it and the state diverged).</summary>
    public const int FatalStorageError = 1;

    /// <summary>Bad flags: the message names the flag.</summary>
    public const int Usage = 2;

    /// <summary>Stopped by POST /abortabortabort.</summary>
    public const int Aborted = 3;
}

/// <summary>The server's log messages, with stable event ids (3000-3049).</summary>
internal static partial class ServerMessages
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information,
        Message = "Storage is READY at log position {Position} ({Entries} entries replayed)")]
    public static partial void StorageReady(ILogger logger, ulong position, long entries);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error,
        Message = "Replicated log not initialized. {Reason} Waiting for it; every request is answered 503 until then")]
    public static partial void ReplicaEmpty(ILogger logger, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Critical,
        Message = "Fatal storage error, exiting for the supervisor to restart this replica: {Reason}")]
    public static partial void FatalStorageError(ILogger logger, Exception exception, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information,
        Message = "Initialized a new dev log at {Path}")]
    public static partial void DevLogInitialized(ILogger logger, string path);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information,
        Message = "aurora-scheduler for cluster {Cluster} listening on {Urls}")]
    public static partial void Listening(ILogger logger, string cluster, string urls);

    [LoggerMessage(EventId = 3016, Level = LogLevel.Information,
        Message = "Shutting down (exit code {ExitCode}): stopping the HTTP server")]
    public static partial void ShuttingDown(ILogger logger, int exitCode);

    [LoggerMessage(EventId = 3017, Level = LogLevel.Information,
        Message = "Shutting down: the HTTP server has stopped; closing the store and the replicated log")]
    public static partial void HttpStopped(ILogger logger);

    [LoggerMessage(EventId = 3018, Level = LogLevel.Information,
        Message = "Shutting down: the store and the replicated log are closed")]
    public static partial void RuntimeClosed(ILogger logger);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning,
        Message = "{Action} requested over HTTP from {Remote}")]
    public static partial void LifecycleRequested(ILogger logger, string action, string? remote);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Error,
        Message = "{Method} {Path} failed")]
    public static partial void RequestFailed(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information,
        Message = "Recovery from backup {BackupId} committed by {Principal} at log position {Position}")]
    public static partial void RecoveryCommitted(ILogger logger, string backupId, string principal, ulong position);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Error,
        Message = "A scheduling step failed; retrying on the next tick")]
    public static partial void ClusterStepFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Debug,
        Message = "{Command} was refused: {Reason}")]
    public static partial void ClusterCommandRejected(ILogger logger, string command, string reason);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning,
        Message = "Agent {AgentId} on {Host} has not been heard from for {Timeout}; its tasks are LOST")]
    public static partial void AgentLost(ILogger logger, string agentId, string host, TimeSpan timeout);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information,
        Message = "Started the -dev agent {AgentId}, sandboxes at {SandboxUri}")]
    public static partial void DevAgentStarted(ILogger logger, string agentId, Uri sandboxUri);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning,
        Message = "The log directory holds {Count} file(s) the log does not keep, which it ignores: {Files}. Move them out of it; 'aurora-log verify' lists everything it cannot account for")]
    public static partial void UnaccountedFiles(ILogger logger, int count, string files);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Information,
        Message = "Leading in term {Term} from log position {Position}: placement, cron, pruning and backups run here")]
    public static partial void Leading(ILogger logger, ulong term, ulong position);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Warning,
        Message = "Leadership of term {Term} lost: placement, cron, pruning and backups stopped here; writes are redirected to the new leader")]
    public static partial void StoppedLeading(ILogger logger, ulong term);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Warning, Message = "Replication: {Warning}")]
    public static partial void ReplicationWarning(ILogger logger, string warning);

    [LoggerMessage(EventId = 3019, Level = LogLevel.Warning,
        Message = "Agents are not authenticated: without -agent_credentials anyone who can reach this port can heartbeat as an agent, be handed task launches and report task states. Give -agent_credentials=FILE and each agent -credential=FILE (docs/security.md)")]
    public static partial void AgentHeartbeatsOpen(ILogger logger);

    [LoggerMessage(EventId = 3020, Level = LogLevel.Information,
        Message = "Agents must authenticate to heartbeat: {Count} principal(s) accepted from {Source}")]
    public static partial void AgentCredentialsLoaded(ILogger logger, int count, string source);

    [LoggerMessage(EventId = 3021, Level = LogLevel.Warning,
        Message = "Refused a heartbeat from {Remote}: {Reason} Nothing of it was read or kept; check that the agent runs with -credential=FILE holding a principal and secret of -agent_credentials")]
    public static partial void HeartbeatRefusedCredentials(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 3022, Level = LogLevel.Warning,
        Message = "Refused a heartbeat of principal {Principal} from {Remote}: agent id {AgentId} is bound to host {BoundHost}, and it claims host {Host}. Nothing of it was kept; an agent that really moved needs a new id (remove its work dir's meta/agent_id)")]
    public static partial void HeartbeatRefusedAgentIdBound(ILogger logger, string principal, string remote, string agentId, string boundHost, string host);

    [LoggerMessage(EventId = 3023, Level = LogLevel.Warning,
        Message = "Refused {Count} task report(s) of agent {AgentId} on {Host} (principal {Principal}) for tasks the log does not place on it, e.g. {TaskId} (on {TaskHost}): their states were not taken, and the agent is told to kill them")]
    public static partial void ForeignTaskReportsRefused(ILogger logger, int count, string agentId, string host, string principal, string taskId, string taskHost);
}
