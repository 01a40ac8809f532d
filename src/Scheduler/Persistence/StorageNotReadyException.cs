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
