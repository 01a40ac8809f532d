using System.Collections.Concurrent;
using Aurora.Replication;
using Aurora.Replication.Consensus;
using Aurora.Replication.Protos;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Persistence;
using Aurora.Storage.IO;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Scheduler.Tests.Persistence;

/// <summary>
/// The write pipeline and the one apply path, on a lone replica and on three stores in one process
/// over an in-memory network that can isolate a replica: pipelined decisions see the ones before
/// them, followers stay warm, and decisions whose proposal failed vanish without a trace.
/// </summary>
public sealed class ReplicatedStoreTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _root = new();
    private readonly MemoryNetwork _network = new();
    private readonly List<SchedulerStore> _stores = [];
    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        _root.Dispose();
    }

    [Fact]
    public async Task A_lone_replica_takes_concurrent_commands_in_batches_each_answered_at_its_own_position()
    {
        using var fixture = new StoreFixture();
        await using var store = fixture.Open();

        var writes = Enumerable.Range(0, 64).Select(i => store.CommitAsync(new SetQuota($"role{i}", Configs.Quota(i + 1, 1024, 1024)), "admin")).ToList();
        var committed = await Task.WhenAll(writes);

        Assert.Equal(Enumerable.Range(1, 64).Select(i => (ulong)i), committed.Select(c => c.Position).Order());
        Assert.Equal(64ul, store.AppliedPosition);
        for (var i = 0; i < 64; i++)
        {
            // Each answer names the entry that holds its own command.
            var position = committed[i].Position;
            var quota = TransactionCodec.Decode(store.Log.Read(position, position).Single()).Events.Single().QuotaSet;
            Assert.Equal($"role{i}", quota.Role);
        }
    }

    [Fact]
    public async Task A_command_decided_behind_a_pending_one_sees_it_and_its_refusal_waits_for_the_commit()
    {
        using var fixture = new StoreFixture();
        await using var store = fixture.Open();
        await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(100, 102400, 102400)), "admin");

        // Queued together: the second is decided against a state that holds the first, not yet committed.
        var first = store.CommitAsync(new CreateJob(Configs.Job(instances: 2)), "alice");
        var second = store.CommitAsync(new CreateJob(Configs.Job(instances: 2)), "bob");

        var created = await first;
        var refused = await Assert.ThrowsAsync<CommandRejectedException>(() => second);
        Assert.Contains("already exists", refused.Message, StringComparison.Ordinal);
        Assert.Equal(created.Position, store.AppliedPosition);
        Assert.Equal(2, store.Read(s => s.TaskCount));
    }

    [Fact]
    public async Task Three_stores_apply_the_same_entries_and_a_follower_redirects_writes_to_the_leader()
    {
        await StartClusterAsync(3);
        var leader = await LeaderAsync();

        var writes = Enumerable.Range(0, 40).Select(i => leader.CommitAsync(new SetQuota($"role{i}", Configs.Quota(1, 1024, 1024)), "admin"));
        var last = (await Task.WhenAll(writes)).Max(c => c.Position);
        await ConvergedAsync(last);

        var follower = _stores.First(s => s != leader);
        var refused = await Assert.ThrowsAsync<NotLeaderException>(() => follower.CommitAsync(new SetQuota("x", Configs.Quota(1, 1, 1)), "admin"));
        Assert.Equal(leader.Replication.Status.SelfId, refused.LeaderId);
        Assert.Contains(refused.LeaderId!, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_isolated_leader_answers_nothing_it_decided_and_its_decisions_vanish_when_it_rejoins()
    {
        await StartClusterAsync(3);
        var old = await LeaderAsync();
        var before = await old.CommitAsync(new SetQuota("www-data", Configs.Quota(100, 102400, 102400)), "admin");
        await ConvergedAsync(before.Position);

        // Cut off: its proposals can never reach a quorum. A job, and a command decided behind it.
        _network.Isolate(old.Replication.Status.SelfId);
        var ghost = old.CommitAsync(new CreateJob(Configs.Job(instances: 1)), "alice");
        var dependent = old.CommitAsync(new CreateJob(Configs.Job(instances: 1)), "bob");

        await Assert.ThrowsAsync<NotLeaderException>(() => ghost).WaitAsync(Patience);
        // The refusal "already exists" was decided on the ghost: it must not be answered as such.
        await Assert.ThrowsAsync<NotLeaderException>(() => dependent).WaitAsync(Patience);
        Assert.Equal(0, old.Read(s => s.TaskCount));

        // The majority elects, writes the same job key, and the old leader rejoins as a warm follower.
        var successor = await LeaderAsync(except: old);
        var created = await successor.CommitAsync(new CreateJob(Configs.Job(instances: 3)), "carol");
        _network.Heal();
        await ConvergedAsync(created.Position);
        // Had the ghost job been applied anywhere, carol's job would have been refused there.
        Assert.All(_stores, s => Assert.Equal(3, s.Read(state => state.TaskCount)));

        // Its decision copy was rebuilt: led again, it decides against what was committed.
        var next = await successor.CommitAsync(new KillTasks(Configs.Key()), "carol");
        await ConvergedAsync(next.Position);
    }

    [Fact]
    public async Task When_the_leader_goes_a_warm_follower_decides_at_once_on_everything_acknowledged()
    {
        await StartClusterAsync(3);
        var old = await LeaderAsync();
        var acknowledged = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => old.CommitAsync(new SetQuota($"r{i}", Configs.Quota(1, 1024, 1024)), "admin")));

        await old.DisposeAsync();
        _network.Isolate(old.Replication.Status.SelfId);
        var successor = await LeaderAsync(except: old);

        // Nothing replayed: the state was applied as the entries committed.
        var next = await successor.CommitAsync(new SetQuota("after", Configs.Quota(2, 2048, 2048)), "admin");
        Assert.True(next.Position > acknowledged.Max(c => c.Position));
        Assert.All(Enumerable.Range(0, 20), i => Assert.Equal(1, successor.Read(s => s.QuotaOf($"r{i}").NumCpus)));
    }

    private async Task StartClusterAsync(int count)
    {
        var ids = Enumerable.Range(0, count).Select(i => $"replica-{i}").ToArray();
        foreach (var id in ids)
        {
            var directory = _root.Sub(id);
            Directory.CreateDirectory(directory);
            new ReplicaMetadataStore(PhysicalFileSystem.Instance, directory).Save(new ReplicaMetadata { Status = ReplicaStatus.Voting, LogId = "test-log" });
            var options = new SchedulerStoreOptions
            {
                Directory = directory,
                Time = _time,
                Ids = new SeededIdGenerator(ids.Length + _stores.Count),
                LogSegmentSize = 1 << 20,
                MaxEntrySize = 256 << 10,
                OnFatalError = e => throw new InvalidOperationException("fatal log error in a test", e),
            };
            var consensus = new ConsensusOptions { SelfId = id, Members = ids, Quorum = count / 2 + 1 };
            _stores.Add(await SchedulerStore.OpenAsync(options, (storage, applied) =>
                _network.Join(id, sender => new ReplicatedLog(consensus, storage, sender, applied, NullLogger.Instance))));
        }
    }

    private async Task<SchedulerStore> LeaderAsync(SchedulerStore? except = null)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            if (_stores.FirstOrDefault(s => s != except && s.IsWritable) is { } leader)
            {
                return leader;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException("no store became writable");
    }

    private async Task ConvergedAsync(ulong position)
    {
        foreach (var store in _stores)
        {
            using var timeout = new CancellationTokenSource(Patience);
            while (store.AppliedPosition < position)
            {
                await store.WaitForChangeAsync(store.AppliedPosition, timeout.Token);
            }
        }

        var hashes = _stores.Select(s => s.Read((state, applied) => (applied, Convert.ToHexString(state.StateHash())))).ToList();
        var atPosition = hashes.Where(h => h.applied == hashes.Max(x => x.applied)).Select(h => h.Item2).Distinct().ToList();
        Assert.Single(atPosition);
    }

    /// <summary>Replicated logs wired to one another in memory; a replica can be cut off from every other.</summary>
    private sealed class MemoryNetwork
    {
        private readonly ConcurrentDictionary<string, ReplicatedLog> _nodes = new();
        private readonly ConcurrentDictionary<string, bool> _isolated = new();

        public ReplicatedLog Join(string id, Func<IPeerSender, ReplicatedLog> start)
        {
            var log = start(new Sender(this, id));
            _nodes[id] = log;
            return log;
        }

        public void Isolate(string id) => _isolated[id] = true;

        public void Heal() => _isolated.Clear();

        private void Send(string from, string to, PeerMessage message)
        {
            if (!_isolated.ContainsKey(from) && !_isolated.ContainsKey(to) && _nodes.TryGetValue(to, out var target))
            {
                // A copy: the sender may go on changing what it sent, as bytes on a wire would not.
                target.OnMessage(from, message.Clone());
            }
        }

        private sealed class Sender(MemoryNetwork network, string from) : IPeerSender
        {
            public void Send(string to, PeerMessage message) => network.Send(from, to, message);
        }
    }
}
