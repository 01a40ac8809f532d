namespace Aurora.Testing.Linearizability;

/// <summary>What <see cref="LinearizabilityChecker"/> concluded of a history.</summary>
public enum LinearizabilityVerdict
{
    /// <summary>Some order of the operations agrees with both real time and the model.</summary>
    Linearizable,

    /// <summary>The whole search found no such order.</summary>
    NotLinearizable,

    /// <summary>The search ran out of time before it could tell.</summary>
    Unknown,
}

/// <summary>
/// The verdict on a history, with what explains it: the linearization found, or the longest
/// linearizable prefix and the operations that could not be placed after it.
/// </summary>
public sealed class LinearizabilityResult<TInput, TOutput>
{
    internal LinearizabilityResult(
        LinearizabilityVerdict verdict,
        int operationCount,
        IReadOnlyList<Operation<TInput, TOutput>> linearization,
        IReadOnlyList<Operation<TInput, TOutput>> unplaced,
        Operation<TInput, TOutput>? deadline,
        long steps,
        TimeSpan elapsed,
        string report)
    {
        Verdict = verdict;
        OperationCount = operationCount;
        Linearization = linearization;
        Unplaced = unplaced;
        Deadline = deadline;
        Steps = steps;
        Elapsed = elapsed;
        Report = report;
    }

    public LinearizabilityVerdict Verdict { get; }

    public bool IsLinearizable => Verdict == LinearizabilityVerdict.Linearizable;

    /// <summary>How many operations the history had.</summary>
    public int OperationCount { get; }

    /// <summary>
    /// When linearizable, every operation in an order that explains the history. Otherwise the longest
    /// linearizable prefix the search reached: operations in an order that agrees with real time and
    /// the model, after which nothing could be placed.
    /// </summary>
    public IReadOnlyList<Operation<TInput, TOutput>> Linearization { get; }

    /// <summary>
    /// When not linearizable: the operations that were candidates to come next after
    /// <see cref="Linearization"/> (called before <see cref="Deadline"/> returned, or before +infinity
    /// if nothing else is left to return) and that the model rejected in that state (of interchangeable
    /// operations of unknown outcome, only the earliest called). Empty when linearizable.
    /// </summary>
    public IReadOnlyList<Operation<TInput, TOutput>> Unplaced { get; }

    /// <summary>
    /// When not linearizable: the first operation still to place that returned, which bounds the
    /// candidates; null if only operations of unknown outcome were left.
    /// </summary>
    public Operation<TInput, TOutput>? Deadline { get; }

    /// <summary>How many times the search asked the model to take a step: the work done.</summary>
    public long Steps { get; }

    public TimeSpan Elapsed { get; }

    /// <summary>A readable account of the verdict, for an assertion's message.</summary>
    public string Report { get; }

    public override string ToString() => Report;
}
