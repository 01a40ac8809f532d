using Aurora.Replication.Membership;

namespace Aurora.Replication.Tests.Membership;

public sealed class StaticMembershipTests
{
    [Fact]
    public void The_list_keeps_its_order_and_canonical_ids()
    {
        Assert.True(StaticMembership.TryParseReplicas(" B.example.com:8083 , a.example.com:8083,[::1]:8084 ", out var replicas, out var problems));
        Assert.Empty(problems);
        Assert.Equal(["b.example.com:8083", "a.example.com:8083", "[::1]:8084"], replicas.Select(r => r.Id));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void The_list_is_required(string? text)
    {
        Assert.False(StaticMembership.TryParseReplicas(text, out var replicas, out var problems));
        Assert.Empty(replicas);
        Assert.Equal(
            "-native_log_replicas is required: every replica's host:port, this one included, e.g. -native_log_replicas=replica1.example.com:8083,replica2.example.com:8083,replica3.example.com:8083",
            Assert.Single(problems));
    }

    [Theory]
    [InlineData("a:1,,b:1", "-native_log_replicas: item 2 of 3 is empty (a stray comma?); list each replica as host:port, separated by single commas")]
    [InlineData("a:1,b:1,", "-native_log_replicas: item 3 of 3 is empty (a stray comma?); list each replica as host:port, separated by single commas")]
    [InlineData(",a:1", "-native_log_replicas: item 1 of 2 is empty (a stray comma?); list each replica as host:port, separated by single commas")]
    [InlineData("a:1, ,b:1", "-native_log_replicas: item 2 of 3 is empty (a stray comma?); list each replica as host:port, separated by single commas")]
    [InlineData("a:1,b:99999", "-native_log_replicas: item 2 of 2 \"b:99999\": port 99999 is not a number from 1 to 65535")]
    [InlineData("a:1,b", "-native_log_replicas: item 2 of 2 \"b\": expected host:port, e.g. replica1.example.com:8083 or [::1]:8083")]
    [InlineData("a:1,::1:8083", "-native_log_replicas: item 2 of 2 \"::1:8083\": an IPv6 address must be written in brackets, e.g. [::1]:8083")]
    [InlineData("a:1,b:1,A:1", "-native_log_replicas: item 3 of 3 \"A:1\" is the same replica as item 1 \"a:1\" (a:1); list each replica once")]
    [InlineData("[::1]:1,[0:0::1]:1", "-native_log_replicas: item 2 of 2 \"[0:0::1]:1\" is the same replica as item 1 \"[::1]:1\" ([::1]:1); list each replica once")]
    [InlineData("a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9,j:10", "-native_log_replicas lists 10 replicas; at most 9 are supported (5 already survive 2 failures)")]
    public void Bad_lists_name_the_flag_the_item_and_its_position(string text, string problem)
    {
        Assert.False(StaticMembership.TryParseReplicas(text, out var replicas, out var problems));
        Assert.Empty(replicas);
        Assert.Equal(problem, Assert.Single(problems));
    }

    [Fact]
    public void Nine_replicas_are_allowed() =>
        Assert.True(StaticMembership.TryParseReplicas("a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9", out var replicas, out _) && replicas.Count == 9);

    [Fact]
    public void Every_bad_item_is_reported_at_once()
    {
        Assert.False(StaticMembership.TryParseReplicas("a:0,,a:1,a:1", out _, out var problems));
        Assert.Equal(
            [
                "-native_log_replicas: item 1 of 4 \"a:0\": port 0 is not a number from 1 to 65535",
                "-native_log_replicas: item 2 of 4 is empty (a stray comma?); list each replica as host:port, separated by single commas",
                "-native_log_replicas: item 4 of 4 \"a:1\" is the same replica as item 3 \"a:1\" (a:1); list each replica once",
            ],
            problems);
    }

    [Theory]
    [InlineData("a:8083,b:8084,c:8085", 8084, null, "b:8084")]
    [InlineData("a:8083,b:8083,c:8083", 8083, "b", "b:8083")]
    [InlineData("a:8083,b:8083,c:8083", 8083, "B", "b:8083")]
    [InlineData("a:8083,b:8083,c:8083", 8083, "  ", null)]
    [InlineData("[::1]:8083,[::1]:8084", 8084, "::1", "[::1]:8084")]
    [InlineData("[::1]:8083,127.0.0.1:8083", 8083, "[0::1]", "[::1]:8083")]
    [InlineData("a:8083,b:8084", 8084, "b", "b:8084")]
    public void This_replica_is_the_one_entry_its_port_and_hostname_match(string list, int port, string? hostname, string? self)
    {
        Assert.True(StaticMembership.TryParseReplicas(list, out var replicas, out _));
        var found = StaticMembership.TryFindSelf(replicas, port, hostname, out var address, out var problem);
        if (self is null)
        {
            Assert.False(found);
            Assert.Equal("-replication_port=8083 matches 3 replicas in -native_log_replicas (a:8083, b:8083, c:8083): give -hostname to say which of them this replica is", problem);
        }
        else
        {
            Assert.True(found, problem);
            Assert.Equal(self, address!.Id);
        }
    }

    [Theory]
    [InlineData("a:8083,b:8083,c:8084", 8083, null, "-replication_port=8083 matches 2 replicas in -native_log_replicas (a:8083, b:8083): give -hostname to say which of them this replica is")]
    [InlineData("a:8083,b:8083", 9000, null, "-replication_port=9000 matches no replica in -native_log_replicas=a:8083,b:8083: this replica must be listed with port 9000")]
    [InlineData("a:8083,b:8083", 8083, "c", "-hostname=c -replication_port=8083 match no replica in -native_log_replicas=a:8083,b:8083: this replica must be listed as c:8083 (hosts are matched literally, without DNS: localhost, 127.0.0.1 and [::1] are different hosts)")]
    [InlineData("a:8083,b:8084", 8083, "b", "-hostname=b -replication_port=8083 match no replica in -native_log_replicas=a:8083,b:8084: this replica must be listed as b:8083 (hosts are matched literally, without DNS: localhost, 127.0.0.1 and [::1] are different hosts)")]
    [InlineData("127.0.0.1:8083,127.0.0.1:8084", 8083, "localhost", "-hostname=localhost -replication_port=8083 match no replica in -native_log_replicas=127.0.0.1:8083,127.0.0.1:8084: this replica must be listed as localhost:8083 (hosts are matched literally, without DNS: localhost, 127.0.0.1 and [::1] are different hosts)")]
    [InlineData("localhost:8083", 8083, "::1", "-hostname=::1 -replication_port=8083 match no replica in -native_log_replicas=localhost:8083: this replica must be listed as [::1]:8083 (hosts are matched literally, without DNS: localhost, 127.0.0.1 and [::1] are different hosts)")]
    [InlineData("a:8083", 8083, "a_b", "-hostname=a_b: host a_b is neither a DNS name nor an IP address: its label 'a_b' may hold only letters, digits and '-', and may not start or end with '-'")]
    public void Not_finding_this_replica_exactly_once_is_refused_with_the_cure(string list, int port, string? hostname, string message)
    {
        Assert.True(StaticMembership.TryParseReplicas(list, out var replicas, out _));
        Assert.False(StaticMembership.TryFindSelf(replicas, port, hostname, out var self, out var problem));
        Assert.Null(self);
        Assert.Equal(message, problem);
    }

    [Fact]
    public void A_static_membership_is_one_view_that_never_changes()
    {
        Assert.True(StaticMembership.TryParseReplicas("a:1,b:1,c:1", out var replicas, out _));
        var membership = new StaticMembership(replicas, replicas[1], 2);
        var raised = 0;
        membership.Changed += (_, _) => raised++;

        Assert.Equal("b:1", membership.SelfId);
        Assert.Same(membership.Current, membership.Current);
        Assert.Equal(1, membership.Current.Version);
        Assert.Equal("b:1", membership.Current.SelfId);
        Assert.Equal(["a:1", "b:1", "c:1"], membership.Current.VoterIds);
        Assert.Equal(2, membership.Current.QuorumSize);
        Assert.Equal("version 1: 2 of a:1, b:1, c:1 (self b:1)", membership.ToString());
        Assert.Equal(0, raised);
    }

    [Fact]
    public void A_membership_refuses_a_quorum_the_rule_refuses_and_a_self_outside_the_list()
    {
        Assert.True(StaticMembership.TryParseReplicas("a:1,b:1,c:1", out var replicas, out _));
        Assert.Equal(
            "-native_log_quorum_size=1 is not a majority of the 3 replicas in -native_log_replicas: it must be at least floor(3/2)+1 = 2 (and at most 3) (Parameter 'quorumSize')",
            Assert.Throws<ArgumentException>(() => new StaticMembership(replicas, replicas[0], 1)).Message);
        Assert.Throws<ArgumentException>(() => new StaticMembership(replicas, ReplicaAddress.Parse("d:1"), 2));
        Assert.Throws<ArgumentException>(() => new StaticMembership([], ReplicaAddress.Parse("d:1"), 1));
    }

    [Fact]
    public void A_quorum_counts_distinct_voters_only()
    {
        var view = new MembershipView(1, "a:1", ["a:1", "b:1", "c:1", "d:1", "e:1"], 3);
        Assert.False(view.IsQuorum(["a:1", "b:1"]));
        Assert.False(view.IsQuorum(["a:1", "b:1", "b:1", "x:1"]));
        Assert.True(view.IsQuorum(["a:1", "c:1", "e:1"]));
        Assert.True(view.IsVoter("d:1"));
        Assert.False(view.IsVoter("x:1"));
        Assert.Throws<ArgumentException>(() => new MembershipView(1, "a:1", ["a:1", "a:1", "b:1"], 2));
    }
}
