namespace Aurora.Scheduler.State;

/// <summary>
/// A logged event contradicts the state it is applied to: the log and the projections diverged
/// (a bug, or a log not written by this scheduler). Replay stops; nothing is skipped.
/// </summary>
public class EventApplyException : InvalidOperationException
{
    public EventApplyException(ulong position, string problem)
        : base($"Cannot apply the event at log position {position}: {problem}.")
    {
        Position = position;
        Problem = problem;
    }

    public ulong Position { get; }

    public string Problem { get; }
}
