using Aurora.Testing.Linearizability;
using static Aurora.Replication.Tests.Linearizability.Reg;

namespace Aurora.Replication.Tests.Linearizability;

/// <summary>The checker on a register, with histories small enough to reason about by hand.</summary>
public class RegisterHistoryTests
{
    private static void Linearizable(LinearizabilityResult<RegisterInput, RegisterOutput> result) =>
        Assert.True(result.IsLinearizable, result.Report);

    private static void NotLinearizable(LinearizabilityResult<RegisterInput, RegisterOutput> result) =>
        Assert.True(result.Verdict == LinearizabilityVerdict.NotLinearizable, result.Report);

    [Fact]
    public void An_empty_history_is_linearizable() => Linearizable(Check());

    [Fact]
    public void A_read_after_a_write_sees_it() =>
        Linearizable(Check(Write(1, 5, 0, 10), Read(2, 5, 20, 30)));

    [Fact]
    public void A_stale_read_after_a_completed_write_is_not_linearizable()
    {
        var result = Check(Write(1, 5, 0, 10), Read(2, 0, 20, 30));

        NotLinearizable(result);
        Assert.Equal([RegisterInput.Write(5)], result.Linearization.Select(o => o.Input));
        Assert.Equal(RegisterInput.Read(), Assert.Single(result.Unplaced).Input);
        Assert.Contains("read 0 but the register holds 5", result.Report, StringComparison.Ordinal);
    }

    [Fact]
    public void A_read_concurrent_with_a_write_may_see_either_value()
    {
        Linearizable(Check(Write(1, 5, 0, 10), Read(2, 0, 5, 15)));
        Linearizable(Check(Write(1, 5, 0, 10), Read(2, 5, 5, 15)));
    }

    [Fact]
    public void Operations_that_touch_at_an_instant_are_concurrent() =>
        Linearizable(Check(Write(1, 5, 0, 10), Read(2, 0, 10, 20)));

    [Fact]
    public void A_write_observed_and_then_unobserved_is_not_linearizable() =>
        NotLinearizable(Check(Write(1, 5, 0, 100), Read(2, 5, 10, 20), Read(3, 0, 30, 40)));

    [Fact]
    public void A_read_of_a_value_never_written_is_not_linearizable() =>
        NotLinearizable(Check(Write(1, 5, 0, 10), Read(2, 7, 0, 30)));

    [Fact]
    public void Concurrent_writes_are_linearizable_in_the_one_order_the_reads_allow()
    {
        var result = Check(Write(1, 1, 0, 10), Write(2, 2, 0, 10), Read(3, 1, 20, 30));

        Linearizable(result);
        Assert.Equal([2, 1], result.Linearization.Where(o => o.Input.IsWrite).Select(o => o.Input.Value));
    }

    [Fact]
    public void Reads_that_need_both_orders_of_two_concurrent_writes_are_not_linearizable() =>
        NotLinearizable(Check(Write(1, 1, 0, 10), Write(2, 2, 0, 10), Read(3, 1, 20, 30), Read(4, 2, 40, 50)));

    [Fact]
    public void Two_readers_may_see_a_write_at_different_times() =>
        Linearizable(Check(Write(1, 1, 0, 100), Read(2, 0, 10, 20), Read(3, 1, 30, 40), Read(2, 1, 50, 60)));

    [Fact]
    public void A_write_of_unknown_outcome_may_never_have_happened() =>
        Linearizable(Check(WriteUnknown(1, 5, 0), Read(2, 0, 10, 20), Read(2, 0, 1000, 1010)));

    [Fact]
    public void A_write_of_unknown_outcome_may_have_happened_long_after_its_client_gave_up() =>
        Linearizable(Check(WriteUnknown(1, 5, 0), Read(2, 0, 10, 20), Read(2, 5, 1000, 1010)));

    [Fact]
    public void A_write_of_unknown_outcome_cannot_both_happen_and_not() =>
        NotLinearizable(Check(WriteUnknown(1, 5, 0), Read(2, 5, 10, 20), Read(2, 0, 30, 40)));

    [Fact]
    public void A_write_of_unknown_outcome_cannot_take_effect_before_it_was_called() =>
        NotLinearizable(Check(Read(2, 5, 10, 20), WriteUnknown(1, 5, 50)));

    [Fact]
    public void Writes_of_unknown_outcome_may_take_effect_in_any_order()
    {
        Linearizable(Check(WriteUnknown(1, 1, 0), WriteUnknown(2, 2, 0), Read(3, 1, 10, 20), Read(3, 2, 30, 40)));
        Linearizable(Check(WriteUnknown(1, 1, 0), WriteUnknown(2, 2, 0), Read(3, 2, 10, 20), Read(3, 1, 30, 40)));
        NotLinearizable(Check(WriteUnknown(1, 1, 0), WriteUnknown(2, 2, 0), Read(3, 2, 10, 20), Read(3, 1, 30, 40), Read(3, 2, 50, 60)));
    }

    [Fact]
    public void Identical_pending_writes_are_tried_as_one_group_in_each_state()
    {
        // 40 retries of one write that timed out, seen and then unseen: refuting it would try 2^40
        // subsets of the retries without the symmetry cut, and takes 41 counts with it.
        var history = Enumerable.Range(0, 40).Select(c => WriteUnknown(c, 7, c)).Append(Read(99, 7, 100, 110)).Append(Read(99, 0, 120, 130)).ToArray();

        var result = LinearizabilityChecker.Check(new RegisterModel(), history, TimeSpan.FromSeconds(30));

        NotLinearizable(result);
        Assert.True(result.Steps < 10_000, $"{result.Steps} steps");
    }

    [Fact]
    public void The_linearization_of_a_linearizable_history_holds_every_operation_once()
    {
        Operation<RegisterInput, RegisterOutput>[] history =
            [Write(1, 1, 0, 10), Read(2, 1, 5, 25), Write(3, 2, 20, 30), WriteUnknown(4, 3, 22), Read(1, 2, 40, 50), Operation.Unknown<RegisterInput, RegisterOutput>(5, RegisterInput.Read(), 7)];

        var result = Check(history);

        Linearizable(result);
        Assert.Equal(history.Length, result.Linearization.Count);
        Assert.Equal(history.ToHashSet(), result.Linearization.ToHashSet());
    }

    [Fact]
    public void An_operation_that_returns_before_its_call_is_refused() =>
        Assert.Throws<ArgumentException>(() => Check(Write(1, 1, 10, 5)));
}
