namespace Aurora.Replication.Transport;

/// <summary>A connection must be closed: what it sent (or failed to send) is not acceptable.</summary>
internal sealed class FrameException(FrameProblem problem) : Exception(problem.Detail)
{
    public FrameProblem Problem { get; } = problem;
}
