using Aurora.Testing.Linearizability;
using LogOp = Aurora.Testing.Linearizability.Operation<Aurora.Testing.Linearizability.LogInput<ulong>, Aurora.Testing.Linearizability.LogOutput<ulong>>;
using RegisterOp = Aurora.Testing.Linearizability.Operation<Aurora.Testing.Linearizability.RegisterInput, Aurora.Testing.Linearizability.RegisterOutput>;

namespace Aurora.Replication.Tests.Linearizability;

/// <summary>Changes to one output of a generated history that no linearization can explain.</summary>
internal static class Mutations
{
    public enum LogMutation
    {
        /// <summary>Two completed appends trade positions, and a read saw one of them where it really was.</summary>
        SwapPositions,

        /// <summary>A read loses a value that is not its last, and the value after it has a known position.</summary>
        DropFromRead,

        /// <summary>A read loses the tail of the log from a value whose append returned before the read was called.</summary>
        StaleRead,

        /// <summary>A completed append claims another completed append's position.</summary>
        DuplicatePosition,

        /// <summary>A read returns a value nobody appended.</summary>
        ValueNeverAppended,
    }

    public enum RegisterMutation
    {
        /// <summary>A read returns a value nobody wrote.</summary>
        ReadNeverWritten,

        /// <summary>A read returns a value overwritten by a write that returned before the read was called.</summary>
        StaleRead,
    }

    /// <summary>The history with the mutation applied at a random place it fits, and what was done; null if it fits nowhere.</summary>
    public static (List<LogOp> History, string What)? Apply(List<LogOp> history, LogMutation mutation, Random random)
    {
        var appends = Enumerable.Range(0, history.Count).Where(i => history[i].Output is LogAppended<ulong>).ToList();
        var reads = Enumerable.Range(0, history.Count).Where(i => history[i].Output is LogReadResult<ulong>).ToList();
        var appendOf = appends.ToDictionary(i => ((LogAppend<ulong>)history[i].Input).Value);
        var observed = reads.SelectMany(i => Values(history[i])).ToHashSet();
        var changed = history.ToList();
        switch (mutation)
        {
            case LogMutation.SwapPositions:
                {
                    var seen = appends.Where(i => observed.Contains(((LogAppend<ulong>)history[i].Input).Value)).ToList();
                    if (seen.Count == 0 || appends.Count < 2)
                    {
                        return null;
                    }

                    var a = Pick(seen, random);
                    var b = Pick(appends.Where(i => i != a).ToList(), random);
                    changed[a] = history[a] with { Output = history[b].Output };
                    changed[b] = history[b] with { Output = history[a].Output };
                    return (changed, $"swapped the positions of {history[a]} and {history[b]}");
                }

            case LogMutation.DropFromRead:
                {
                    var places = reads.SelectMany(r => Enumerable.Range(0, Math.Max(0, Values(history[r]).Count - 1))
                            .Where(j => appendOf.ContainsKey(Values(history[r])[j + 1]))
                            .Select(j => (Read: r, Index: j)))
                        .ToList();
                    if (places.Count == 0)
                    {
                        return null;
                    }

                    var (read, index) = Pick(places, random);
                    var values = Values(history[read]).ToList();
                    values.RemoveAt(index);
                    changed[read] = history[read] with { Output = new LogReadResult<ulong>(values) };
                    return (changed, $"dropped the value at index {index} from {history[read]}");
                }

            case LogMutation.StaleRead:
                {
                    var places = reads.SelectMany(r => Enumerable.Range(0, Values(history[r]).Count)
                            .Where(k => appendOf.TryGetValue(Values(history[r])[k], out var a) && history[a].ReturnTime < history[r].CallTime)
                            .Select(k => (Read: r, Keep: k)))
                        .ToList();
                    if (places.Count == 0)
                    {
                        return null;
                    }

                    var (read, keep) = Pick(places, random);
                    changed[read] = history[read] with { Output = new LogReadResult<ulong>(Values(history[read]).Take(keep).ToArray()) };
                    return (changed, $"cut {history[read]} to its first {keep} values");
                }

            case LogMutation.DuplicatePosition:
                {
                    if (appends.Count < 2)
                    {
                        return null;
                    }

                    var a = Pick(appends, random);
                    var b = Pick(appends.Where(i => i != a).ToList(), random);
                    changed[b] = history[b] with { Output = new LogAppended<ulong>(((LogAppended<ulong>)history[a].Output!).Position) };
                    return (changed, $"gave {history[b]} the position of {history[a]}");
                }

            case LogMutation.ValueNeverAppended:
                {
                    if (reads.Count == 0)
                    {
                        return null;
                    }

                    var read = Pick(reads, random);
                    changed[read] = history[read] with { Output = new LogReadResult<ulong>([.. Values(history[read]), ulong.MaxValue]) };
                    return (changed, $"added a value never appended to {history[read]}");
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(mutation));
        }
    }

    public static (List<RegisterOp> History, string What)? Apply(List<RegisterOp> history, RegisterMutation mutation, Random random)
    {
        var reads = Enumerable.Range(0, history.Count).Where(i => history[i].Completed && !history[i].Input.IsWrite).ToList();
        var writes = Enumerable.Range(0, history.Count).Where(i => history[i].Completed && history[i].Input.IsWrite).ToList();
        var changed = history.ToList();
        switch (mutation)
        {
            case RegisterMutation.ReadNeverWritten:
                {
                    if (reads.Count == 0)
                    {
                        return null;
                    }

                    var read = Pick(reads, random);
                    changed[read] = history[read] with { Output = new RegisterOutput(-1) };
                    return (changed, $"made {history[read]} read -1");
                }

            case RegisterMutation.StaleRead:
                {
                    // (value, read): the read was called after a write returned that itself was called after the value's write returned;
                    // the initial value counts as written before everything.
                    var places = new List<(int Value, int Read)>();
                    foreach (var r in reads)
                    {
                        var overwritten = writes.Where(w => history[w].ReturnTime < history[r].CallTime).ToList();
                        if (overwritten.Count > 0)
                        {
                            var bound = overwritten.Max(w => history[w].CallTime);
                            places.Add((RegisterModel.Initial, r));
                            places.AddRange(writes.Where(w => history[w].ReturnTime < bound).Select(w => (history[w].Input.Value, r)));
                        }
                    }

                    if (places.Count == 0)
                    {
                        return null;
                    }

                    var (value, read) = Pick(places, random);
                    changed[read] = history[read] with { Output = new RegisterOutput(value) };
                    return (changed, $"made {history[read]} read the overwritten {value}");
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(mutation));
        }
    }

    private static IReadOnlyList<ulong> Values(LogOp op) => ((LogReadResult<ulong>)op.Output!).Values;

    private static T Pick<T>(IReadOnlyList<T> items, Random random) => items[random.Next(items.Count)];
}
