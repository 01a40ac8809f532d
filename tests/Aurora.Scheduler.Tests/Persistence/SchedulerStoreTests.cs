using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Tests.Persistence;

public class SchedulerStoreTests
{
    [Fact]
    public void An_uninitialized_replica_is_not_ready_and_says_how_to_initialize_it()
    {
        using var fixture = new StoreFixture(initialize: false);

        var error = Assert.ThrowsAny<StorageNotReadyException>(() => fixture.Open());

        Assert.StartsWith("Storage is not READY", error.Message, StringComparison.Ordinal);
        Assert.Contains($"aurora-log initialize --path={fixture.Directory}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Committed_commands_survive_a_restart_with_the_same_state_hash()
    {
        using var fixture = new StoreFixture();
        byte[] hash;
        using (var store = fixture.Open())
        {
            await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(10, 10240, 10240)), "admin");
            await store.ExecuteAsync(new CreateJob(Configs.Job(instances: 3)), "alice");
            fixture.Time.Advance(TimeSpan.FromSeconds(5));
            var task = store.Read(s => s.ActiveInstances(Configs.Key())[1].TaskId);
            await store.ExecuteAsync(new AssignTask(task, "agent-1", "host-1", []), "scheduler");
            hash = store.StateHash();
            Assert.Equal(3ul, store.AppliedPosition);
        }

        using var reopened = fixture.Open();

        Assert.Equal(hash, reopened.StateHash());
        Assert.Equal(3ul, reopened.AppliedPosition);
        Assert.Equal(3, reopened.Recovery.EntriesReplayed);
        Assert.Equal(3, reopened.Read(s => s.TaskCount));
        var assigned = reopened.Read(s => s.TasksIn(ScheduleStatus.Assigned).Single());
        Assert.Equal("host-1", assigned.Host);
        Assert.Equal(fixture.Time.GetUtcNow().ToUnixTimeMilliseconds() * 1000, assigned.LatestEvent.TimeMicros);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_reopened_store_decides_against_the_state_it_rebuilt(bool snapshotFirst)
    {
        // The decision copy is built once the replay of the log's entries is done (after a snapshot,
        // that is its marker entry), not folded entry by entry: the first decision sees every entry.
        using var fixture = new StoreFixture();
        using (var store = fixture.Open())
        {
            await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(10, 10240, 10240)), "admin");
            await store.ExecuteAsync(new CreateJob(Configs.Job(instances: 3)), "alice");
            await store.ExecuteAsync(new CreateJob(Configs.Job(Configs.Key(name: "other"), instances: 2)), "alice");
            await store.ExecuteAsync(new KillTasks(Configs.Key(), [0]), "alice");
            if (snapshotFirst)
            {
                Assert.NotNull(await store.TakeSnapshotAsync());
            }
        }

        using var reopened = fixture.Open();
        Assert.Equal(snapshotFirst ? 1 : 4, reopened.Recovery.EntriesReplayed);

        var refused = await Assert.ThrowsAsync<CommandRejectedException>(() => reopened.ExecuteAsync(new CreateJob(Configs.Job(instances: 1)), "alice"));
        Assert.Contains("already exists", refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, reopened.Read(s => s.TasksOf(Configs.Key()).Count(t => t.IsActive)));
        await reopened.ExecuteAsync(new KillTasks(Configs.Key()), "alice");
        Assert.Equal(0, reopened.Read(s => s.TasksOf(Configs.Key()).Count(t => t.Status == ScheduleStatus.Pending)));
        Assert.Equal(2, reopened.Read(s => s.TasksOf(Configs.Key(name: "other")).Count(t => t.Status == ScheduleStatus.Pending)));
    }

    [Fact]
    public async Task A_rejected_command_writes_nothing()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();

        await Assert.ThrowsAsync<CommandRejectedException>(() => store.ExecuteAsync(new CreateJob(Configs.Job(instances: 0)), "alice"));
        var noop = await store.ExecuteAsync(new KillTasks(Configs.Key()), "alice");

        Assert.Equal("No tasks to kill.", noop.Message);
        Assert.Equal(0ul, store.Log.LastDurablePosition);
        Assert.Equal(0ul, store.AppliedPosition);
    }

    [Fact]
    public async Task The_log_records_the_principal_and_time_of_each_transaction()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        fixture.Time.Advance(TimeSpan.FromMinutes(3));

        await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(1, 1, 1)), "root");

        var entry = store.Log.Read(1, 1).Single();
        Assert.Equal("root", entry.Principal);
        Assert.Equal(fixture.Time.GetUtcNow().ToUnixTimeMilliseconds() * 1000, entry.TimestampMicros);
        Assert.Equal(TransactionCodec.TypeUrl, entry.Payload.TypeUrl);
        Assert.Equal(Event.KindOneofCase.QuotaSet, TransactionCodec.Decode(entry).Events.Single().KindCase);
    }

    [Fact]
    public async Task A_restart_after_a_snapshot_replays_only_the_tail()
    {
        using var fixture = new StoreFixture();
        ulong snapshotPosition;
        byte[] hash;
        using (var store = fixture.Open())
        {
            await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(10, 10240, 10240)), "admin");
            await store.ExecuteAsync(new CreateJob(Configs.Job(instances: 2)), "alice");
            var snapshot = await store.TakeSnapshotAsync();
            Assert.NotNull(snapshot);
            snapshotPosition = snapshot.Position;
            await store.ExecuteAsync(new CreateJob(Configs.Job(Configs.Key(name: "other"), instances: 1)), "bob");
            hash = store.StateHash();
        }

        using var reopened = fixture.Open();

        Assert.Equal(snapshotPosition, reopened.Recovery.Snapshot?.Position);
        // The SnapshotCommitted marker and the second job.
        Assert.Equal(2, reopened.Recovery.EntriesReplayed);
        Assert.Equal(hash, reopened.StateHash());
    }

    [Fact]
    public async Task Snapshots_taken_while_writers_commit_each_equal_a_replay_of_the_log_to_their_position()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open(fixture.Options() with { TruncateLogBehindSnapshots = false, SnapshotRetainCount = 1000 });
        await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(100, 1 << 20, 1 << 20)), "admin");
        await store.ExecuteAsync(new CreateJob(Configs.Job(instances: 20)), "alice");

        // Writers commit while snapshots are built from captures of the state, which then moves on:
        // new quotas, and tasks whose status and history change one by one.
        var writing = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                await store.ExecuteAsync(new SetQuota($"role-{w}-{i}", Configs.Quota(1 + i, 1024, 1024)), "admin");
            }
        })).Append(Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await store.ExecuteAsync(new KillTasks(Configs.Key(), [i]), "alice");
            }
        })).ToList();
        var taken = new List<ulong>();
        while (writing.Any(w => !w.IsCompleted) || taken.Count < 3)
        {
            if (await store.TakeSnapshotAsync() is { } info)
            {
                taken.Add(info.Position);
            }
            else if (writing.All(w => w.IsCompleted))
            {
                // Nothing new since the last one: one more write gives the next snapshot something to hold.
                await store.ExecuteAsync(new SetQuota($"extra-{taken.Count}", Configs.Quota(1, 1024, 1024)), "admin");
            }
        }

        await Task.WhenAll(writing);
        Assert.True(taken.Count >= 3, $"{taken.Count} snapshots taken");
        foreach (var info in store.Snapshots.List())
        {
            var blob = store.Snapshots.Read(info.Path).Blob;
            var replayed = StateReplayer.Replay(store.Log, snapshots: null, ReplayTarget.AtPosition(info.Position));
            Assert.True(replayed.State.StateHash().AsSpan().SequenceEqual(SchedulerState.HashOf(blob)), $"the snapshot at position {info.Position} differs from the log replayed to it");
        }
    }

    [Fact]
    public async Task A_snapshot_carries_the_term_of_the_entry_at_its_position_not_the_term_the_store_now_leads_in()
    {
        using var fixture = new StoreFixture();
        ulong firstTerm;
        using (var store = fixture.Open())
        {
            await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(10, 10240, 10240)), "admin");
            firstTerm = store.Log.TermAt(1);
            Assert.Equal(store.Replication.CurrentLeadership.Term, firstTerm);
        }

        // Each opening is an election, so a later term appends; the applied position is still the entry of the first.
        using (var store = fixture.Open())
        {
            var laterTerm = store.Replication.CurrentLeadership.Term;
            Assert.True(laterTerm > firstTerm);
            var older = await store.TakeSnapshotAsync();
            Assert.NotNull(older);
            Assert.Equal((1ul, firstTerm), (older.Position, older.Term));
            Assert.Equal(firstTerm, store.Snapshots.LoadNewest().Newest!.Info.Term);

            // The marker of that snapshot and a job are entries of the later term.
            await store.ExecuteAsync(new CreateJob(Configs.Job(instances: 1)), "alice");
            var newer = await store.TakeSnapshotAsync();
            Assert.NotNull(newer);
            Assert.Equal((3ul, laterTerm), (newer.Position, newer.Term));
            Assert.Equal(store.Log.TermAt(newer.Position), newer.Term);
        }
    }

    [Fact]
    public async Task A_snapshot_is_marked_in_the_log_with_its_state_hash_and_not_repeated_when_nothing_changed()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(10, 10240, 10240)), "admin");
        var hashBefore = store.StateHash();

        var first = await store.TakeSnapshotAsync();
        var second = await store.TakeSnapshotAsync();

        Assert.NotNull(first);
        Assert.Null(second);
        var marker = TransactionCodec.Decode(store.Log.Read(2, 2).Single()).Events.Single().SnapshotCommitted;
        Assert.Equal(1ul, marker.Position);
        Assert.Equal(hashBefore, marker.StateHash.ToByteArray());
        Assert.Equal(Principals.Scheduler, store.Log.Read(2, 2).Single().Principal);
    }

    [Fact]
    public async Task Snapshots_truncate_the_log_behind_the_oldest_snapshot_kept()
    {
        using var fixture = new StoreFixture();
        var options = fixture.Options() with { SnapshotRetainCount = 2, LogSegmentSize = 64 << 10, MaxEntrySize = 16 << 10 };
        using var store = fixture.Open(options);
        var big = Configs.Job(instances: 1);
        big.Task.Metadata.Add(new Metadata { Key = "padding", Value = new string('x', 4000) });
        await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(1000, 1 << 30, 1 << 30)), "admin");
        for (var round = 0; round < 4; round++)
        {
            for (var i = 0; i < 40; i++)
            {
                var job = big.Clone();
                job.Key = Configs.Key(name: $"job-{round}-{i}");
                job.Task.Job = job.Key;
                await store.ExecuteAsync(new CreateJob(job), "alice");
            }

            await store.TakeSnapshotAsync();
        }

        var kept = store.Snapshots.List();
        var hash = store.StateHash();
        Assert.Equal(2, kept.Count);
        Assert.True(store.Log.FirstRetainedPosition > 1, "the log was not truncated");
        Assert.True(store.Log.FirstRetainedPosition <= kept.Min(s => s.Position) + 1, "entries after the oldest snapshot were removed");
        store.Dispose();

        using var reopened = fixture.Open(options);
        Assert.Equal(hash, reopened.StateHash());
    }

    [Fact]
    public async Task Periodic_snapshots_follow_the_snapshot_interval()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        await using var scheduler = Housekeeping.Snapshots(store, fixture.Time, TimeSpan.FromHours(1));
        scheduler.Start();
        await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(1, 1, 1)), "admin");

        fixture.Time.Advance(TimeSpan.FromMinutes(59));
        Assert.Empty(store.Snapshots.List());
        fixture.Time.Advance(TimeSpan.FromMinutes(1));
        await WaitFor(() => scheduler.Done == 1);
        // Nothing new since: the next tick writes nothing.
        fixture.Time.Advance(TimeSpan.FromHours(1));
        await WaitFor(() => scheduler.Done + scheduler.Failed >= 1);

        Assert.Equal(1, scheduler.Done);
        Assert.Equal(0, scheduler.Failed);
        Assert.Equal(1ul, Assert.Single(store.Snapshots.List()).Position);
    }

    [Fact]
    public async Task Reads_see_whole_transactions_while_commands_commit()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(1000, 1 << 30, 1 << 30)), "admin");
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(() =>
        {
            var torn = 0;
            while (!stop.IsCancellationRequested)
            {
                // Each job is created with 5 tasks in one transaction: a reader never sees a part of one.
                torn += store.Read(s => s.TaskCount % 5 == 0 ? 0 : 1);
            }

            return torn;
        });

        for (var i = 0; i < 50; i++)
        {
            await store.ExecuteAsync(new CreateJob(Configs.Job(Configs.Key(name: $"job-{i}"), instances: 5)), "alice");
        }

        await stop.CancelAsync();
        Assert.Equal(0, await reader);
        Assert.Equal(250, store.Read(s => s.TaskCount));
    }

    [Fact]
    public async Task History_pruning_runs_periodically_and_is_logged_as_events()
    {
        using var fixture = new StoreFixture();
        using var store = fixture.Open();
        await using var pruner = Housekeeping.TaskHistoryPruner(store, store, fixture.Time);
        pruner.Start();
        await store.ExecuteAsync(new CreateJob(Configs.Job(instances: 1, service: false, tier: "preemptible")), "alice");
        var task = store.Read(s => s.ActiveInstances(Configs.Key())[0].TaskId);
        await store.ExecuteAsync(new AssignTask(task, "agent-1", "host-1", []), "scheduler");
        await store.ExecuteAsync(new ChangeTaskState(task, ScheduleStatus.Running), "agent");
        await store.ExecuteAsync(new ChangeTaskState(task, ScheduleStatus.Finished), "agent");

        // Aurora's -history_prune_threshold: finished tasks are kept for two days.
        fixture.Time.Advance(TimeSpan.FromDays(2) - TimeSpan.FromMinutes(1));
        Assert.NotNull(store.Read(s => s.FindTask(task)));
        fixture.Time.Advance(TimeSpan.FromMinutes(1));

        // A run the timer started before the task was old enough may still be committing when the
        // clock reaches the threshold, and a busy pruner skips that tick: later intervals prune it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (pruner.Done == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the pruner never pruned the old task");
            await Task.Delay(50);
            fixture.Time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(1, pruner.Done);
        Assert.Null(store.Read(s => s.FindTask(task)));
        var last = store.Log.Read(store.Log.LastDurablePosition, store.Log.LastDurablePosition).Single();
        Assert.Equal(Principals.Scheduler, last.Principal);
        Assert.Equal([task], TransactionCodec.Decode(last).Events.Single().TasksPruned.TaskIds);
    }

    private static async Task WaitFor(Func<bool> condition)
    {
        // The snapshot runs asynchronously after the timer fires (it awaits a durable append).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the snapshot scheduler");
            await Task.Delay(10);
        }
    }
}
