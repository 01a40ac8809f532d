using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Tests.Domain;

public class SnapshotEquivalenceTests
{
    [Fact]
    public void Snapshot_plus_tail_equals_full_replay_for_a_simple_lifecycle()
    {
        var cluster = new DomainHarness();
        cluster.Execute(new SetQuota("www-data", Configs.Quota(10, 10240, 10240)));
        cluster.Execute(new CreateJob(Configs.Job(instances: 3)));
        var job = Configs.Key();
        cluster.Drive(job, 0, ScheduleStatus.Assigned, ScheduleStatus.Starting, ScheduleStatus.Running);
        var snapshotAt = cluster.Log.Count;
        var snapshot = cluster.Replay().ToSnapshot();
        cluster.Drive(job, 1, ScheduleStatus.Assigned, ScheduleStatus.Running);
        cluster.Advance(TimeSpan.FromMinutes(1));
        cluster.Drive(job, 0, ScheduleStatus.Failed);

        var full = cluster.Replay();
        var fromSnapshot = cluster.Replay(SchedulerState.FromSnapshot(snapshot), snapshotAt);

        Assert.Equal(cluster.State.StateHash(), full.StateHash());
        Assert.Equal(full.StateHash(), fromSnapshot.StateHash());
        Assert.Equal(4, full.TaskCount);
    }
}
