namespace Aurora.Scheduler.Persistence;

/// <summary>
/// The scheduler's storage cannot serve: the replica is EMPTY (never initialized), or the log or
/// snapshots cannot be loaded. The message says what to do; the HTTP layer answers 503
/// "Storage is not READY" with it.
/// </summary>
public class StorageNotReadyException : InvalidOperationException
{
    public StorageNotReadyException(string reason, Exception? inner = null)
        : base($"Storage is not READY: {reason}", inner)
    {
        Reason = reason;
    }

    public string Reason { get; }
}

/// <summary>
/// The replica was never initialized (Aurora's "Replicated log not initialized"): the one not-ready
/// state the operator ends by running <c>aurora-log initialize</c>, so a server may wait for it.
/// </summary>
public sealed class ReplicaEmptyException(string directory)
    : StorageNotReadyException(
        $"the replica at {directory} is EMPTY (its log was never initialized). "
        + $"Run `aurora-log initialize --path={directory}` once, on a quorum of replicas, then restart.");
