namespace Aurora.Testing.Linearizability;

/// <summary>
/// The sequential specification a history is checked against: a deterministic state machine whose
/// <see cref="Step"/> says whether an operation, with the output its client saw, could have run in a
/// given state, and what state it left.
/// </summary>
/// <remarks>
/// <para>
/// States are values: <see cref="Step"/> must not change the state it is given (the checker keeps
/// earlier states to backtrack to and in its memo), so use immutable or persistent structures.
/// <see cref="Equal"/> and <see cref="Hash"/> key the memo of (linearized set, state) pairs and are
/// called once for every operation placed: keep them O(1) (compare a length and a hash, or intern
/// states so that equal states are the same object).
/// </para>
/// <para>
/// Unknown outcomes: for an operation whose outcome is unknown, <see cref="Step"/> gets a null output
/// and must accept, applying the effect the input would have had. Such an operation is checked as if
/// it returned at +infinity, so one that in truth never took effect is placed last, after every
/// operation that could have observed it, which makes "it took effect" and "it never did" the same
/// for the check: one deterministic effect is enough. (Where the input could have had several
/// different effects, the state must hold what tells them apart.)
/// </para>
/// <para>
/// One model instance serves one <see cref="LinearizabilityChecker.Check{TState, TInput, TOutput}"/>
/// call at a time; the checker calls it from the calling thread only.
/// </para>
/// </remarks>
public interface IModel<TState, TInput, TOutput>
{
    /// <summary>The state before any operation.</summary>
    TState Init();

    /// <summary>
    /// Whether <paramref name="input"/> could have run in <paramref name="state"/> and returned
    /// <paramref name="output"/> (null: the outcome is unknown, accept any), and the state it leaves.
    /// </summary>
    (bool Ok, TState Next) Step(TState state, TInput input, TOutput? output);

    /// <summary>Whether two states are the same for every later operation.</summary>
    bool Equal(TState a, TState b);

    /// <summary>A hash consistent with <see cref="Equal"/>.</summary>
    int Hash(TState state);

    /// <summary>
    /// Whether operations with these inputs, both of unknown outcome, are interchangeable: in every
    /// state <see cref="Step"/> with a null output answers the same for both. Must be an equivalence.
    /// The search then tries only the earliest called of a group of interchangeable pending operations
    /// in each state, as the others lead to the same states (a symmetry cut that turns k crashed
    /// clients' identical requests from 2^k subsets into k + 1 counts). The default calls inputs with
    /// equal <see cref="EqualityComparer{T}.Default"/> interchangeable: right for records and for any
    /// type whose equality covers everything <see cref="Step"/> reads.
    /// </summary>
    bool Interchangeable(TInput a, TInput b) => EqualityComparer<TInput>.Default.Equals(a, b);

    /// <summary>
    /// Whether an operation with this input and an unknown outcome leaves the state as it was
    /// (<see cref="Step"/> with a null output returns a state <see cref="Equal"/> to the one it was
    /// given), like a read. Such an operation constrains nothing, and the checker leaves it out of the
    /// search, placing it last. The default, false, is always safe.
    /// </summary>
    bool IsReadOnly(TInput input) => false;

    /// <summary>The operation as a failure report shows it, e.g. <c>Append(17) -> 5</c>.</summary>
    string DescribeOperation(TInput input, TOutput? output) => $"{input} -> {(output is null ? "?" : output.ToString())}";

    /// <summary>The state as a failure report shows it.</summary>
    string DescribeState(TState state) => state?.ToString() ?? "null";

    /// <summary>Why <see cref="Step"/> rejects the operation in this state, for a failure report.</summary>
    string ExplainRejection(TState state, TInput input, TOutput? output) => $"not possible in state {DescribeState(state)}";
}
