using System.Globalization;
using System.Runtime.CompilerServices;

namespace Aurora.Testing.Linearizability;

/// <summary>
/// A state of <see cref="ReplicatedLogModel{TValue}"/>: the committed values, and how many completed
/// reads are placed (which the model needs to know when a value no read returned may be appended).
/// </summary>
public sealed class LogState<TValue>
    where TValue : notnull
{
    internal LogState(LogNode<TValue> log, int readsPlaced)
    {
        Log = log;
        ReadsPlaced = readsPlaced;
    }

    /// <summary>How many values are committed.</summary>
    public int Length => Log.Length;

    /// <summary>How many completed reads come before this state in the linearization.</summary>
    public int ReadsPlaced { get; }

    internal LogNode<TValue> Log { get; }

    /// <summary>The committed entries in position order; a value no read returned is (false, default).</summary>
    public IReadOnlyList<(bool Known, TValue? Value)> Entries() => Log.Entries();

    public override string ToString() => Log.ToString();
}

/// <summary>
/// A committed log as a node of a hash-consed persistent list: the last value and the log before it.
/// Within one model, equal logs are the same node.
/// </summary>
internal sealed class LogNode<TValue>
    where TValue : notnull
{
    public LogNode(LogNode<TValue>? parent, TValue? value, bool anonymous, int id)
    {
        Parent = parent;
        Value = value;
        IsAnonymous = anonymous;
        Id = id;
        Length = parent is null ? 0 : parent.Length + 1;
        Witness = parent is null ? [] : null;
    }

    public int Length { get; }

    /// <summary>The values of a read that matched this log, whose first <see cref="Length"/> are this log's; null until one does.</summary>
    public TValue[]? Witness { get; set; }

    public LogNode<TValue>? Parent { get; }

    public TValue? Value { get; }

    /// <summary>The last value is one no read returned, kept only as "some value" (see the model's remarks).</summary>
    public bool IsAnonymous { get; }

    public int Id { get; }

    public LogNode<TValue>? AnonymousChild { get; set; }

    public IReadOnlyList<(bool Known, TValue? Value)> Entries()
    {
        var entries = new (bool, TValue?)[Length];
        for (var s = this; s.Parent is not null; s = s.Parent)
        {
            entries[s.Length - 1] = (!s.IsAnonymous, s.Value);
        }

        return entries;
    }

    public override string ToString() =>
        LogText.Values(Entries().Select(e => e.Known ? e.Value?.ToString() ?? "null" : "_").ToList());
}

/// <summary>
/// The sequential specification of Aurora's replicated log as its clients see it: an append commits
/// its value at the next position and returns that position; a read returns every committed value,
/// in position order.
/// </summary>
/// <remarks>
/// <para>
/// <b>What a history must say.</b> Append values should be unique (a client's retry of the same value
/// is a second append of it and may commit twice; that is allowed, the search only gets slower). An
/// append's output is the position its value was committed at, counting from <c>firstPosition</c> and
/// counting client values only: if the log also holds entries no client appended (a new leader's
/// no-op, a configuration change), report positions among the client values, or the model will see
/// gaps as missing values. A read's output is the whole committed log as of some point, the reader's
/// view: a linearizable read returns exactly the log as of its linearization point, not a prefix of
/// it. An operation whose outcome is unknown (timed out, its leader crashed) has a null output; an
/// unknown append may have committed, at the end of the log as it was then, or never.
/// </para>
/// <para>
/// <b>State.</b> The log is a node of a persistent list, hash-consed by (previous node, value):
/// appending is one dictionary look-up, and equal logs are the same node, so <see cref="Equal"/> is a
/// reference comparison (and a count) and <see cref="Hash"/> the node's number, both O(1) and exact.
/// A read is checked against a state by length, then by walking back from the state's node, comparing
/// values, to the nearest node a read already matched, and comparing the arrays below it (vectorized).
/// A wrong log usually differs in its last values, so a mismatch costs little; a match is remembered
/// (a read can match one node only), so each read is compared in full once.
/// </para>
/// <para>
/// <b>What it learns from the history</b> (when built with one, which must be the history checked).
/// It concerns appends of unknown outcome, the ones the search must guess about. A value that no
/// completed read returned cannot be in the log at any completed read's linearization point, as reads
/// return the whole log and a committed value stays: so an unknown append of such a value is accepted
/// only once every completed read is placed (the state counts them), and its value is kept as an
/// anonymous "some value", which only fills a position. Such appends, all alike, are
/// <see cref="Interchangeable"/>: a crashed leader's k unacknowledged appends cost the search k + 1
/// cases, not 2^k orders. An unknown append of a value that was appended once and that a read saw is
/// accepted only at the position the first such read saw it at, the one place where that read could
/// have seen it (were it seen at two positions, no linearization exists and any cut is sound).
/// Completed appends need none of this: their positions pin them. All of this only cuts the search:
/// without a history the model is the plain specification, with the same verdicts.
/// </para>
/// <para>
/// Not thread-safe: the intern tables grow as the checker explores. Use one model per check.
/// </para>
/// </remarks>
public sealed class ReplicatedLogModel<TValue> : IModel<LogState<TValue>, LogInput<TValue>, LogOutput<TValue>>
    where TValue : notnull
{
    private readonly ulong _firstPosition;
    private readonly IEqualityComparer<TValue> _comparer;
    private readonly IEqualityComparer<TValue>? _spanComparer; // null for the default, which spans compare fastest
    private readonly LogState<TValue> _init;
    private readonly Dictionary<(int Parent, TValue Value), LogNode<TValue>> _children;
    private readonly Dictionary<LogReadResult<TValue>, ReadView> _reads = new(ReferenceEqualityComparer.Instance);

    // Learned from the history, if any: every value a completed read returned, how many completed
    // reads there are, and the position that pins an unknown append of a value appended once and read.
    private readonly HashSet<TValue>? _observed;
    private readonly int _completedReads;
    private readonly Dictionary<TValue, int> _pinned;

    private int _nextId;

    /// <param name="history">The history to be checked, to learn from (see remarks); null for the plain specification.</param>
    /// <param name="firstPosition">The position of the first value (Aurora's logs start at 1).</param>
    /// <param name="comparer">How values compare; the default comparer if null.</param>
    public ReplicatedLogModel(
        IEnumerable<Operation<LogInput<TValue>, LogOutput<TValue>>>? history = null,
        ulong firstPosition = 1,
        IEqualityComparer<TValue>? comparer = null)
    {
        _firstPosition = firstPosition;
        _comparer = comparer ?? EqualityComparer<TValue>.Default;
        _spanComparer = ReferenceEquals(_comparer, EqualityComparer<TValue>.Default) ? null : _comparer;
        _children = new(new ChildComparer(_comparer));
        _init = new LogState<TValue>(new LogNode<TValue>(null, default, anonymous: false, _nextId++), 0);
        _pinned = new(_comparer);
        if (history is not null)
        {
            (_observed, _completedReads) = Learn(history);
        }
    }

    public LogState<TValue> Init() => _init;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (bool Ok, LogState<TValue> Next) Step(LogState<TValue> state, LogInput<TValue> input, LogOutput<TValue>? output)
    {
        ArgumentNullException.ThrowIfNull(state);
        switch (input)
        {
            case LogAppend<TValue> append:
                var unobserved = output is null && _observed is not null && !_observed.Contains(append.Value);
                var ok = output switch
                {
                    _ when unobserved && state.ReadsPlaced < _completedReads => false,
                    null => !_pinned.TryGetValue(append.Value, out var index) || index == state.Length,
                    LogAppended<TValue> appended => appended.Position == NextPosition(state.Log),
                    _ => false,
                };
                if (!ok)
                {
                    return (false, state);
                }

                var log = unobserved
                    ? state.Log.AnonymousChild ??= new LogNode<TValue>(state.Log, default, anonymous: true, _nextId++)
                    : Child(state.Log, append.Value);
                return (true, new LogState<TValue>(log, state.ReadsPlaced));
            case LogRead<TValue>:
                return output switch
                {
                    null => (true, state),
                    LogReadResult<TValue> read when Matches(read, state.Log) => (true, new LogState<TValue>(state.Log, state.ReadsPlaced + 1)),
                    _ => (false, state),
                };
            default:
                throw new ArgumentException($"unknown log operation {input}", nameof(input));
        }
    }

    public bool Equal(LogState<TValue> a, LogState<TValue> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return ReferenceEquals(a.Log, b.Log) && a.ReadsPlaced == b.ReadsPlaced;
    }

    public int Hash(LogState<TValue> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return HashCode.Combine(state.Log.Id, state.ReadsPlaced);
    }

    /// <summary>A read of unknown outcome changes nothing (the state counts completed reads only).</summary>
    public bool IsReadOnly(LogInput<TValue> input) => input is LogRead<TValue>;

    /// <summary>Reads of unknown outcome are interchangeable, and so are unknown appends of one value, or of values no read returned.</summary>
    public bool Interchangeable(LogInput<TValue> a, LogInput<TValue> b) => (a, b) switch
    {
        (LogRead<TValue>, LogRead<TValue>) => true,
        (LogAppend<TValue> x, LogAppend<TValue> y) => _comparer.Equals(x.Value, y.Value)
            || (_observed is not null && !_observed.Contains(x.Value) && !_observed.Contains(y.Value)),
        _ => false,
    };

    public string DescribeOperation(LogInput<TValue> input, LogOutput<TValue>? output) =>
        $"{input} -> {(output is null ? "? (outcome unknown)" : output.ToString())}";

    public string DescribeState(LogState<TValue> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return $"the log holds {state}{(state.Entries().Any(e => !e.Known) ? " (_: a value no read returned)" : string.Empty)}";
    }

    public string ExplainRejection(LogState<TValue> state, LogInput<TValue> input, LogOutput<TValue>? output)
    {
        ArgumentNullException.ThrowIfNull(state);
        var next = NextPosition(state.Log).ToString(CultureInfo.InvariantCulture);
        switch (input, output)
        {
            case (LogAppend<TValue> append, null) when _observed is not null && !_observed.Contains(append.Value) && state.ReadsPlaced < _completedReads:
                return $"no read returned its value, so it must follow every read, and {_completedReads - state.ReadsPlaced} of {_completedReads} reads are still to place";
            case (LogAppend<TValue>, LogAppended<TValue> appended):
                return $"committed at position {appended.Position}, but the log holds {LogText.Count(state.Length)} here, so the next position is {next}";
            case (LogAppend<TValue> append, null) when _pinned.TryGetValue(append.Value, out var index):
                return $"reads saw its value at position {Position(index)}, but the log holds {LogText.Count(state.Length)} here, so it would commit at {next}";
            case (LogRead<TValue>, LogReadResult<TValue> read):
                return ExplainRead(state.Log, read.Values);
            default:
                return $"{output} is not an output of {input}";
        }
    }

    private string ExplainRead(LogNode<TValue> state, IReadOnlyList<TValue> read)
    {
        var log = state.Entries();
        var common = Math.Min(log.Count, read.Count);
        for (var i = 0; i < common; i++)
        {
            if (!log[i].Known || !_comparer.Equals(log[i].Value!, read[i]))
            {
                var held = log[i].Known ? log[i].Value!.ToString() : "a value no read returned";
                return $"returned {LogText.Count(read.Count)}, the log holds {log.Count}; at position {Position(i)} the read has {read[i]} where the log has {held}";
            }
        }

        return read.Count < log.Count
            ? $"returned {LogText.Count(read.Count)}, a stale prefix: the log holds {log.Count}, the read misses positions {Position(read.Count)} to {Position(log.Count - 1)}"
            : $"returned {LogText.Count(read.Count)}, {read.Count - log.Count} more than the {log.Count} the log holds here (first extra: {read[log.Count]} at position {Position(log.Count)})";
    }

    private ulong NextPosition(LogNode<TValue> log) => _firstPosition + (ulong)log.Length;

    private string Position(int index) => (_firstPosition + (ulong)index).ToString(CultureInfo.InvariantCulture);

    private LogNode<TValue> Child(LogNode<TValue> log, TValue value)
    {
        if (!_children.TryGetValue((log.Id, value), out var child))
        {
            child = new LogNode<TValue>(log, value, anonymous: false, _nextId++);
            _children.Add((log.Id, value), child);
        }

        return child;
    }

    /// <summary>Whether a read's view is exactly the log.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool Matches(LogReadResult<TValue> read, LogNode<TValue> log)
    {
        if (read.Values.Count != log.Length)
        {
            return false;
        }

        var view = View(read);
        if (view.Log is not null)
        {
            return ReferenceEquals(view.Log, log); // equal logs are one node
        }

        var values = view.Values;
        var node = log;
        for (; node.Witness is null; node = node.Parent!)
        {
            if (node.IsAnonymous || !_comparer.Equals(node.Value!, values[node.Length - 1]))
            {
                return false;
            }
        }

        if (!values.AsSpan(0, node.Length).SequenceEqual(node.Witness.AsSpan(0, node.Length), _spanComparer))
        {
            return false;
        }

        log.Witness = values;
        view.Log = log;
        return true;
    }

    private ReadView View(LogReadResult<TValue> read)
    {
        if (!_reads.TryGetValue(read, out var view))
        {
            view = new ReadView(read.Values as TValue[] ?? [.. read.Values]);
            _reads.Add(read, view);
        }

        return view;
    }

    /// <summary>Learns what the history's completed reads returned: every value, where (for the pins), and how many reads.</summary>
    private (HashSet<TValue> Observed, int CompletedReads) Learn(IEnumerable<Operation<LogInput<TValue>, LogOutput<TValue>>> history)
    {
        var observed = new HashSet<TValue>(_comparer);
        var seenAt = new Dictionary<TValue, int>(_comparer);
        var appends = new Dictionary<TValue, int>(_comparer);
        var reads = new List<TValue[]>();
        foreach (var op in history)
        {
            switch (op.Input, op.Output)
            {
                case (LogAppend<TValue> append, _):
                    appends[append.Value] = appends.GetValueOrDefault(append.Value) + 1;
                    break;
                case (LogRead<TValue>, LogReadResult<TValue> read):
                    reads.Add(View(read).Values);
                    break;
            }
        }

        // Reads are mostly prefixes of one log: compare each with the longest, and look up only what differs.
        reads.Sort((a, b) => b.Length.CompareTo(a.Length));
        var longest = reads.Count > 0 ? reads[0] : [];
        foreach (var values in reads)
        {
            var same = ReferenceEquals(values, longest) ? 0 : values.AsSpan().CommonPrefixLength(longest, _spanComparer);
            for (var i = same; i < values.Length; i++)
            {
                observed.Add(values[i]);
                seenAt.TryAdd(values[i], i);
            }
        }

        foreach (var (value, at) in seenAt)
        {
            if (appends.GetValueOrDefault(value) == 1)
            {
                _pinned.Add(value, at);
            }
        }

        return (observed, reads.Count);
    }

    /// <summary>A read's values as an array, and the log they matched once they have.</summary>
    private sealed class ReadView(TValue[] values)
    {
        public TValue[] Values { get; } = values;

        public LogNode<TValue>? Log { get; set; }
    }

    private sealed class ChildComparer(IEqualityComparer<TValue> values) : IEqualityComparer<(int Parent, TValue Value)>
    {
        public bool Equals((int Parent, TValue Value) x, (int Parent, TValue Value) y) => x.Parent == y.Parent && values.Equals(x.Value, y.Value);

        public int GetHashCode((int Parent, TValue Value) obj) => HashCode.Combine(obj.Parent, values.GetHashCode(obj.Value));
    }
}

/// <summary>Building and checking histories of <see cref="ReplicatedLogModel{TValue}"/>.</summary>
/// <example>
/// A simulator records each client request as it goes, with its own clock, and checks at the end:
/// <code>
/// var history = new HistoryRecorder&lt;LogInput&lt;ulong&gt;, LogOutput&lt;ulong&gt;&gt;();
/// var append = history.Invoke(client, ReplicatedLogModel.Append(value), now);   // before sending
/// history.Return(append, ReplicatedLogModel.Appended&lt;ulong&gt;(position), now);  // on the commit ack
/// var read = history.Invoke(client, ReplicatedLogModel.Read&lt;ulong&gt;(), now);
/// history.Return(read, ReplicatedLogModel.ReadReturned(values), now);            // the whole committed log
/// // A request that timed out, or whose leader died, is left pending: its outcome is unknown.
/// // history.Fail(handle) only for an answer that proves nothing was proposed.
/// var result = ReplicatedLogModel.Check(history.History(), TimeSpan.FromSeconds(30));
/// Assert.True(result.IsLinearizable, result.Report);
/// </code>
/// </example>
public static class ReplicatedLogModel
{
    public static LogInput<TValue> Append<TValue>(TValue value)
        where TValue : notnull => new LogAppend<TValue>(value);

    public static LogInput<TValue> Read<TValue>()
        where TValue : notnull => new LogRead<TValue>();

    public static LogOutput<TValue> Appended<TValue>(ulong position)
        where TValue : notnull => new LogAppended<TValue>(position);

    public static LogOutput<TValue> ReadReturned<TValue>(IReadOnlyList<TValue> values)
        where TValue : notnull => new LogReadResult<TValue>(values);

    /// <summary>
    /// Checks a history of appends and reads against a <see cref="ReplicatedLogModel{TValue}"/> that
    /// learns from it: the one call a simulator or a cluster test needs.
    /// </summary>
    public static LinearizabilityResult<LogInput<TValue>, LogOutput<TValue>> Check<TValue>(
        IReadOnlyList<Operation<LogInput<TValue>, LogOutput<TValue>>> history,
        TimeSpan? timeout = null,
        ulong firstPosition = 1)
        where TValue : notnull =>
        LinearizabilityChecker.Check(new ReplicatedLogModel<TValue>(history, firstPosition), history, timeout);
}
