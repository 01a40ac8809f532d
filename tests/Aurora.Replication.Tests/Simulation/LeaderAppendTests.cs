using Aurora.Replication.Consensus;
using Aurora.Replication.Protos;
using Aurora.Storage.Protos;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Replication.Tests.Simulation;

/// <summary>
/// The leader's own appends run while its loop goes on: it counts its entries toward a quorum only
/// once they are durable, delivers nothing it does not hold durably, and waits for them before it
/// writes its log as a follower. Followers write the same way: a stalled follower disk costs the
/// leader no lease, and entries are acknowledged only once durable. Followers take appends that
/// continue one another as one.
/// </summary>
public class LeaderAppendTests
{
    private static readonly string[] Members = ["a:1", "b:1", "c:1"];

    private static LogEntry Value(string value) => new() { Principal = "test", Payload = MemoryReplicaStorage.Payload(value) };

    private static (StepCluster Cluster, StepNode Leader, DeferredAppends LeaderDisk, Func<int> Flushes) ClusterWithLeader(int seed)
    {
        var cluster = new StepCluster(seed, Members);
        var flushes = 0;
        var disks = new Dictionary<string, DeferredAppends>();
        foreach (var id in Members)
        {
            disks[id] = new DeferredAppends(new MemoryReplicaStorage(ReplicaStatus.Voting), () => flushes++);
            cluster.Start(id, disks[id]);
        }

        // The followers' disks write at each step; the leader's, when the test says.
        cluster.BeforeEachStep = () =>
        {
            foreach (var node in cluster.Nodes.Where(n => n.Core.Role != ConsensusRole.Leader))
            {
                disks[node.Id].CompleteAll();
            }
        };
        var leader = cluster.RunUntil("a leader serves", () => cluster.Nodes.FirstOrDefault(n => n.Core.IsServing));
        return (cluster, leader, disks[leader.Id], () => flushes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_quorum_of_followers_commits_before_the_leaders_own_append_is_durable_and_the_leader_delivers_only_once_it_is(int seed)
    {
        var (cluster, leader, disk, _) = ClusterWithLeader(seed);

        // Elected and serving on the followers' acknowledgements: its term's first entry is still
        // queued on its own disk, so it has delivered nothing.
        Assert.True(disk.Queued > 0);
        Assert.True(leader.Core.CommitPosition > disk.LastPosition);
        Assert.Empty(leader.Delivered);

        leader.Core.Propose(1, [Value("v1")]);
        cluster.RunUntil("v1 committed", () => leader.Resolved.Count == 1 ? leader : null);
        var outcome = Assert.Single(leader.Resolved);
        Assert.True(outcome.Committed, outcome.Failure);
        Assert.True(outcome.LastPosition > disk.LastPosition, "committed by the followers while the leader's append was queued");
        cluster.RunUntil("the followers deliver v1", () => cluster.Nodes.Where(n => n != leader).All(n => n.Delivered.Any(e => MemoryReplicaStorage.ValueOf(e) == "v1")) ? leader : null);
        Assert.Empty(leader.Delivered);
        Assert.Equal(outcome.LastPosition, leader.Core.CommitPosition);

        disk.CompleteAll();
        cluster.RunUntil("the leader delivers v1", () => leader.Delivered.Count > 0 && MemoryReplicaStorage.ValueOf(leader.Delivered[^1]) == "v1" ? leader : null);
        Assert.Equal(outcome.LastPosition, leader.Core.AppliedPosition);
    }

    [Fact]
    public void A_leader_alone_commits_only_what_its_own_disk_holds()
    {
        var cluster = new StepCluster(seed: 5, ["a:1"]);
        var disk = new DeferredAppends(new MemoryReplicaStorage(ReplicaStatus.Voting), () => { });
        var a = cluster.Start("a:1", disk, quorum: 1);
        cluster.RunUntil("a leads", () => a.Core.Role == ConsensusRole.Leader ? a : null);

        // Alone, it is its own quorum: it serves at once, with no term-start entry to write first.
        Assert.True(a.Core.IsServing);
        Assert.Equal(0UL, a.Core.LastPosition);
        a.Core.Propose(1, [Value("v1")]);
        a.Core.Propose(2, [Value("v2")]);
        var until = cluster.Now + TimeSpan.FromMilliseconds(100);
        cluster.RunUntil("100 ms with v1 and v2 queued", () => cluster.Now >= until ? a : null);
        Assert.Empty(a.Resolved);

        disk.CompleteAll();
        cluster.RunUntil("v1 and v2 committed", () => a.Resolved.Count == 2 ? a : null);
        Assert.All(a.Resolved, r => Assert.True(r.Committed));
        Assert.Equal(["v1", "v2"], a.Delivered.Select(MemoryReplicaStorage.ValueOf));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void A_leader_that_steps_down_with_its_append_in_flight_waits_for_it_before_following(int seed)
    {
        var (cluster, leader, disk, flushes) = ClusterWithLeader(seed);
        disk.CompleteAll();
        leader.Core.Propose(1, [Value("v1")]);
        Assert.True(disk.Queued > 0);
        var follower = cluster.Nodes.First(n => n != leader);

        // A higher term, as a follower that was elected elsewhere would answer.
        leader.Core.Receive(follower.Id, new PeerMessage { AppendResponse = new AppendResponse { Term = leader.Core.Term + 1, Status = ReplicaStatus.Voting } }, cluster.Now);

        Assert.Equal(ConsensusRole.Follower, leader.Core.Role);
        Assert.Equal(1, flushes());
        Assert.Equal(0, disk.Queued);
        var failed = Assert.Single(leader.Resolved);
        Assert.False(failed.Committed);
        Assert.True(failed.MayHaveCommitted, "v1 was sent to the followers: a later leader may commit it");

        // The cluster goes on: a leader serves again, and every replica ends with the same log
        // (which the queued-append storage would have refused to write had the flush not happened).
        var next = cluster.RunUntil("a leader serves again", () => cluster.Nodes.FirstOrDefault(n => n.Core.IsServing && n.Core.Term > failed.Term));
        next.Core.Propose(2, [Value("v2")]);
        cluster.RunUntil("every replica delivers v2", () =>
        {
            foreach (var d in cluster.Nodes.Select(n => n.Storage).OfType<DeferredAppends>())
            {
                d.CompleteAll();
            }

            return cluster.Nodes.All(n => n.Delivered.Any(e => MemoryReplicaStorage.ValueOf(e) == "v2")) ? next : null;
        });
        var logs = cluster.Nodes.Select(n => string.Join(",", n.Delivered.Select(e => $"{e.Position}:{e.Term}:{MemoryReplicaStorage.ValueOf(e)}"))).Distinct().ToList();
        Assert.Single(logs);
    }

    [Theory]
    [InlineData(6)]
    [InlineData(7)]
    public void Followers_whose_disks_stall_keep_the_leaders_lease_and_acknowledge_entries_only_once_durable(int seed)
    {
        var (cluster, leader, disk, _) = ClusterWithLeader(seed);
        var followerDisks = cluster.Nodes.Where(n => n != leader).Select(n => (DeferredAppends)n.Storage).ToList();
        disk.CompleteAll();

        // Every disk but the leader's stands still (a slow fdatasync) for a second: four leases.
        cluster.BeforeEachStep = disk.CompleteAll;
        var stalledFrom = cluster.Now;
        leader.Core.Propose(1, [Value("v1")]);
        var until = stalledFrom + TimeSpan.FromSeconds(1);
        cluster.RunUntil("a second of stalled follower disks", () => cluster.Now >= until ? leader : null);

        // The leader still leads and serves in the same term: the followers answered its heartbeats.
        Assert.Equal(ConsensusRole.Leader, leader.Core.Role);
        Assert.True(leader.Core.IsServing, "the leader kept its lease");
        Assert.Empty(leader.Resolved);
        var v1 = leader.Core.LastPosition;
        Assert.All(followerDisks, d => Assert.True(d.Queued > 0 && d.LastPosition < v1));

        // What the followers said meanwhile matched only what their disks held.
        var answers = cluster.Sent.Where(s => s.At >= stalledFrom && s.To == leader.Id && s.Message.AppendResponse is { Success: true }).ToList();
        Assert.NotEmpty(answers);
        Assert.All(answers, a => Assert.True(a.Message.AppendResponse.MatchPosition < v1, $"{a.From} acknowledged {a.Message.AppendResponse.MatchPosition} before writing it"));

        // The disks write: v1 commits in the same term.
        followerDisks.ForEach(d => d.CompleteAll());
        cluster.RunUntil("v1 committed", () => leader.Resolved.Count == 1 ? leader : null);
        var outcome = Assert.Single(leader.Resolved);
        Assert.True(outcome.Committed, outcome.Failure);
        Assert.Equal(leader.Core.Term, outcome.Term);
    }

    [Fact]
    public void A_follower_takes_appends_that_continue_one_another_as_one_write_and_one_response()
    {
        var sent = new List<(string To, PeerMessage Message)>();
        var disk = new CountingDisk(new MemoryReplicaStorage(ReplicaStatus.Voting));
        var host = new RecordingHost(sent);
        var core = new ConsensusCore(new ConsensusOptions { SelfId = "b:1", Members = Members, Quorum = 2 }, disk, host, 0, 1, NullLogger.Instance, TimeSpan.Zero, () => 0);
        AppendRequest Append(ulong prev, ulong prevTerm, ulong round, params string[] values)
        {
            var request = new AppendRequest { Term = 1, PrevPosition = prev, PrevTerm = prevTerm, LeaderCommit = prev, Round = round };
            request.Entries.AddRange(values.Select((v, i) => new LogEntry { Position = prev + 1 + (ulong)i, Term = 1, Principal = "test", Payload = MemoryReplicaStorage.Payload(v) }));
            return request;
        }

        var now = TimeSpan.FromMilliseconds(1);
        core.ReceiveAll(
        [
            ("a:1", new PeerMessage { AppendRequest = Append(0, 0, 1, "v1", "v2") }),
            ("c:1", new PeerMessage { StatusProbe = new StatusProbe { Term = 1, Status = ReplicaStatus.Voting } }),
            ("a:1", new PeerMessage { AppendRequest = Append(2, 1, 2, "v3") }),
            ("a:1", new PeerMessage { AppendRequest = Append(3, 1, 3) }),
            ("a:1", new PeerMessage { AppendRequest = Append(3, 1, 4, "v4") }),
        ], now);

        Assert.Equal(4UL, disk.LastPosition);
        Assert.Equal(1, disk.Appends);
        var response = Assert.Single(sent, s => s.To == "a:1").Message.AppendResponse;
        Assert.True(response.Success);
        Assert.Equal(4UL, response.MatchPosition);
        Assert.Equal(4UL, response.Round);
        Assert.Single(sent, s => s.To == "c:1" && s.Message.StatusReply is not null);

        // A duplicate does not continue the run: it is taken on its own, after it.
        sent.Clear();
        core.ReceiveAll(
        [
            ("a:1", new PeerMessage { AppendRequest = Append(4, 1, 5, "v5") }),
            ("a:1", new PeerMessage { AppendRequest = Append(4, 1, 5, "v5") }),
            ("a:1", new PeerMessage { AppendRequest = Append(5, 1, 6, "v6") }),
        ], now);
        Assert.Equal(6UL, disk.LastPosition);
        Assert.Equal(3, disk.Appends);
        Assert.Equal([5UL, 6UL], sent.Select(s => s.Message.AppendResponse.MatchPosition));
    }

    private sealed class CountingDisk(MemoryReplicaStorage inner) : DelegatingStorage(inner)
    {
        public int Appends { get; private set; }

        public override void Append(IReadOnlyList<LogEntry> entries)
        {
            Appends++;
            Inner.Append(entries);
        }
    }

    private sealed class RecordingHost(List<(string To, PeerMessage Message)> sent) : IConsensusHost
    {
        public void Send(string to, PeerMessage message) => sent.Add((to, message));

        public void Deliver(LogEntry entry)
        {
        }

        public void SnapshotInstalled(ReplicaSnapshot snapshot, byte[] blob)
        {
        }

        public void ProposalResolved(long proposalId, ProposalOutcome outcome)
        {
        }

        public void ReadResolved(long readId, ReadOutcome outcome)
        {
        }

        /// <summary>The appends here are synchronous: the core hears of each at once.</summary>
        public void WhenWritten(Task write, Action continuation)
        {
            Assert.True(write.IsCompleted);
            continuation();
        }

        public void LeadershipChanged(LeadershipChange change)
        {
        }
    }
}
