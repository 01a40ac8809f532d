using Aurora.Replication.Consensus;
using Aurora.Replication.Protos;
using Aurora.Storage.Protos;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Replication.Tests.Simulation;

/// <summary>
/// A replica that starts RECOVERING, as <c>aurora-log repair</c> leaves it: an empty log, the old
/// promised term with the vote "?". The consensus core must let it catch up and turn VOTING, and
/// never let it vote in a term it may have voted in already.
/// </summary>
public class RecoveringStartTests
{
    private static readonly string[] Members = ["a:1", "b:1", "c:1"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void A_replica_repaired_to_RECOVERING_catches_up_turns_VOTING_and_never_votes_twice_in_its_promised_term(int seed)
    {
        var cluster = new StepCluster(seed, Members);
        var a = cluster.Start("a:1", new MemoryReplicaStorage(ReplicaStatus.Voting));
        var b = cluster.Start("b:1", new MemoryReplicaStorage(ReplicaStatus.Voting));
        var leader = cluster.RunUntil("a leader serves", () => new[] { a, b }.FirstOrDefault(n => n.Core.IsServing));
        for (var i = 0; i < 20; i++)
        {
            leader.Core.Propose(i, [new LogEntry { Principal = "test", Payload = MemoryReplicaStorage.Payload($"v{i}") }]);
        }

        cluster.RunUntil("20 proposals committed", () => leader.Resolved.Count == 20 ? leader : null);
        Assert.All(leader.Resolved, r => Assert.True(r.Committed, r.Failure));
        var promised = Math.Max(a.Core.Term, b.Core.Term);

        // c's disk was damaged and repaired: what aurora-log repair writes.
        var repairedDisk = new MemoryReplicaStorage(ReplicaStatus.Recovering);
        repairedDisk.SaveMetadata(new ReplicaMetadata { Status = ReplicaStatus.Recovering, PromisedTerm = promised, VotedFor = "?", ClusterId = "devcluster", LogId = "new" });
        var c = cluster.Start("c:1", repairedDisk);
        Assert.Equal(ReplicaStatus.Recovering, c.Core.Status);

        cluster.RunUntil("c VOTING", () => c.Core.Status == ReplicaStatus.Voting ? c : null);

        var committed = cluster.Nodes.Max(n => n.Core.CommitPosition);
        Assert.True(c.Storage.LastPosition >= committed, $"c holds {c.Storage.LastPosition}, committed {committed}");
        var values = c.Delivered.Select(MemoryReplicaStorage.ValueOf).Where(v => v.Length > 0).ToList();
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"v{i}"), values);
        Assert.True(c.Core.Term >= promised);
        Assert.DoesNotContain(cluster.Sent, s => s.From == "c:1" && s.Message.VoteResponse is { Granted: true, PreVote: false } vote && vote.Term <= promised);
        Assert.True(c.Storage.Metadata.VotedFor.Length > 0, "a replica that may have voted in its promised term keeps a vote in it");

        // And the cluster still works with c in it.
        var now = cluster.RunUntil("a leader serves", () => cluster.Nodes.FirstOrDefault(n => n.Core.IsServing));
        now.Core.Propose(100, [new LogEntry { Principal = "test", Payload = MemoryReplicaStorage.Payload("after") }]);
        cluster.RunUntil("c applies the next entry", () => c.Delivered.Any(e => MemoryReplicaStorage.ValueOf(e) == "after") ? c : null);
    }
}
