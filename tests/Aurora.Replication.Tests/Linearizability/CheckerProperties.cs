using Aurora.Testing.Linearizability;
using FsCheck;
using FsCheck.Fluent;
using LogOp = Aurora.Testing.Linearizability.Operation<Aurora.Testing.Linearizability.LogInput<ulong>, Aurora.Testing.Linearizability.LogOutput<ulong>>;
using RegisterOp = Aurora.Testing.Linearizability.Operation<Aurora.Testing.Linearizability.RegisterInput, Aurora.Testing.Linearizability.RegisterOutput>;

namespace Aurora.Replication.Tests.Linearizability;

/// <summary>
/// Histories generated from a real sequential execution are linearizable; one output changed in a
/// way no execution explains makes them not; and on histories small enough to enumerate, the checker
/// agrees with the definition whatever the history.
/// </summary>
public class CheckerProperties
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public void Histories_of_a_sequential_log_with_overlapping_intervals_are_linearizable()
    {
        Prop.ForAll(GeneratedHistories.Specs(maxOperations: 300, maxUnknownPercent: 50).ToArbitrary(), spec =>
        {
            var history = GeneratedHistories.Log(spec);
            var learned = ReplicatedLogModel.Check(history, Patience);
            Assert.True(learned.IsLinearizable, $"{spec}\n{learned.Report}");
            Assert.Equal(history.Count, learned.Linearization.Count);

            // The plain specification, which learns nothing, guesses where every unknown append went:
            // exponential in their number, so it is held to the completed histories here (and to every
            // history in the brute-force comparisons below).
            if (history.All(o => o.Completed))
            {
                var plain = LinearizabilityChecker.Check(new ReplicatedLogModel<ulong>(), history, Patience);
                Assert.True(plain.IsLinearizable, $"{spec}\n{plain.Report}");
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Histories_of_a_sequential_register_with_overlapping_intervals_are_linearizable()
    {
        // Few unknown writes: the register model learns nothing, and a search stuck at a read tries the
        // pending writes in every order (the replicated-log model is the one taught to avoid that).
        Prop.ForAll(GeneratedHistories.Specs(maxOperations: 300, maxUnknownPercent: 2).ToArbitrary(), spec =>
        {
            var result = LinearizabilityChecker.Check(new RegisterModel(), GeneratedHistories.Register(spec), Patience);
            Assert.True(result.IsLinearizable, $"{spec}\n{result.Report}");
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void A_log_history_with_one_provably_illegal_output_is_not_linearizable()
    {
        var cases =
            from spec in GeneratedHistories.Specs(maxOperations: 200, maxUnknownPercent: 50)
            from mutation in Gen.Elements(Enum.GetValues<Mutations.LogMutation>())
            select (Spec: spec, Mutation: mutation);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var mutated = Mutations.Apply(GeneratedHistories.Log(c.Spec), c.Mutation, new Random(c.Spec.Seed));
            if (mutated is not { } m)
            {
                return;
            }

            var result = ReplicatedLogModel.Check(m.History, Patience);
            Assert.True(result.Verdict == LinearizabilityVerdict.NotLinearizable, $"{c.Spec}: {m.What}\n{result.Report}");
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void A_register_history_with_one_provably_illegal_read_is_not_linearizable()
    {
        var cases =
            from spec in GeneratedHistories.Specs(maxOperations: 200, maxUnknownPercent: 2)
            from mutation in Gen.Elements(Enum.GetValues<Mutations.RegisterMutation>())
            select (Spec: spec, Mutation: mutation);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var mutated = Mutations.Apply(GeneratedHistories.Register(c.Spec), c.Mutation, new Random(c.Spec.Seed));
            if (mutated is not { } m)
            {
                return;
            }

            var result = LinearizabilityChecker.Check(new RegisterModel(), m.History, Patience);
            Assert.True(result.Verdict == LinearizabilityVerdict.NotLinearizable, $"{c.Spec}: {m.What}\n{result.Report}");
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void On_small_log_histories_the_checker_agrees_with_brute_force()
    {
        var cases =
            from spec in GeneratedHistories.Specs(maxOperations: 7, maxClients: 4, maxUnknownPercent: 50, minReadPercent: 30)
            from corruptions in Gen.Choose(0, 2)
            select (Spec: spec, Corruptions: corruptions);
        Prop.ForAll(cases.ToArbitrary(), c => { _ = CompareLog(c.Spec, c.Corruptions); })
            .Check(Config.QuickThrowOnFailure.WithMaxTest(1000).WithQuietOnSuccess(true));
    }

    [Fact]
    public void On_small_register_histories_the_checker_agrees_with_brute_force()
    {
        var cases =
            from spec in GeneratedHistories.Specs(maxOperations: 7, maxClients: 4, maxUnknownPercent: 50, minReadPercent: 30)
            from corruptions in Gen.Choose(0, 2)
            select (Spec: spec, Corruptions: corruptions);
        Prop.ForAll(cases.ToArbitrary(), c => { _ = CompareRegister(c.Spec, c.Corruptions); })
            .Check(Config.QuickThrowOnFailure.WithMaxTest(1000).WithQuietOnSuccess(true));
    }

    [Fact]
    public void The_brute_force_comparisons_meet_both_verdicts_often()
    {
        var random = new Random(7);
        var specs = Enumerable.Range(0, 400)
            .Select(_ => new GeneratedHistories.Spec(random.Next(), random.Next(1, 8), random.Next(1, 5), random.Next(30, 71), random.Next(0, 51), random.Next(1, 61)))
            .ToList();
        var log = specs.Select((spec, i) => CompareLog(spec, i % 3)).ToList();
        var register = specs.Select((spec, i) => CompareRegister(spec, i % 3)).ToList();

        // A third are uncorrupted, so linearizable; of the rest, the log's reads and positions break
        // often, the register's reads less (a register forgets, so small histories explain much).
        Assert.InRange(log.Count(linearizable => linearizable), 160, 320);
        Assert.InRange(register.Count(linearizable => linearizable), 160, 380);
    }

    /// <summary>Compares the checker with brute force on a small history with some corruptions; returns the verdict.</summary>
    private static bool CompareLog(GeneratedHistories.Spec spec, int corruptions)
    {
        var random = new Random(spec.Seed);
        var history = GeneratedHistories.Log(spec);
        for (var i = 0; i < corruptions; i++)
        {
            Corrupt(history, random);
        }

        var expected = BruteForce.Log(history);
        var learned = ReplicatedLogModel.Check(history);
        var plain = LinearizabilityChecker.Check(new ReplicatedLogModel<ulong>(), history);
        var described = $"{spec}, {corruptions} corruptions\n{string.Join("\n", history)}";
        Assert.True(expected == learned.IsLinearizable, $"brute force says {expected}: {described}\n{learned.Report}");
        Assert.True(expected == plain.IsLinearizable, $"brute force says {expected}: {described}\n{plain.Report}");
        return expected;
    }

    private static bool CompareRegister(GeneratedHistories.Spec spec, int corruptions)
    {
        var random = new Random(spec.Seed);
        var history = GeneratedHistories.Register(spec);
        for (var i = 0; i < corruptions; i++)
        {
            Corrupt(history, random);
        }

        var expected = BruteForce.Register(history);
        var result = LinearizabilityChecker.Check(new RegisterModel(), history);
        Assert.True(expected == result.IsLinearizable, $"brute force says {expected}: {spec}, {corruptions} corruptions\n{string.Join("\n", history)}\n{result.Report}");
        return expected;
    }

    /// <summary>Changes one operation at random, in any way: the result may or may not be linearizable.</summary>
    private static void Corrupt(List<LogOp> history, Random random)
    {
        var i = random.Next(history.Count);
        var op = history[i];
        var appended = history.Select(o => o.Input).OfType<LogAppend<ulong>>().Select(a => a.Value).ToList();
        history[i] = (op.Input, op.Output, random.Next(7)) switch
        {
            (_, _, 0) => Retimed(op, random),
            (_, not null, 6) => Narrowed(op, random),
            (LogAppend<ulong>, LogAppended<ulong> p, 1) => op with { Output = null, ReturnTime = long.MaxValue },
            (LogAppend<ulong>, LogAppended<ulong> p, _) => op with { Output = new LogAppended<ulong>(p.Position == 1 || random.Next(2) == 0 ? p.Position + 1 : p.Position - 1) },
            (LogAppend<ulong>, null, _) => op with { Output = new LogAppended<ulong>((ulong)random.Next(1, history.Count + 1)), ReturnTime = op.CallTime + random.Next(50) },
            (LogRead<ulong>, LogReadResult<ulong>, 1) => op with { Output = null, ReturnTime = long.MaxValue },
            (LogRead<ulong>, LogReadResult<ulong> r, _) => op with { Output = new LogReadResult<ulong>(Edited(r.Values, appended, random)) },
            (LogRead<ulong>, null, _) => op with { Output = new LogReadResult<ulong>(appended.Where(_ => random.Next(2) == 0).ToArray()), ReturnTime = op.CallTime + random.Next(50) },
            _ => op,
        };
    }

    private static void Corrupt(List<RegisterOp> history, Random random)
    {
        var i = random.Next(history.Count);
        var op = history[i];
        var written = history.Where(o => o.Input.IsWrite).Select(o => o.Input.Value).Append(RegisterModel.Initial).ToList();
        history[i] = (op.Input.IsWrite, op.Completed, random.Next(6)) switch
        {
            (_, _, 0) => Retimed(op, random),
            (_, true, 5 or 4) => Narrowed(op, random),
            (_, true, 1) => op with { Output = null, ReturnTime = long.MaxValue },
            (false, true, _) => op with { Output = new RegisterOutput(written[random.Next(written.Count)]) },
            (true, true, _) => op with { Input = RegisterInput.Write(written[random.Next(written.Count)]) },
            (true, false, _) => op with { Output = RegisterOutput.Written, ReturnTime = op.CallTime + random.Next(50) },
            (false, false, _) => op with { Output = new RegisterOutput(written[random.Next(written.Count)]), ReturnTime = op.CallTime + random.Next(50) },
        };
    }

    private static Operation<TInput, TOutput> Retimed<TInput, TOutput>(Operation<TInput, TOutput> op, Random random)
    {
        var call = Math.Max(0, op.CallTime + random.Next(-40, 41));
        return op.Completed ? op with { CallTime = call, ReturnTime = call + random.Next(40) } : op with { CallTime = call };
    }

    /// <summary>The operation as an instant, at its call or its return: it now overlaps fewer others.</summary>
    private static Operation<TInput, TOutput> Narrowed<TInput, TOutput>(Operation<TInput, TOutput> op, Random random) =>
        random.Next(2) == 0 ? op with { ReturnTime = op.CallTime } : op with { CallTime = op.ReturnTime };

    private static ulong[] Edited(IReadOnlyList<ulong> values, List<ulong> appended, Random random)
    {
        var list = values.ToList();
        switch (random.Next(4))
        {
            case 0 when list.Count > 0:
                list.RemoveAt(random.Next(list.Count));
                break;
            case 1 when appended.Count > 0:
                list.Insert(random.Next(list.Count + 1), appended[random.Next(appended.Count)]);
                break;
            case 2 when list.Count > 1:
                var (a, b) = (random.Next(list.Count), random.Next(list.Count));
                (list[a], list[b]) = (list[b], list[a]);
                break;
            default:
                list.RemoveRange(list.Count / 2, list.Count - (list.Count / 2));
                break;
        }

        return [.. list];
    }
}
