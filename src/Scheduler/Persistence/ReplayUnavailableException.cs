namespace Aurora.Scheduler.Persistence;

/// <summary>The requested point of history cannot be rebuilt from the retained snapshots and log.</summary>
public class ReplayUnavailableException : InvalidOperationException
{
    public ReplayUnavailableException(string reason)
        : base($"Cannot rebuild that point: {reason}.")
    {
    }
}
