using Aurora.Testing.Linearizability;

namespace Aurora.Replication.Tests.Linearizability;

/// <summary>
/// Linearizability by definition, for a handful of operations: try every subset of the operations
/// of unknown outcome as the ones that took effect, and every order of those and the completed ones
/// that respects real time, on a plain sequential object written here independently of the models.
/// </summary>
internal static class BruteForce
{
    public static bool Register(IReadOnlyList<Operation<RegisterInput, RegisterOutput>> history) =>
        Linearizable(history, RegisterModel.Initial, (value, op) => op.Input.IsWrite
            ? (true, op.Input.Value)
            : (op.Output is null || op.Output.Value == value, value));

    public static bool Log(IReadOnlyList<Operation<LogInput<ulong>, LogOutput<ulong>>> history) =>
        Linearizable(history, System.Collections.Immutable.ImmutableList<ulong>.Empty, (log, op) => (op.Input, op.Output) switch
        {
            (LogAppend<ulong> a, null) => (true, log.Add(a.Value)),
            (LogAppend<ulong> a, LogAppended<ulong> p) => (p.Position == (ulong)log.Count + 1, log.Add(a.Value)),
            (LogRead<ulong>, null) => (true, log),
            (LogRead<ulong>, LogReadResult<ulong> r) => (r.Values.SequenceEqual(log), log),
            _ => (false, log),
        });

    private static bool Linearizable<TState, TInput, TOutput>(
        IReadOnlyList<Operation<TInput, TOutput>> history, TState init, Func<TState, Operation<TInput, TOutput>, (bool Ok, TState Next)> step)
    {
        if (history.Count > 10)
        {
            throw new ArgumentException("brute force is for a handful of operations", nameof(history));
        }

        var unknown = Enumerable.Range(0, history.Count).Where(i => !history[i].Completed).ToList();
        for (var mask = 0; mask < 1 << unknown.Count; mask++)
        {
            var included = Enumerable.Range(0, history.Count)
                .Where(i => history[i].Completed || (mask & (1 << unknown.IndexOf(i))) != 0)
                .ToList();
            if (Search(included, init))
            {
                return true;
            }
        }

        return false;

        bool Search(List<int> remaining, TState state)
        {
            if (remaining.Count == 0)
            {
                return true;
            }

            foreach (var x in remaining)
            {
                // x may come next unless something else left to place returned before x was called.
                if (remaining.Any(y => y != x && history[y].Completed && history[y].ReturnTime < history[x].CallTime))
                {
                    continue;
                }

                var (ok, next) = step(state, history[x]);
                if (ok && Search(remaining.Where(y => y != x).ToList(), next))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
