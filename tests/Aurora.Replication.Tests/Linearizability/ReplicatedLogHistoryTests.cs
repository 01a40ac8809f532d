using Aurora.Testing.Linearizability;
using static Aurora.Replication.Tests.Linearizability.Log;

namespace Aurora.Replication.Tests.Linearizability;

/// <summary>
/// The replicated-log model on hand-written histories. Each is checked both with the model that
/// learns from the history (what simulators use) and with the plain specification: they must agree.
/// </summary>
public class ReplicatedLogHistoryTests
{
    private static void Linearizable(params Operation<LogInput<ulong>, LogOutput<ulong>>[] history)
    {
        var learned = Check(history);
        Assert.True(learned.IsLinearizable, learned.Report);
        var plain = CheckPlain(history);
        Assert.True(plain.IsLinearizable, plain.Report);
    }

    private static LinearizabilityResult<LogInput<ulong>, LogOutput<ulong>> NotLinearizable(params Operation<LogInput<ulong>, LogOutput<ulong>>[] history)
    {
        var plain = CheckPlain(history);
        Assert.True(plain.Verdict == LinearizabilityVerdict.NotLinearizable, plain.Report);
        var learned = Check(history);
        Assert.True(learned.Verdict == LinearizabilityVerdict.NotLinearizable, learned.Report);
        return learned;
    }

    [Fact]
    public void Sequential_appends_and_reads_are_linearizable() =>
        Linearizable(
            Append(1, 100, 0, 10, 1),
            Read(2, 20, 30, 100),
            Append(1, 200, 40, 50, 2),
            Read(2, 60, 70, 100, 200));

    [Fact]
    public void Reading_an_empty_log_before_any_append_is_linearizable() =>
        Linearizable(Read(1, 0, 10), Append(2, 7, 20, 30, 1));

    [Fact]
    public void Two_appends_committed_at_the_same_position_are_not_linearizable()
    {
        var result = NotLinearizable(Append(1, 100, 0, 10, 1), Append(2, 200, 0, 10, 1));

        Assert.Contains("committed at position 1, but the log holds 1 value here, so the next position is 2", result.Report, StringComparison.Ordinal);
    }

    [Fact]
    public void A_read_that_misses_an_acknowledged_append_is_not_linearizable()
    {
        var result = NotLinearizable(Append(1, 100, 0, 10, 1), Append(1, 200, 20, 30, 2), Read(2, 40, 50, 100));

        Assert.Contains("stale prefix", result.Report, StringComparison.Ordinal);
        Assert.Contains("misses positions 2 to 2", result.Report, StringComparison.Ordinal);
    }

    [Fact]
    public void A_read_concurrent_with_an_append_may_miss_it() =>
        Linearizable(Append(1, 100, 0, 10, 1), Append(1, 200, 20, 30, 2), Read(2, 25, 50, 100));

    [Fact]
    public void A_value_observed_and_then_unobserved_is_not_linearizable() =>
        NotLinearizable(Append(1, 100, 0, 100, 1), Read(2, 10, 20, 100), Read(3, 30, 40));

    [Fact]
    public void Concurrent_appends_are_linearizable_in_the_order_of_their_positions()
    {
        var result = Check(Append(1, 100, 0, 10, 2), Append(2, 200, 0, 10, 1), Read(3, 20, 30, 200, 100));

        Assert.True(result.IsLinearizable, result.Report);
        Assert.Equal([200UL, 100UL], result.Linearization.Select(o => o.Input).OfType<LogAppend<ulong>>().Select(a => a.Value));
    }

    [Fact]
    public void A_read_that_shows_values_in_another_order_than_their_positions_is_not_linearizable()
    {
        var result = NotLinearizable(Append(1, 100, 0, 10, 1), Append(2, 200, 0, 10, 2), Read(3, 20, 30, 200, 100));

        Assert.Contains("at position 1 the read has 200 where the log has 100", result.Report, StringComparison.Ordinal);
    }

    [Fact]
    public void An_append_that_returns_a_position_already_passed_is_not_linearizable() =>
        NotLinearizable(Append(1, 100, 0, 10, 1), Append(1, 200, 20, 30, 2), Append(2, 300, 40, 50, 1));

    [Fact]
    public void A_gap_in_the_positions_is_not_linearizable() =>
        NotLinearizable(Append(1, 100, 0, 10, 2));

    [Fact]
    public void A_read_of_a_value_never_appended_is_not_linearizable() =>
        NotLinearizable(Append(1, 100, 0, 10, 1), Read(2, 20, 30, 100, 999));

    [Fact]
    public void A_read_of_a_value_whose_append_was_called_after_the_read_returned_is_not_linearizable() =>
        NotLinearizable(Read(2, 0, 10, 100), Append(1, 100, 20, 30, 1));

    [Fact]
    public void An_append_of_unknown_outcome_may_have_committed() =>
        Linearizable(AppendUnknown(1, 100, 0), Append(2, 200, 10, 20, 2), Read(3, 30, 40, 100, 200));

    [Fact]
    public void An_append_of_unknown_outcome_may_never_have_committed() =>
        Linearizable(AppendUnknown(1, 100, 0), Append(2, 200, 10, 20, 1), Read(3, 30, 40, 200), Read(3, 1000, 1010, 200));

    [Fact]
    public void An_append_of_unknown_outcome_may_commit_long_after_its_client_gave_up() =>
        Linearizable(AppendUnknown(1, 100, 0), Read(3, 30, 40), Append(2, 200, 50, 60, 1), Read(3, 1000, 1010, 200, 100));

    [Fact]
    public void An_append_of_unknown_outcome_no_read_saw_can_fill_a_position() =>
        Linearizable(AppendUnknown(1, 100, 0), Append(2, 200, 10, 20, 2));

    [Fact]
    public void An_append_of_unknown_outcome_cannot_both_commit_and_not() =>
        NotLinearizable(AppendUnknown(1, 100, 0), Read(2, 10, 20, 100), Read(3, 30, 40));

    [Fact]
    public void An_append_of_unknown_outcome_cannot_commit_before_it_was_called() =>
        NotLinearizable(Read(2, 10, 20, 100), AppendUnknown(1, 100, 50));

    [Fact]
    public void An_append_of_unknown_outcome_commits_at_the_end_of_the_log_not_in_the_middle() =>
        NotLinearizable(Append(1, 100, 0, 10, 1), AppendUnknown(2, 300, 0), Append(1, 200, 20, 30, 2), Read(3, 40, 50, 300, 100, 200));

    [Fact]
    public void A_retried_append_may_commit_twice() =>
        Linearizable(AppendUnknown(1, 100, 0), Append(1, 100, 10, 20, 2), Read(2, 30, 40, 100, 100));

    [Fact]
    public void A_read_of_unknown_outcome_constrains_nothing() =>
        Linearizable(Append(1, 100, 0, 10, 1), ReadUnknown(2, 5), Read(2, 20, 30, 100));

    [Fact]
    public void Positions_may_start_at_zero()
    {
        Operation<LogInput<ulong>, LogOutput<ulong>>[] history = [Append(1, 100, 0, 10, 0), Append(1, 200, 20, 30, 1), Read(2, 40, 50, 100, 200)];

        Assert.True(ReplicatedLogModel.Check(history, firstPosition: 0).IsLinearizable);
        Assert.Equal(LinearizabilityVerdict.NotLinearizable, ReplicatedLogModel.Check(history).Verdict);
    }

    [Fact]
    public void Many_unacknowledged_appends_of_a_crashed_leader_are_checked_quickly()
    {
        // 40 appends time out when a leader crashes; the new leader commits 5 of them, and later appends follow.
        var history = new List<Operation<LogInput<ulong>, LogOutput<ulong>>>();
        for (var i = 0; i < 40; i++)
        {
            history.Add(AppendUnknown(i, (ulong)(1000 + i), i));
        }

        for (var i = 0; i < 20; i++)
        {
            history.Add(Append(100, (ulong)i, 100 + (10 * i), 105 + (10 * i), (ulong)(6 + i)));
        }

        var read = Enumerable.Range(0, 5).Select(i => (ulong)(1000 + (7 * i))).Concat(Enumerable.Range(0, 20).Select(i => (ulong)i)).ToArray();
        history.Add(Read(101, 400, 410, read));

        var result = ReplicatedLogModel.Check(history, TimeSpan.FromSeconds(30));

        Assert.True(result.IsLinearizable, result.Report);
    }

    [Fact]
    public void A_failure_report_shows_the_prefix_the_state_and_why_each_candidate_was_rejected()
    {
        var result = NotLinearizable(Append(1, 100, 0, 10, 1), Append(1, 200, 20, 30, 2), Read(2, 40, 50, 100));

        Assert.Equal(2, result.Linearization.Count);
        Assert.Equal(3, result.OperationCount);
        var unplaced = Assert.Single(result.Unplaced);
        Assert.IsType<LogRead<ulong>>(unplaced.Input);
        Assert.Same(unplaced, result.Deadline);
        Assert.Contains("NOT linearizable", result.Report, StringComparison.Ordinal);
        Assert.Contains("the log holds 2 values [100, 200]", result.Report, StringComparison.Ordinal);
        Assert.Contains("client 2 [40, 50]: Read -> 1 value [100]", result.Report, StringComparison.Ordinal);
    }
}
