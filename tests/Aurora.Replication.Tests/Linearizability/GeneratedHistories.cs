using Aurora.Testing.Linearizability;
using FsCheck;
using FsCheck.Fluent;

namespace Aurora.Replication.Tests.Linearizability;

/// <summary>
/// Histories that are linearizable by construction: clients run operations one after another with
/// random latencies; each operation takes effect at a random instant within its call and return, and
/// its output comes from running the operations in the order of those instants on a sequential
/// register or log. Some operations end with their outcome unknown, having taken effect or not.
/// </summary>
internal static class GeneratedHistories
{
    /// <param name="ReadPercent">How many operations are reads.</param>
    /// <param name="UnknownPercent">How many operations end with their outcome unknown (half of them took effect).</param>
    /// <param name="MaxLatency">The longest a call waits before it starts, and before it returns.</param>
    public sealed record Spec(int Seed, int Operations, int Clients, int ReadPercent, int UnknownPercent, int MaxLatency);

    private sealed record Planned(int Index, int Client, bool IsRead, long Call, long Return, long Point, bool Unknown, bool TookEffect);

    public static Gen<Spec> Specs(int maxOperations, int maxClients = 8, int maxUnknownPercent = 25, int minReadPercent = 0) =>
        from seed in Gen.Choose(0, int.MaxValue)
        from operations in Gen.Choose(1, maxOperations)
        from clients in Gen.Choose(1, maxClients)
        from reads in Gen.Choose(minReadPercent, 70)
        from unknown in Gen.Frequency((3, Gen.Constant(0)), (2, Gen.Choose(0, maxUnknownPercent)))
        from latency in Gen.Choose(1, 60)
        select new Spec(seed, operations, clients, reads, unknown, latency);

    public static List<Operation<LogInput<ulong>, LogOutput<ulong>>> Log(Spec spec)
    {
        var random = new Random(spec.Seed);
        var history = new Operation<LogInput<ulong>, LogOutput<ulong>>[spec.Operations];
        var log = new List<ulong>();
        foreach (var op in Plan(spec, random))
        {
            var value = (ulong)(op.Index + 1);
            LogInput<ulong> input = op.IsRead ? new LogRead<ulong>() : new LogAppend<ulong>(value);
            LogOutput<ulong>? output = null;
            if (op.TookEffect)
            {
                if (op.IsRead)
                {
                    output = new LogReadResult<ulong>(log.ToArray());
                }
                else
                {
                    log.Add(value);
                    output = new LogAppended<ulong>((ulong)log.Count);
                }
            }

            history[op.Index] = new(op.Client, input, op.Call, op.Unknown ? null : output, op.Unknown ? long.MaxValue : op.Return);
        }

        return Shuffled(history, random);
    }

    public static List<Operation<RegisterInput, RegisterOutput>> Register(Spec spec)
    {
        var random = new Random(spec.Seed);
        var history = new Operation<RegisterInput, RegisterOutput>[spec.Operations];
        var register = RegisterModel.Initial;
        foreach (var op in Plan(spec, random))
        {
            var value = op.Index + 1;
            var input = op.IsRead ? RegisterInput.Read() : RegisterInput.Write(value);
            RegisterOutput? output = null;
            if (op.TookEffect)
            {
                if (op.IsRead)
                {
                    output = new RegisterOutput(register);
                }
                else
                {
                    register = value;
                    output = RegisterOutput.Written;
                }
            }

            history[op.Index] = new(op.Client, input, op.Call, op.Unknown ? null : output, op.Unknown ? long.MaxValue : op.Return);
        }

        return Shuffled(history, random);
    }

    /// <summary>The operations in the order they take effect (those that never do included, anywhere).</summary>
    private static IEnumerable<Planned> Plan(Spec spec, Random random)
    {
        var free = new long[spec.Clients];
        var planned = new List<Planned>(spec.Operations);
        for (var i = 0; i < spec.Operations; i++)
        {
            var client = random.Next(spec.Clients);
            var call = free[client] + 1 + random.Next(spec.MaxLatency);
            var ret = call + random.Next(spec.MaxLatency);
            var point = random.NextInt64(call, ret + 1);
            var unknown = random.Next(100) < spec.UnknownPercent;
            var tookEffect = !unknown || random.Next(2) == 0;
            free[client] = ret; // the client moves on when it is answered, or gives up
            planned.Add(new(i, client, random.Next(100) < spec.ReadPercent, call, ret, point, unknown, tookEffect));
        }

        return planned.OrderBy(p => p.Point).ThenBy(_ => random.Next());
    }

    private static List<T> Shuffled<T>(T[] items, Random random)
    {
        var list = items.ToList();
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }

        return list;
    }
}
