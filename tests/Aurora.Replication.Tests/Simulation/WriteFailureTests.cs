using Aurora.Replication.Consensus;
using Aurora.Storage.Protos;

namespace Aurora.Replication.Tests.Simulation;

/// <summary>
/// A follower whose disk cannot take the entries (full) refuses them with <c>write_failed</c>; the
/// leader commits with the others, offers the entries again only with its heartbeats, not on every
/// refusal, and the follower catches up once it has space.
/// </summary>
public class WriteFailureTests
{
    private static readonly string[] Members = ["a:1", "b:1", "c:1"];

    [Fact]
    public void A_follower_with_a_full_disk_is_offered_the_entries_once_a_heartbeat_and_catches_up_when_space_returns()
    {
        var cluster = new StepCluster(seed: 4, Members);
        var a = cluster.Start("a:1", new MemoryReplicaStorage(ReplicaStatus.Voting));
        var b = cluster.Start("b:1", new MemoryReplicaStorage(ReplicaStatus.Voting));
        var leader = cluster.RunUntil("a leader serves", () => new[] { a, b }.FirstOrDefault(n => n.Core.IsServing));
        var disk = new FullDisk(new MemoryReplicaStorage(ReplicaStatus.Voting));
        var c = cluster.Start("c:1", disk);
        cluster.RunUntil("c follows", () => c.Core.LeaderId == leader.Id && c.Core.CommitPosition == leader.Core.CommitPosition ? c : null);

        disk.Full = true;
        for (var i = 0; i < 10; i++)
        {
            leader.Core.Propose(i, [new LogEntry { Principal = "test", Payload = MemoryReplicaStorage.Payload($"v{i}") }]);
        }

        cluster.RunUntil("10 proposals committed without c", () => leader.Resolved.Count == 10 ? leader : null);
        Assert.All(leader.Resolved, r => Assert.True(r.Committed, r.Failure));
        var full = cluster.Now;
        var until = full + TimeSpan.FromSeconds(1);
        cluster.RunUntil("a second with c's disk full", () => cluster.Now >= until ? c : null);

        var refusals = cluster.Sent.Count(s => s.From == c.Id && s.Message.AppendResponse is { WriteFailed: true });
        var offers = cluster.Sent.Where(s => s.From == leader.Id && s.To == c.Id && s.At >= full && s.Message.AppendRequest is { Entries.Count: > 0 }).ToList();
        Assert.True(refusals > 0, "c refused entries it could not write, saying so");
        Assert.True(disk.FailedAppends > 0);

        // The proposals' own sends, then one offer per 50 ms heartbeat: about 30 in this second.
        // Resending on every refusal, the leader made about 2,000 (ten appends in flight, each
        // refused and resent every 10 ms round trip).
        Assert.InRange(offers.Count, 10, 40);
        Assert.All(offers.Skip(1).Zip(offers.Skip(2)).Where(p => p.First.At > full), p => Assert.True(p.Second.At - p.First.At >= TimeSpan.FromMilliseconds(45), $"offers at {p.First.At} and {p.Second.At}"));
        Assert.Equal(leader.Core.LastPosition, a.Core.LastPosition);

        disk.Full = false;
        cluster.RunUntil("c catches up", () => c.Storage.LastPosition == leader.Core.LastPosition && c.Core.AppliedPosition == leader.Core.CommitPosition ? c : null);
        Assert.Equal(
            Enumerable.Range(0, 10).Select(i => $"v{i}"),
            c.Delivered.Select(MemoryReplicaStorage.ValueOf).Where(v => v.Length > 0));
    }

    /// <summary>A disk that refuses appends with ENOSPC while <see cref="Full"/>.</summary>
    private sealed class FullDisk(MemoryReplicaStorage inner) : DelegatingStorage(inner)
    {
        public bool Full { get; set; }

        public int FailedAppends { get; private set; }

        public override void Append(IReadOnlyList<LogEntry> entries)
        {
            if (Full)
            {
                FailedAppends++;
                throw new IOException("No space left on device") { HResult = 28 };
            }

            Inner.Append(entries);
        }
    }
}
