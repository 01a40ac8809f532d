using Aurora.Replication.Membership;
using FsCheck;
using FsCheck.Fluent;

namespace Aurora.Replication.Tests.Membership;

public sealed class QuorumRuleTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(4, 3)]
    [InlineData(5, 3)]
    [InlineData(6, 4)]
    [InlineData(7, 4)]
    [InlineData(9, 5)]
    public void The_majority_is_floor_half_plus_one(int replicas, int majority) =>
        Assert.Equal(majority, QuorumRule.Majority(replicas));

    [Fact]
    public void A_minority_is_refused_in_one_line_naming_both_numbers_and_the_rule() =>
        Assert.Equal(
            "-native_log_quorum_size=1 is not a majority of the 3 replicas in -native_log_replicas: it must be at least floor(3/2)+1 = 2 (and at most 3)",
            QuorumRule.Check(3, 1));

    [Fact]
    public void A_quorum_above_the_replicas_is_refused() =>
        Assert.Equal(
            "-native_log_quorum_size=4 is more than the 3 replicas in -native_log_replicas: it must be at least floor(3/2)+1 = 2 and at most 3",
            QuorumRule.Check(3, 4));

    [Fact]
    public void Zero_and_negative_quorums_are_refused() =>
        Assert.Equal(
            "-native_log_quorum_size=0 is not a majority of the 5 replicas in -native_log_replicas: it must be at least floor(5/2)+1 = 3 (and at most 5)",
            QuorumRule.Check(5, 0));

    [Fact]
    public void Larger_quorums_than_the_majority_are_allowed_for_growing_three_replicas_to_five()
    {
        Assert.Null(QuorumRule.Check(3, 3));
        Assert.Null(QuorumRule.Check(5, 3));
        Assert.Null(QuorumRule.Check(5, 5));
    }

    [Fact]
    public void The_message_names_where_the_replicas_come_from() =>
        Assert.Equal(
            "-native_log_quorum_size=2 is not a majority of the 4 replicas in ZooKeeper group /aurora/replicated-log: it must be at least floor(4/2)+1 = 3 (and at most 4)",
            QuorumRule.Check(4, 2, "ZooKeeper group /aurora/replicated-log"));

    [Fact]
    public void There_is_no_quorum_of_no_replicas() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => QuorumRule.Check(0, 1));

    [Fact]
    public void Two_quorums_share_a_replica_exactly_when_the_rule_accepts_them() =>
        Prop.ForAll(Gen.Choose(1, 9).ToArbitrary(), Gen.Choose(-2, 11).ToArbitrary(), (replicas, quorum) =>
        {
            // Two quorums can be disjoint when they fit side by side among the replicas.
            var quorumsIntersect = quorum >= 1 && quorum <= replicas && 2 * quorum > replicas;
            return quorumsIntersect == (QuorumRule.Check(replicas, quorum) is null)
                && quorumsIntersect == QuorumRule.IsValid(replicas, quorum);
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void Start_up_accepts_exactly_the_majorities_and_above_for_odd_memberships()
    {
        using var startUp = new StartUpFlags();
        Prop.ForAll(Gen.Elements(1, 3, 5, 7).ToArbitrary(), replicas => EveryQuorumSize(startUp, replicas)).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Start_up_accepts_exactly_the_majorities_and_above_for_even_memberships()
    {
        using var startUp = new StartUpFlags();
        Prop.ForAll(Gen.Elements(2, 4, 6).ToArbitrary(), replicas => EveryQuorumSize(startUp, replicas)).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Without_the_flag_the_quorum_is_the_majority()
    {
        using var startUp = new StartUpFlags();
        foreach (var replicas in new[] { 1, 2, 3, 4, 5, 9 })
        {
            var result = ReplicationOptions.Build(startUp.Flags(replicas));
            Assert.True(result.Succeeded, string.Join("\n", result.Problems));
            Assert.Equal(QuorumRule.Majority(replicas), result.Options.QuorumSize);
        }
    }

    [Fact]
    public void A_quorum_that_is_not_a_number_is_refused_with_the_rule()
    {
        using var startUp = new StartUpFlags();
        Assert.Equal(
            "-native_log_quorum_size=two is not a whole number: for the 3 replicas in -native_log_replicas it must be at least floor(3/2)+1 = 2 and at most 3",
            startUp.OnlyProblem(3, (ReplicationFlags.QuorumSize, "two")));
    }

    /// <summary>Every quorum size from -1 to N+2 through the start-up entry point.</summary>
    private static bool EveryQuorumSize(StartUpFlags startUp, int replicas)
    {
        var majority = (replicas / 2) + 1;
        for (var quorum = -1; quorum <= replicas + 2; quorum++)
        {
            var result = ReplicationOptions.Build(startUp.Flags(replicas, (ReplicationFlags.QuorumSize, quorum.ToString(System.Globalization.CultureInfo.InvariantCulture))));
            if (quorum >= majority && quorum <= replicas)
            {
                Assert.True(result.Succeeded, $"N={replicas} Q={quorum}: {string.Join(" | ", result.Problems)}");
                Assert.Equal(quorum, result.Options.QuorumSize);
                Assert.Equal(quorum, result.Options.Membership.Current.QuorumSize);
                Assert.Equal(replicas, result.Options.Membership.Current.VoterIds.Count);
            }
            else
            {
                Assert.False(result.Succeeded, $"N={replicas} Q={quorum} was accepted");
                var problem = Assert.Single(result.Problems);
                Assert.DoesNotContain('\n', problem);
                Assert.DoesNotContain('\r', problem);
                Assert.Contains($"-native_log_quorum_size={quorum} ", problem, StringComparison.Ordinal);
                Assert.Contains($" the {replicas} replicas ", problem, StringComparison.Ordinal);
                Assert.Contains($"floor({replicas}/2)+1 = {majority}", problem, StringComparison.Ordinal);
            }
        }

        return true;
    }
}
