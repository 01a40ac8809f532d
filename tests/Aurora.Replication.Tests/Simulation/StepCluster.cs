using Aurora.Replication.Consensus;
using Aurora.Replication.Protos;
using Aurora.Storage.Protos;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Replication.Tests.Simulation;

/// <summary>Replicas on a perfect network: every message is delivered on the next step, in order; time advances 5 ms a step.</summary>
internal sealed class StepCluster(int seed, string[] members)
{
    private readonly Queue<(string From, string To, PeerMessage Message)> _inFlight = new();
    private TimeSpan _now;

    public List<StepNode> Nodes { get; } = [];

    public List<(string From, string To, PeerMessage Message, TimeSpan At)> Sent { get; } = [];

    public TimeSpan Now => _now;

    public StepNode Start(string id, IReplicaStorage storage, int quorum = 2)
    {
        var node = new StepNode(id, storage, this);
        node.Core = new ConsensusCore(
            new ConsensusOptions { SelfId = id, Members = members, Quorum = quorum },
            storage,
            node,
            appliedPosition: 0,
            seed: (seed * 31) + Nodes.Count,
            NullLogger.Instance,
            _now,
            () => 1_700_000_000_000_000 + (long)_now.TotalMicroseconds);
        Nodes.Add(node);
        return node;
    }

    public void Send(string from, string to, PeerMessage message)
    {
        Sent.Add((from, to, message, _now));
        _inFlight.Enqueue((from, to, message));
    }

    /// <summary>What the test does at the start of each 5 ms step (a disk writing what is queued).</summary>
    public Action? BeforeEachStep { get; set; }

    /// <summary>Steps until <paramref name="until"/> returns a node; fails after 60 simulated seconds.</summary>
    public StepNode RunUntil(string what, Func<StepNode?> until)
    {
        var deadline = _now + TimeSpan.FromSeconds(60);
        StepNode? done;
        while ((done = until()) is null)
        {
            Assert.True(_now < deadline, $"seed {seed}: no {what} after 60 simulated seconds; statuses: "
                + string.Join(", ", Nodes.Select(n => $"{n.Id} {n.Core.Status} {n.Core.Role} term {n.Core.Term} last {n.Storage.LastPosition}")));
            _now += TimeSpan.FromMilliseconds(5);
            BeforeEachStep?.Invoke();
            foreach (var node in Nodes)
            {
                node.RunWriteContinuations();
            }

            for (var count = _inFlight.Count; count > 0; count--)
            {
                var (from, to, message) = _inFlight.Dequeue();
                Nodes.FirstOrDefault(n => n.Id == to)?.Core.Receive(from, message, _now);
            }

            foreach (var node in Nodes)
            {
                node.Core.Tick(_now);
            }
        }

        return done;
    }
}

internal sealed class StepNode(string id, IReplicaStorage storage, StepCluster cluster) : IConsensusHost
{
    public string Id { get; } = id;

    public IReplicaStorage Storage { get; } = storage;

    public ConsensusCore Core { get; set; } = null!;

    public List<LogEntry> Delivered { get; } = [];

    public List<ProposalOutcome> Resolved { get; } = [];

    private readonly List<(Task Write, Action Continuation)> _writeContinuations = [];

    public void Send(string to, PeerMessage message) => cluster.Send(Id, to, message);

    /// <summary>The core hears of a completed append on the next step after it completes.</summary>
    public void WhenWritten(Task write, Action continuation) => _writeContinuations.Add((write, continuation));

    public void RunWriteContinuations()
    {
        var completed = _writeContinuations.Where(w => w.Write.IsCompleted).ToList();
        _writeContinuations.RemoveAll(w => w.Write.IsCompleted);
        completed.ForEach(w => w.Continuation());
    }

    public void Deliver(LogEntry entry) => Delivered.Add(entry);

    public void SnapshotInstalled(ReplicaSnapshot snapshot, byte[] blob)
    {
    }

    public void ProposalResolved(long proposalId, ProposalOutcome outcome) => Resolved.Add(outcome);

    public void ReadResolved(long readId, ReadOutcome outcome)
    {
    }

    public void LeadershipChanged(LeadershipChange change)
    {
    }
}
