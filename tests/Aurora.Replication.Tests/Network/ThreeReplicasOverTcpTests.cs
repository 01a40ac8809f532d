using System.Collections.Concurrent;
using System.Net;
using Aurora.Replication.Consensus;
using Aurora.Replication.Storage;
using Aurora.Replication.Transport;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Replication.Tests.Network;

/// <summary>
/// Three replicas in one process, each with its own log directory, over loopback TCP with the real
/// transport and handshake: they commit, fail over when the leader goes, and a replica that was
/// away while the leader truncated its log catches up by installing the leader's snapshot.
/// </summary>
[Collection(RealTimeCollection.Name)]
public sealed class ThreeReplicasOverTcpTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly string Padding = new('x', 1000);
    private static readonly byte[] Secret = "a secret of at least sixteen bytes"u8.ToArray();
    private static readonly CapturedLogs Logs = new();
    private readonly TempDirectory _root = new();
    private readonly Replica[] _replicas = new Replica[3];
    private string[] _ids = [];

    public async Task InitializeAsync()
    {
        var nodes = Enumerable.Range(0, 3).Select(_ => NewNode(port: 0)).ToArray();
        _ids = [.. nodes.Select(n => $"127.0.0.1:{n.Port}")];
        for (var i = 0; i < 3; i++)
        {
            var directory = _root.Sub($"r{i}");
            new ReplicaMetadataStore(PhysicalFileSystem.Instance, directory).Save(ReplicaMetadataStore.NewVoting(DateTimeOffset.UtcNow));
            _replicas[i] = Replica.Start(nodes[i], _ids[i], _ids, directory);
        }

        await Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas.Where(r => r is not null))
        {
            await replica.DisposeAsync();
        }

        _root.Dispose();
    }

    [Fact]
    public async Task Three_replicas_commit_fail_over_and_catch_up_through_a_snapshot()
    {
        // Commit: many concurrent proposals, each answered with its positions, delivered everywhere.
        var leader = await LeaderAsync();
        var first = await ProposeManyAsync(leader, "a", 200);
        await ConvergedAsync(first.Max());

        // Fail over: the leader goes; the others elect one of themselves and keep committing.
        var deposed = Array.IndexOf(_replicas, leader);
        await leader.DisposeAsync();
        var successor = await LeaderAsync(except: deposed);
        Assert.NotEqual(deposed, Array.IndexOf(_replicas, successor));
        Assert.True(successor.Log.CurrentLeadership.Term > leader.TermWhenLeading, "the new leader's term is higher");
        // In waves, so that the log rolls over several segments (a batch is written to one).
        var second = new List<ulong>();
        for (var wave = 0; wave < 6; wave++)
        {
            second.AddRange(await ProposeManyAsync(successor, $"b{wave}-", 50));
        }

        // The live replicas snapshot what they applied and drop the log before it (whichever
        // leads then has), so the replica that was away can only catch up through a snapshot.
        var live = _replicas.Where(r => !r.Disposed).ToList();
        var snapshotAt = ulong.MaxValue;
        foreach (var replica in live)
        {
            snapshotAt = Math.Min(snapshotAt, await replica.SnapshotAndTruncateAsync());
            Assert.True(replica.Storage.FirstPosition > first.Max(), "the log was truncated past what the old leader's replica holds");
        }

        // The old leader restarts on its disk and port, and catches up.
        var restartedFrom = $"{leader.Storage.FirstPosition}..{leader.Storage.LastPosition}";
        _replicas[deposed] = Replica.Start(NewNode(int.Parse(_ids[deposed].Split(':')[1])), _ids[deposed], _ids, _root.Sub($"r{deposed}"));
        var third = await ProposeManyAsync(successor, "c", 50);
        await ConvergedAsync(third.Max());
        var restarted = _replicas[deposed];
        Assert.True(
            restarted.Installed.Any(s => s.Position >= snapshotAt),
            $"the restarted replica installed no snapshot at or after {snapshotAt}; it restarted with its log at {restartedFrom}, the leader's log starts at {successor.Storage.FirstPosition}; "
            + $"the restarted replica's log is {restarted.Storage.FirstPosition}..{restarted.Storage.LastPosition}, applied {restarted.AppliedPosition}, snapshots {restarted.Storage.LatestSnapshot}\n"
            + string.Join("\n", Logs.Entries.Select(e => $"{e.Level} {e.Message}")));

        // Every replica ends with the same values at the same positions.
        var expected = _replicas[(deposed + 1) % 3].Values(third.Max());
        foreach (var replica in _replicas)
        {
            Assert.Equal(expected, replica.Values(third.Max()));
        }

        var committedValues = expected.Where(v => v.Length > 0).Select(v => v.Split(':')[0]).ToHashSet();
        Assert.Equal(550, committedValues.Count);
        Assert.True(second.Min() > first.Max());
    }

    private static ReplicaNode NewNode(int port) => new(
        new ReplicaTransportOptions
        {
            ClusterId = "tcp-test",
            Secret = Secret,
            ListenAddress = IPAddress.Loopback,
            Port = port,

            // Small, so that what the leader sends a replica that is down does not all wait in
            // the queue for it to come back: it must then catch up from the leader's log.
            MaxQueuedBytesPerPeer = 256 * 1024,
        },
        Logs.Factory);

    private async Task<Replica> LeaderAsync(int except = -1, bool alive = true)
    {
        Replica? leader = null;
        await Eventually.HoldsAsync(
            "one replica to serve as leader",
            () => (leader = _replicas.Where((r, i) => i != except && (!alive || !r.Disposed) && r.Log.Status.Serving).FirstOrDefault()) is not null,
            Patience,
            () => string.Join("; ", _replicas.Select(r => $"{r.Id} {r.Log.Status.Role} term {r.Log.Status.Term}")));
        leader!.TermWhenLeading = leader.Log.Status.Term;
        return leader;
    }

    /// <summary>
    /// Proposes values concurrently until each is committed, retrying on whichever replica leads:
    /// on a loaded machine leadership may change during the test, and a proposal that failed may
    /// still have committed (then its value appears twice, which the checks allow).
    /// </summary>
    private async Task<ulong[]> ProposeManyAsync(Replica leader, string prefix, int count)
    {
        var positions = new ulong[count];
        var pending = Enumerable.Range(0, count).ToList();
        var deadline = DateTime.UtcNow + Patience;
        while (pending.Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{pending.Count} of {count} proposals never committed");
            var outcomes = await Task.WhenAll(pending.Select(i => leader.Log.ProposeAsync(
                [new LogEntry { Principal = "test", Payload = Value($"{prefix}{i}:{Padding}") }])));
            var failed = new List<int>();
            for (var k = 0; k < pending.Count; k++)
            {
                if (outcomes[k].Committed)
                {
                    positions[pending[k]] = outcomes[k].LastPosition;
                }
                else
                {
                    failed.Add(pending[k]);
                }
            }

            pending = failed;
            if (pending.Count > 0)
            {
                leader = await LeaderAsync(except: -1, alive: true);
            }
        }

        return positions;
    }

    private async Task ConvergedAsync(ulong position) => await Eventually.HoldsAsync(
        $"every replica to apply position {position}",
        () => _replicas.All(r => r.AppliedPosition >= position),
        Patience,
        () => string.Join("\n", _replicas.Select(r => $"{r.Id} applied {r.AppliedPosition} {r.Log.Status}")) + "\n"
            + string.Join("\n", Logs.Entries.TakeLast(80).Select(e => $"{e.Level} {e.Message}")));

    private static Google.Protobuf.WellKnownTypes.Any Value(string value) =>
        new() { TypeUrl = "type.aurora/test.Value", Value = ByteString.CopyFromUtf8(value) };

    /// <summary>A replica and its state machine: the values at each applied position.</summary>
    private sealed class Replica : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<ulong, string> _values = new();
        private Task _applier = Task.CompletedTask;
        private ulong _applied;

        private Replica(ReplicaNode node, string id, LogReplicaStorage storage)
        {
            Node = node;
            Id = id;
            Storage = storage;
        }

        public ReplicaNode Node { get; }

        public string Id { get; }

        public LogReplicaStorage Storage { get; }

        public ReplicatedLog Log => Node.Log;

        public ulong AppliedPosition => Interlocked.Read(ref _applied);

        public ulong TermWhenLeading { get; set; }

        public ConcurrentBag<ReplicaSnapshot> Installed { get; } = [];

        public static Replica Start(ReplicaNode node, string id, string[] ids, string directory)
        {
            var log = SegmentedLog.Open(new LogOptions { Directory = directory, SegmentSize = 64 * 1024, MaxEntrySize = 4096 });
            var storage = new LogReplicaStorage(log, new SnapshotStore(new SnapshotOptions { Directory = directory }), new ReplicaMetadataStore(PhysicalFileSystem.Instance, directory));
            var snapshot = storage.LatestSnapshot;
            node.Start(new ConsensusOptions
            {
                SelfId = id,
                Members = ids,
                Quorum = 2,
                MaxAppendBytes = 8 * 1024,
                MaxInflightEntries = 64,
                SnapshotChunkBytes = 32 * 1024,

                // Generous, for a loaded test machine: the test is about what happens, not how fast.
                HeartbeatInterval = TimeSpan.FromMilliseconds(100),
                Lease = TimeSpan.FromSeconds(1),
                ElectionTimeoutMin = TimeSpan.FromSeconds(1.5),
                ElectionTimeoutMax = TimeSpan.FromSeconds(3),
            }, storage, snapshot?.Position ?? 0);
            var replica = new Replica(node, id, storage);
            if (snapshot is not null)
            {
                replica.Load(snapshot, storage.ReadSnapshot(snapshot));
            }

            replica._applier = Task.Run(replica.ApplyAsync);
            return replica;
        }

        public List<string> Values(ulong upTo) => [.. Enumerable.Range(1, (int)upTo).Select(p => _values.GetValueOrDefault((ulong)p, "?"))];

        /// <summary>Writes a snapshot of what is applied and truncates the log before it.</summary>
        public async Task<ulong> SnapshotAndTruncateAsync()
        {
            await Eventually.HoldsAsync("the leader to apply what it committed", () => AppliedPosition >= Log.Status.CommitPosition, Patience);
            var at = AppliedPosition;
            var blob = System.Text.Encoding.UTF8.GetBytes(string.Join("\n", Values(at)));
            Storage.Snapshots.Write(at, Storage.TermAt(at), "test", blob);
            Storage.Log.TruncatePrefix(at + 1);
            return at;
        }

        public bool Disposed { get; private set; }

        public async ValueTask DisposeAsync()
        {
            Disposed = true;
            await Node.DisposeAsync();
            await _applier;
            Storage.Log.Dispose();
        }

        private void Load(ReplicaSnapshot snapshot, byte[] blob)
        {
            var values = System.Text.Encoding.UTF8.GetString(blob).Split('\n');
            for (var i = 0; i < values.Length; i++)
            {
                _values[(ulong)i + 1] = values[i];
            }

            Interlocked.Exchange(ref _applied, snapshot.Position);
        }

        private async Task ApplyAsync()
        {
            await foreach (var item in Log.Committed.ReadAllAsync())
            {
                if (item.Snapshot is { } snapshot)
                {
                    Installed.Add(snapshot);
                    Load(snapshot, item.SnapshotBlob!);
                    continue;
                }

                var entry = item.Entry!;
                Assert.Equal(AppliedPosition + 1, entry.Position);
                _values[entry.Position] = entry.Payload is null ? string.Empty : entry.Payload.Value.ToStringUtf8();
                Interlocked.Exchange(ref _applied, entry.Position);
            }
        }
    }
}

/// <summary>
/// Tests on real time (heartbeats, leases, elections over real sockets) run alone, after the others
/// of this assembly: next to the seeded simulation, which keeps the cores busy for minutes, a
/// starved loop thread misses its lease and the leader steps down again and again (the TCP test
/// once committed none of 200 proposals in 30 s that way).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealTimeCollection
{
    public const string Name = "real time";
}
