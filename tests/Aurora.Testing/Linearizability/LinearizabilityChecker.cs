using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Aurora.Testing.Linearizability;

/// <summary>
/// Checks that a concurrent history of client operations is linearizable against a sequential model:
/// that some total order of the operations respects real time (an operation that returned before
/// another was called comes first) and, replayed through the model, yields every output the clients saw.
/// </summary>
/// <remarks>
/// <para>
/// The algorithm is Wing and Gong's search as improved by Lowe ("Testing for linearizability", 2017)
/// and implemented by Porcupine. Every operation becomes a call event and a return event, sorted by
/// time (calls before returns at equal times, so operations that touch at an instant overlap), in a
/// doubly linked list. The operations that may come next are exactly those whose call precedes the
/// first return left in the list: anything called later started after that operation finished, so
/// cannot precede it. The search walks the list from its head; at a call whose operation the model
/// accepts in the current state it <em>lifts</em> the operation (unlinks its call and its return, O(1)),
/// pushes (operation, previous state) on an explicit stack and starts again from the head. Reaching a
/// return means every candidate was tried: it pops the last operation, <em>unlifts</em> it (relinks both
/// events where they were, O(1), in reverse order of lifting) and goes on with the candidate after it.
/// An empty list is a linearization; an empty stack at a return is proof there is none.
/// </para>
/// <para>
/// Lowe's memoization makes this practical: the rest of the search depends only on which operations
/// are linearized and on the model state, so each (linearized set, state) pair is explored once. The set
/// is a bitset whose hash is kept incrementally (a random 64-bit word per operation, xored in and out,
/// as in Zobrist hashing); together with <see cref="IModel{TState, TInput, TOutput}.Hash"/> it keys a table
/// of the pairs already seen, and an operation whose placing leads to a seen pair is skipped as if the
/// model had rejected it.
/// </para>
/// <para>
/// Operations of unknown outcome (<see cref="Operation{TInput, TOutput}.Completed"/> false) return at
/// +infinity: they never bound the candidates, and the model accepts them with any effect. Three changes
/// to Porcupine concern them, none of which changes a verdict. They sit in a second list and are tried
/// only after every completed candidate, because an operation that may never have happened is the
/// likeliest wrong guess (tried first, a crashed client's write would be placed, and then displaced, in
/// front of every later operation); the candidates are the same, only the order of the search differs.
/// One the model calls <see cref="IModel{TState, TInput, TOutput}.IsReadOnly"/> constrains nothing and
/// is left out of the search (and placed last). And a symmetry cut: those the model calls
/// <see cref="IModel{TState, TInput, TOutput}.Interchangeable"/> form groups, and in each state only the
/// earliest called unplaced member of a group is tried; placing a later one instead leads to the same
/// states with a member left over that is available at least as long, so it cannot succeed where the
/// earlier failed. This turns the subsets of k identical pending operations into k + 1 counts. Pending
/// operations with distinct effects remain the costly case: where the search must backtrack past them
/// it tries them in every order the memo cannot merge, unless the model knows better (as
/// <see cref="ReplicatedLogModel{TValue}"/> does, given the history).
/// </para>
/// <para>
/// The cost is exponential in the worst case (the problem is NP-complete), so a timeout yields
/// <see cref="LinearizabilityVerdict.Unknown"/>. Histories from a well-behaved system, where few
/// operations overlap and the model rejects wrong guesses at once, take time close to linear. The
/// search is single-threaded and allocates per distinct (set, state) pair one bitset of n bits. There is
/// no partitioning (P-compositionality): a caller whose model is a map of independent keys checks each
/// key's sub-history separately.
/// </para>
/// <para>
/// On failure the result carries the longest linearizable prefix reached and the candidates that could
/// not follow it, with the model's reason for rejecting each: the operation that saw what no order
/// allows is usually among them.
/// </para>
/// </remarks>
public static class LinearizabilityChecker
{
    /// <summary>How many prefix operations a report lists before eliding the older ones.</summary>
    private const int ReportedPrefix = 20;

    /// <summary>Checks <paramref name="history"/> against <paramref name="model"/>, giving up after <paramref name="timeout"/> (none if null).</summary>
    /// <exception cref="ArgumentException">An operation returned before it was called.</exception>
    public static LinearizabilityResult<TInput, TOutput> Check<TState, TInput, TOutput>(
        IModel<TState, TInput, TOutput> model,
        IReadOnlyList<Operation<TInput, TOutput>> history,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(history);
        return new Search<TState, TInput, TOutput>(model, history, timeout).Run();
    }

    private sealed class Search<TState, TInput, TOutput>
    {
        private readonly IModel<TState, TInput, TOutput> _model;
        private readonly IReadOnlyList<Operation<TInput, TOutput>> _history;
        private readonly TimeSpan? _timeout;
        private readonly List<int> _leftOut = [];
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        // The completed operations' events, in time order: node i < _mainHead; then the head and tail sentinels.
        private readonly int _mainHead;
        private readonly int _mainTail;
        private readonly int[] _next;
        private readonly int[] _prev;
        private readonly int[] _nodeOp;
        private readonly int[] _nodeRank;
        private readonly int[] _returnOf; // for a call node, its return node; -1 for a return node

        // The unknown-outcome operations' calls, in time order, with their own sentinels.
        private readonly int _sideHead;
        private readonly int _sideTail;
        private readonly int[] _sideNext;
        private readonly int[] _sidePrev;
        private readonly int[] _sideOp;
        private readonly int[] _sideRank;
        private readonly int[] _sideGroup; // the group of interchangeable operations each belongs to
        private readonly int[] _sideMember; // its place in its group, by call time
        private readonly int[] _groupPlaced; // how many of each group are placed: always its first ones

        // The linearized set and its incremental hash.
        private readonly ulong[] _linearized;
        private readonly ulong[] _zobrist;
        private ulong _setHash;

        // Lowe's memo: (set, state) pairs already explored, chained by key.
        private readonly Dictionary<ulong, int> _memo = [];
        private readonly List<ulong[]> _memoSets = [];
        private readonly List<TState> _memoStates = [];
        private readonly List<int> _memoChain = [];

        // The stack of placed operations: the node each was found at and the state before it.
        private readonly int[] _frameOp;
        private readonly int[] _frameNode;
        private readonly bool[] _frameSide;
        private readonly int[] _frameLimit;
        private readonly TState[] _frameState;
        private int _depth;

        // The deepest dead end so far.
        private int _bestDepth = -1;
        private int[] _bestOrder = [];
        private TState? _bestState;
        private List<int> _bestCandidates = [];
        private int _bestDeadline = -1;

        private long _steps;

        public Search(IModel<TState, TInput, TOutput> model, IReadOnlyList<Operation<TInput, TOutput>> history, TimeSpan? timeout)
        {
            _model = model;
            _history = history;
            _timeout = timeout;
            var n = history.Count;

            // Events: (time, kind, op), kind 0 for a call, 1 for a return; calls sort first at equal times.
            var events = new List<(long Time, int Kind, int Op)>(2 * n);
            var unknown = 0;
            for (var i = 0; i < n; i++)
            {
                var op = history[i] ?? throw new ArgumentException($"operation {i} is null", nameof(history));
                if (op.Completed)
                {
                    if (op.ReturnTime < op.CallTime)
                    {
                        throw new ArgumentException($"operation {i} ({op}) returned before it was called", nameof(history));
                    }

                    events.Add((op.CallTime, 0, i));
                    events.Add((op.ReturnTime, 1, i));
                }
                else if (model.IsReadOnly(op.Input))
                {
                    // Pending and without effect: it fits anywhere, so last, out of the search.
                    _leftOut.Add(i);
                }
                else
                {
                    events.Add((op.CallTime, 0, i));
                    unknown++;
                }
            }

            events.Sort();
            var mainCount = events.Count - unknown;
            _mainHead = mainCount;
            _mainTail = mainCount + 1;
            _next = new int[mainCount + 2];
            _prev = new int[mainCount + 2];
            _nodeOp = new int[mainCount + 2];
            _nodeRank = new int[mainCount + 2];
            _returnOf = new int[mainCount + 2];
            _sideHead = unknown;
            _sideTail = unknown + 1;
            _sideNext = new int[unknown + 2];
            _sidePrev = new int[unknown + 2];
            _sideOp = new int[unknown + 2];
            _sideRank = new int[unknown + 2];

            var callNode = new int[n];
            int main = 0, side = 0;
            for (var rank = 0; rank < events.Count; rank++)
            {
                var (_, kind, op) = events[rank];
                if (!history[op].Completed)
                {
                    _sideOp[side] = op;
                    _sideRank[side] = rank;
                    side++;
                    continue;
                }

                _nodeOp[main] = op;
                _nodeRank[main] = rank;
                _returnOf[main] = -1;
                if (kind == 0)
                {
                    callNode[op] = main;
                }
                else
                {
                    _returnOf[callNode[op]] = main;
                }

                main++;
            }

            Link(_next, _prev, mainCount);
            _sideGroup = new int[unknown];
            _sideMember = new int[unknown];
            var representatives = new List<TInput>();
            var groupSizes = new List<int>();
            for (var j = 0; j < unknown; j++)
            {
                var input = history[_sideOp[j]].Input;
                var group = representatives.FindIndex(r => model.Interchangeable(r, input));
                if (group < 0)
                {
                    group = representatives.Count;
                    representatives.Add(input);
                    groupSizes.Add(0);
                }

                _sideGroup[j] = group;
                _sideMember[j] = groupSizes[group]++;
            }

            _groupPlaced = new int[representatives.Count];
            Link(_sideNext, _sidePrev, unknown);

            _linearized = new ulong[(n + 63) / 64];
            _zobrist = new ulong[n];
            var seed = 0x5DEECE66DUL;
            for (var i = 0; i < n; i++)
            {
                _zobrist[i] = SplitMix64(ref seed);
            }

            _frameOp = new int[n];
            _frameNode = new int[n];
            _frameSide = new bool[n];
            _frameLimit = new int[n];
            _frameState = new TState[n];
        }

        /// <summary>Links nodes 0..count-1 in order between the head (count) and the tail (count + 1).</summary>
        private static void Link(int[] next, int[] prev, int count)
        {
            int head = count, tail = count + 1;
            for (var i = 0; i < count; i++)
            {
                next[i] = i + 1 == count ? tail : i + 1;
                prev[i] = i == 0 ? head : i - 1;
            }

            next[head] = count == 0 ? tail : 0;
            prev[tail] = count == 0 ? head : count - 1;
            prev[head] = -1;
            next[tail] = -1;
        }

        private static ulong SplitMix64(ref ulong seed)
        {
            var z = seed += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        // A check runs once: optimize at once rather than start in the unoptimized tier, which made
        // a 2,000-operation check take several times longer the first time in a process.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public LinearizabilityResult<TInput, TOutput> Run()
        {
            var state = _model.Init();
            var onSide = false;
            var node = _next[_mainHead];
            var limit = 0; // on the side list: the rank of the first return left, which unknown calls must precede
            long iterations = 0;
            while (true)
            {
                if (_next[_mainHead] == _mainTail && _sideNext[_sideHead] == _sideTail)
                {
                    return Linearizable();
                }

                if ((++iterations & 0x3FF) == 0 && _timeout is { } timeout && _clock.Elapsed > timeout)
                {
                    return Unresolved(state, timedOut: true);
                }

                if (!onSide)
                {
                    if (node != _mainTail && _returnOf[node] >= 0)
                    {
                        var op = _nodeOp[node];
                        if (TryPlace(ref state, op, node, side: false, limit: 0))
                        {
                            LiftMain(node);
                            node = _next[_mainHead];
                        }
                        else
                        {
                            node = _next[node];
                        }

                        continue;
                    }

                    // Every completed candidate was tried: now the unknown-outcome ones called before this return.
                    limit = node == _mainTail ? int.MaxValue : _nodeRank[node];
                    onSide = true;
                    node = _sideNext[_sideHead];
                    continue;
                }

                if (node != _sideTail && _sideRank[node] < limit)
                {
                    if (!FirstOfGroup(node))
                    {
                        node = _sideNext[node];
                        continue;
                    }

                    var op = _sideOp[node];
                    if (TryPlace(ref state, op, node, side: true, limit))
                    {
                        LiftSide(node);
                        onSide = false;
                        node = _next[_mainHead];
                    }
                    else
                    {
                        node = _sideNext[node];
                    }

                    continue;
                }

                // A dead end: no candidate can be placed in this state. Back up one operation.
                RecordDeadEnd(state);
                if (_depth == 0)
                {
                    return Unresolved(state, timedOut: false);
                }

                _depth--;
                var placed = _frameOp[_depth];
                state = _frameState[_depth];
                _frameState[_depth] = default!;
                Toggle(placed);
                if (_frameSide[_depth])
                {
                    UnliftSide(_frameNode[_depth]);
                    onSide = true;
                    node = _sideNext[_frameNode[_depth]];
                    limit = _frameLimit[_depth];
                }
                else
                {
                    UnliftMain(_frameNode[_depth]);
                    onSide = false;
                    node = _next[_frameNode[_depth]];
                }
            }
        }

        /// <summary>Places <paramref name="op"/> if the model accepts it and the (set, state) it leads to is new.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool TryPlace(ref TState state, int op, int node, bool side, int limit)
        {
            var operation = _history[op];
            _steps++;
            var (ok, next) = _model.Step(state, operation.Input, operation.Completed ? operation.Output : default);
            if (!ok)
            {
                return false;
            }

            Toggle(op);
            if (!Remember(next))
            {
                Toggle(op);
                return false;
            }

            _frameOp[_depth] = op;
            _frameNode[_depth] = node;
            _frameSide[_depth] = side;
            _frameLimit[_depth] = limit;
            _frameState[_depth] = state;
            _depth++;
            state = next;
            return true;
        }

        private void Toggle(int op)
        {
            _linearized[op >> 6] ^= 1UL << (op & 63);
            _setHash ^= _zobrist[op];
        }

        /// <summary>Adds the current set with <paramref name="state"/> to the memo; false if it was there.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool Remember(TState state)
        {
            var key = _setHash ^ ((ulong)(uint)_model.Hash(state) * 0x9E3779B97F4A7C15UL);
            var first = _memo.TryGetValue(key, out var head) ? head : -1;
            for (var i = first; i >= 0; i = _memoChain[i])
            {
                if (_linearized.AsSpan().SequenceEqual(_memoSets[i]) && _model.Equal(state, _memoStates[i]))
                {
                    return false;
                }
            }

            _memoSets.Add((ulong[])_linearized.Clone());
            _memoStates.Add(state);
            _memoChain.Add(first);
            _memo[key] = _memoSets.Count - 1;
            return true;
        }

        private void LiftMain(int call)
        {
            var ret = _returnOf[call];
            _next[_prev[call]] = _next[call];
            _prev[_next[call]] = _prev[call];
            _next[_prev[ret]] = _next[ret];
            _prev[_next[ret]] = _prev[ret];
        }

        private void UnliftMain(int call)
        {
            var ret = _returnOf[call];
            _next[_prev[ret]] = ret;
            _prev[_next[ret]] = ret;
            _next[_prev[call]] = call;
            _prev[_next[call]] = call;
        }

        private void LiftSide(int node)
        {
            _sideNext[_sidePrev[node]] = _sideNext[node];
            _sidePrev[_sideNext[node]] = _sidePrev[node];
            _groupPlaced[_sideGroup[node]]++;
        }

        private void UnliftSide(int node)
        {
            _sideNext[_sidePrev[node]] = node;
            _sidePrev[_sideNext[node]] = node;
            _groupPlaced[_sideGroup[node]]--;
        }

        /// <summary>Whether the pending operation is the earliest unplaced of its group, the only one of it tried.</summary>
        private bool FirstOfGroup(int node) => _sideMember[node] == _groupPlaced[_sideGroup[node]];

        /// <summary>Keeps the current prefix and its candidates if it is the deepest dead end yet.</summary>
        private void RecordDeadEnd(TState state)
        {
            if (_depth <= _bestDepth)
            {
                return;
            }

            _bestDepth = _depth;
            _bestOrder = _frameOp.AsSpan(0, _depth).ToArray();
            _bestState = state;
            _bestCandidates = [];
            var node = _next[_mainHead];
            for (; node != _mainTail && _returnOf[node] >= 0; node = _next[node])
            {
                _bestCandidates.Add(_nodeOp[node]);
            }

            _bestDeadline = node == _mainTail ? -1 : _nodeOp[node];
            var limit = node == _mainTail ? int.MaxValue : _nodeRank[node];
            for (var side = _sideNext[_sideHead]; side != _sideTail && _sideRank[side] < limit; side = _sideNext[side])
            {
                if (FirstOfGroup(side))
                {
                    _bestCandidates.Add(_sideOp[side]);
                }
            }
        }

        private LinearizabilityResult<TInput, TOutput> Linearizable()
        {
            var order = Operations([.. _frameOp.AsSpan(0, _depth), .. _leftOut]);
            var unknown = _history.Count(o => !o.Completed);
            var report = $"linearizable: {_history.Count} operations ({unknown} of unknown outcome), {_steps} steps, {_clock.Elapsed.TotalMilliseconds:F1} ms";
            return new(LinearizabilityVerdict.Linearizable, _history.Count, order, [], null, _steps, _clock.Elapsed, report);
        }

        private LinearizabilityResult<TInput, TOutput> Unresolved(TState state, bool timedOut)
        {
            if (timedOut && _depth > _bestDepth)
            {
                // Still descending: the current path is the longest prefix known, though not a dead end.
                _bestDepth = _depth;
                _bestOrder = _frameOp.AsSpan(0, _depth).ToArray();
                _bestState = state;
                _bestCandidates = [];
                _bestDeadline = -1;
            }

            var verdict = timedOut ? LinearizabilityVerdict.Unknown : LinearizabilityVerdict.NotLinearizable;
            var prefix = Operations(_bestOrder);
            var unplaced = Operations(_bestCandidates.ToArray());
            var deadline = _bestDeadline >= 0 ? _history[_bestDeadline] : null;
            return new(verdict, _history.Count, prefix, unplaced, deadline, _steps, _clock.Elapsed, Report(verdict));
        }

        private Operation<TInput, TOutput>[] Operations(ReadOnlySpan<int> ops)
        {
            var result = new Operation<TInput, TOutput>[ops.Length];
            for (var i = 0; i < ops.Length; i++)
            {
                result[i] = _history[ops[i]];
            }

            return result;
        }

        private string Describe(int op)
        {
            var o = _history[op];
            var output = o.Completed ? o.Output : default;
            var times = o.Completed
                ? $"[{o.CallTime.ToString(CultureInfo.InvariantCulture)}, {o.ReturnTime.ToString(CultureInfo.InvariantCulture)}]"
                : $"[{o.CallTime.ToString(CultureInfo.InvariantCulture)}, ?)";
            return $"#{op} client {o.ClientId} {times}: {_model.DescribeOperation(o.Input, output)}";
        }

        private string Report(LinearizabilityVerdict verdict)
        {
            var unknown = _history.Count(o => !o.Completed);
            var text = new StringBuilder();
            text.Append(verdict == LinearizabilityVerdict.Unknown
                    ? $"linearizability unknown: the check timed out after {_clock.Elapsed.TotalMilliseconds:F0} ms ({_steps} steps)"
                    : $"NOT linearizable ({_steps} steps, {_clock.Elapsed.TotalMilliseconds:F1} ms)")
                .Append(CultureInfo.InvariantCulture, $": {_history.Count} operations ({unknown} of unknown outcome); the longest linearizable prefix found places {_bestDepth} of them.\n");

            text.Append("Longest linearizable prefix, in linearization order");
            var from = Math.Max(0, _bestOrder.Length - ReportedPrefix);
            if (from > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $" (the last {ReportedPrefix}; {from} before them not shown)");
            }

            text.Append(":\n");
            for (var i = from; i < _bestOrder.Length; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {i + 1,5}. {Describe(_bestOrder[i])}\n");
            }

            if (_bestOrder.Length == 0)
            {
                text.Append("  (none)\n");
            }

            var state = _bestState!;
            text.Append(CultureInfo.InvariantCulture, $"State after it: {_model.DescribeState(state)}\n");
            if (verdict == LinearizabilityVerdict.Unknown && _bestCandidates.Count == 0)
            {
                return text.ToString();
            }

            if (_bestDeadline >= 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"No operation can come next. The first left to return is {Describe(_bestDeadline)};\n")
                    .Append("the candidates, all called before it returned, and why each is rejected:\n");
            }
            else
            {
                text.Append("No operation can come next. Only operations of unknown outcome are left; why each is rejected:\n");
            }

            foreach (var op in _bestCandidates)
            {
                var o = _history[op];
                var output = o.Completed ? o.Output : default;
                var (ok, _) = _model.Step(state, o.Input, output);
                var why = ok ? "accepted, but leads to a (set, state) already explored" : _model.ExplainRejection(state, o.Input, output);
                text.Append(CultureInfo.InvariantCulture, $"  {Describe(op)}\n      {why}\n");
            }

            return text.ToString();
        }
    }
}
