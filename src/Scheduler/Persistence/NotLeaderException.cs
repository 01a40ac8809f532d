namespace Aurora.Scheduler.Persistence;

/// <summary>
/// A write reached a replica that does not lead, or whose leadership ended before the write was
/// committed. Nothing of it is applied here; when <see cref="MayHaveCommitted"/> is true the entry
/// had been sent to the other replicas and a new leader may still commit it (read before retrying).
/// </summary>
public sealed class NotLeaderException(string message, string? leaderId, bool mayHaveCommitted = false) : Exception(message)
{
    /// <summary>The leader's replica id (host:replication_port) as far as this replica knows; null when none is known.</summary>
    public string? LeaderId { get; } = leaderId;

    public bool MayHaveCommitted { get; } = mayHaveCommitted;
}
