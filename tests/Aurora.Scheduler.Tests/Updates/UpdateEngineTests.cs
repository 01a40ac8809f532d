using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Updates;
using static Aurora.Scheduler.Protos.JobUpdateAction;
using static Aurora.Scheduler.Protos.JobUpdateStatus;

namespace Aurora.Scheduler.Tests.Updates;

/// <summary>The update engine (AdvanceJobUpdate): strategies, watch periods, failures, rollback, pauses, pulses, restarts.</summary>
public class UpdateEngineTests
{
    private static readonly TimeSpan Watch = TimeSpan.FromSeconds(45);

    private static JobUpdateStrategy Batch(int size, bool autopause = false) => new() { Batch = new BatchStrategy { GroupSize = size, AutopauseAfterBatch = autopause } };

    private static JobUpdateStrategy Queue(int size) => new() { Queue = new QueueStrategy { GroupSize = size } };

    [Fact]
    public void A_six_instance_batch_update_of_two_rolls_in_three_batches_each_after_the_previous_ran_for_the_watch_time()
    {
        var c = new UpdateCluster();
        var job = c.CreateRunningJob(6);
        var original = c.Active(job, 0).Config;
        var key = c.StartUpdate(UpdateCluster.Request(6, s => s.Strategy = Batch(2)));
        var desired = c.Update(key).Instructions.DesiredState.Task;

        var (decision, progress) = c.Step(key);
        for (var batch = 0; batch < 3; batch++)
        {
            var members = new[] { 2 * batch, (2 * batch) + 1 };
            Assert.Equal(RollingForward, progress.Status);
            Assert.Equal(members, c.InFlight(key));
            Assert.Equal(members.Select(i => c.Active(job, i).TaskId), decision.TasksToKill);
            Assert.All(members, i => Assert.Equal(AdvanceJobUpdate.KillMessage(key), c.Active(job, i).LatestEvent.Message));
            Assert.All(Enumerable.Range((2 * batch) + 2, 4 - (2 * batch)), i =>
            {
                Assert.Equal(ScheduleStatus.Running, c.Active(job, i).Status);
                Assert.Equal(original, c.Active(job, i).Config);
            });
            Assert.False(c.Step(key).Decision.ChangesState);

            c.ConfirmKills(job);
            Assert.Equal(members, c.Step(key).Decision.CreatedTasks().Select(t => t.InstanceId));
            c.Launch(job);
            var runningAt = c.NowMicros;

            var (watching, waiting) = c.Step(key);
            Assert.False(watching.ChangesState);
            Assert.Equal(runningAt + Micros.Of(Watch), waiting.NextEvaluationMicros);

            c.Advance(Watch - TimeSpan.FromSeconds(1));
            Assert.False(c.Step(key).Decision.ChangesState);
            Assert.Equal(members, c.InFlight(key));

            c.Advance(TimeSpan.FromSeconds(1));
            (decision, progress) = c.Step(key);
            Assert.Equal(members, decision.EventsOf(Event.KindOneofCase.JobUpdateInstanceEvent)
                .Select(e => e.JobUpdateInstanceEvent)
                .Where(e => e.Action == InstanceUpdated)
                .Select(e => e.InstanceId));
        }

        Assert.Equal(RolledForward, progress.Status);
        Assert.Null(progress.NextEvaluationMicros);
        Assert.Equal(Enumerable.Range(0, 6), c.Instances(key, InstanceUpdated));
        Assert.All(Enumerable.Range(0, 6), i => Assert.Equal(desired, c.Active(job, i).Config));
        Assert.Null(c.State.ActiveUpdateOf(job));
    }

    [Fact]
    public void Batches_start_only_after_every_instance_of_the_previous_batch_was_running_for_the_watch_time()
    {
        var c = new UpdateCluster();
        var job = c.CreateRunningJob(6);
        var key = c.StartUpdate(UpdateCluster.Request(6, s => s.Strategy = Batch(2)));
        var killedAt = new Dictionary<int, long>();
        var stableAt = new Dictionary<int, long>();

        var progress = c.RunToEnd(key, afterStep: () =>
        {
            foreach (var task in c.Tasks(job))
            {
                if (task.Status == ScheduleStatus.Killing)
                {
                    killedAt.TryAdd(task.InstanceId, c.NowMicros);
                }
            }

            foreach (var e in c.Update(key).InstanceEvents.Where(e => e.Action == InstanceUpdated))
            {
                stableAt.TryAdd(e.InstanceId, e.TimeMicros);
            }
        });

        Assert.Equal(RolledForward, progress.Status);
        for (var i = 2; i < 6; i++)
        {
            var previousBatch = new[] { (i / 2 * 2) - 2, (i / 2 * 2) - 1 };
            Assert.All(previousBatch, p => Assert.True(stableAt[p] <= killedAt[i], $"instance {i} was killed before instance {p} was stable"));
        }

        // Stable means RUNNING for the watch time: no instance is recorded updated sooner.
        foreach (var (instance, at) in stableAt)
        {
            var replacement = c.Tasks(job).Single(t => t.InstanceId == instance && t.IsActive);
            var running = replacement.Events.ToArray().First(e => e.Status == ScheduleStatus.Running).TimeMicros;
            Assert.True(at - running >= Micros.Of(Watch));
        }
    }

    [Fact]
    public void A_queue_keeps_at_most_its_group_size_in_flight_and_refills_a_slot_as_soon_as_one_finishes()
    {
        var c = new UpdateCluster();
        var job = c.CreateRunningJob(5);
        var key = c.StartUpdate(UpdateCluster.Request(5, s => s.Strategy = Queue(2)));
        var most = 0;

        var first = c.Step(key).Decision;
        Assert.Equal(2, first.TasksToKill.Count);
        c.Settle(job);
        c.Step(key);

        // Instance 1's replacement starts late: instance 0 finishing must start instance 2 alone.
        c.Launch(job, t => t.InstanceId == 0);
        c.Advance(Watch);
        c.Step(key);
        Assert.Equal(new[] { 0 }, c.Instances(key, InstanceUpdated));
        Assert.Equal(new[] { 1, 2 }, c.InFlight(key));

        var progress = c.RunToEnd(key, afterStep: () => most = Math.Max(most, c.InFlight(key).Count));

        Assert.Equal(RolledForward, progress.Status);
        Assert.Equal(2, most);
        Assert.Equal(5, c.Instances(key, InstanceUpdated).Count);
    }

    [Fact]
    public void Variable_batches_take_their_sizes_in_order_and_repeat_the_last()
    {
        var c = new UpdateCluster();
        var job = c.CreateRunningJob(6);
        var key = c.StartUpdate(UpdateCluster.Request(6, s => s.Strategy = new JobUpdateStrategy { VariableBatch = new VariableBatchStrategy { GroupSizes = { 1, 2 } } }));
        var groups = new List<IReadOnlyList<int>>();

        c.RunToEnd(key, afterStep: () =>
        {
            var inFlight = c.InFlight(key);
            if (inFlight.Count > 0 && (groups.Count == 0 || !groups[^1].SequenceEqual(inFlight)))
            {
                groups.Add(inFlight);
            }
        });

        Assert.Equal(new[] { "0", "1,2", "3,4", "5" }, groups.Select(g => string.Join(",", g)));
        Assert.Equal(RolledForward, c.Update(key).Status);
        Assert.Equal(6, c.Tasks(job).Count(t => t.IsActive));
    }

    [Fact]
    public void A_replacement_that_keeps_failing_fails_its_instance_and_the_update_goes_on_within_the_tolerance()
    {
        var c = new UpdateCluster();
        var job = c.CreateRunningJob(2);
        var key = c.StartUpdate(UpdateCluster.Request(2, s =>
        {
            s.MaxPerInstanceFailures = 1;
            s.MaxFailedInstances = 1;
        }));

        c.Step(key);
        c.Settle(job);
        c.Step(key);
        c.Launch(job);
        c.Fail(job, 0);
        Assert.False(c.Step(key).Decision.EventsOf(Event.KindOneofCase.JobUpdateInstanceEvent).Any());

        // The state machine rescheduled it; the second failure is one more than tolerated.
        c.Launch(job);
        c.Fail(job, 0, ScheduleStatus.Lost);
        var failed = c.Step(key).Decision;

        var failure = Assert.Single(failed.EventsOf(Event.KindOneofCase.JobUpdateInstanceEvent), e => e.JobUpdateInstanceEvent.Action == InstanceUpdateFailed);
        Assert.Equal(0, failure.JobUpdateInstanceEvent.InstanceId);
        Assert.Contains("LOST", failure.JobUpdateInstanceEvent.Message, StringComparison.Ordinal);
        Assert.Equal(new[] { 1 }, c.InFlight(key));

        var progress = c.RunToEnd(key);
        Assert.Equal(RolledForward, progress.Status);
        Assert.Equal(new[] { 1 }, c.Instances(key, InstanceUpdated));
        Assert.Equal(new[] { 0 }, c.Instances(key, InstanceUpdateFailed));
    }

    [Fact]
    public void Too_many_failed_instances_roll_the_update_back_to_the_old_configuration()
    {
        var c = new UpdateCluster();
        var job = c.CreateRunningJob(3);
        var original = c.Active(job, 0).Config;
        var key = c.StartUpdate(UpdateCluster.Request(3, s => s.Strategy = Queue(2)));
        c.Step(key);
        c.Settle(job);
        c.Step(key);
        c.Launch(job);
        c.Advance(Watch);
        c.Step(key);
        Assert.Equal(new[] { 0, 1 }, c.Instances(key, InstanceUpdated));
        c.Settle(job);
        c.Step(key);
        c.Launch(job);

        c.Fail(job, 2);
        var (decision, progress) = c.Step(key);

        Assert.Equal(RollingBack, progress.Status);
        var update = c.Update(key);
        Assert.StartsWith("Latest failure: instance 2", update.Events[^1].Message, StringComparison.Ordinal);
        // The rollback starts in the same step, in reverse order: instance 2's rescheduled
        // replacement never ran, so it is deleted and the old configuration created at once.
        Assert.Equal(new[] { 2, 1 }, c.Instances(key, InstanceRollingBack));
        Assert.Equal(new[] { 1, 2 }, c.InFlight(key));
        Assert.Contains(decision.CreatedTasks(), t => t.InstanceId == 2);
        Assert.Equal(original, c.Active(job, 2).Config);
        Assert.False(c.Step(key).Decision.ChangesState);

        var final = c.RunToEnd(key);

        Assert.Equal(RolledBack, final.Status);
        Assert.Equal(new[] { 2, 1, 0 }, c.Instances(key, InstanceRolledBack));
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(original, c.Active(job, i).Config));
    }

    [Fact]
    public void Without_rollback_on_failure_too_many_failures_fail_the_update_and_leave_the_job_as_it_is()
    {
        var c = new UpdateCluster();
        var job = c.CreateRunningJob(2);
        var key = c.StartUpdate(UpdateCluster.Request(2, s => s.RollbackOnFailure = false));
        c.Step(key);
        c.Settle(job);
        c.Step(key);
        c.Launch(job);
        c.Fail(job, 0);

        var (decision, progress) = c.Step(key);

        Assert.Equal(Failed, progress.Status);
        Assert.Null(progress.NextEvaluationMicros);
        Assert.Empty(decision.TasksToKill);
        Assert.Empty(decision.CreatedTasks());
        Assert.StartsWith("Latest failure: instance 0", c.Update(key).Events[^1].Message, StringComparison.Ordinal);
        Assert.Null(c.State.ActiveUpdateOf(job));
        Assert.Equal(ScheduleStatus.Running, c.Active(job, 1).Status);
        Assert.False(c.Step(key).Decision.ChangesState);
    }

    [Fact]
    public void A_failure_while_rolling_back_fails_the_update()
    {
        var c = new UpdateCluster();
        var job = c.CreateRunningJob(1);
        var key = c.StartUpdate(UpdateCluster.Request(1));
        c.Step(key);
        c.Settle(job);
        c.Step(key);
        c.Launch(job);
        c.Fail(job, 0);
        Assert.Equal(RollingBack, c.Step(key).Progress.Status);
        c.Settle(job);
        c.Step(key);
        c.Launch(job);

        c.Fail(job, 0);

        Assert.Equal(Failed, c.Step(key).Progress.Status);
        Assert.Equal(new[] { 0 }, c.Instances(key, InstanceRollbackFailed));
    }

    [Fact]
    public void An_update_that_grows_the_job_creates_the_new_instances_first_and_one_that_shrinks_it_kills_the_removed_ones()
    {
        var c = new UpdateCluster();
        var job = c.CreateRunningJob(2);
        var grow = c.StartUpdate(UpdateCluster.Request(4, s => s.Strategy = Queue(1)));

        var first = c.Step(grow).Decision;

        Assert.Empty(first.TasksToKill);
        Assert.Equal(new[] { 2 }, first.CreatedTasks().Select(t => t.InstanceId));
        Assert.Equal(RolledForward, c.RunToEnd(grow).Status);
        Assert.Equal(new[] { 2, 3, 0, 1 }, c.Instances(grow, InstanceUpdating));
        Assert.Equal(4, c.State.ActiveInstances(job).Count);

        var shrink = c.StartUpdate(UpdateCluster.Request(2, s => s.Strategy = Queue(2), c.Active(job, 0).Config));
        var kills = c.Step(shrink).Decision;

        Assert.Equal(new[] { c.Active(job, 2).TaskId, c.Active(job, 3).TaskId }, kills.TasksToKill);
        Assert.Empty(kills.CreatedTasks());
        c.ConfirmKills(job);
        var (done, progress) = c.Step(shrink);
        Assert.Equal(RolledForward, progress.Status);
        Assert.Empty(done.CreatedTasks());
        Assert.Equal(new[] { 0, 1 }, c.State.ActiveInstances(job).Keys);
        Assert.Equal(new[] { 2, 3 }, c.Instances(shrink, InstanceUpdated));
    }

    [Fact]
    public void A_task_that_never_ran_is_replaced_in_the_same_step()
    {
        var c = new UpdateCluster();
        var config = Configs.Job(instances: 1);
        c.Execute(new SetQuota(config.Key.Role, DomainScenarios.AmpleQuota));
        c.Execute(new CreateJob(config));
        var key = c.StartUpdate(UpdateCluster.Request(1));

        var decision = c.Step(key).Decision;

        Assert.Single(decision.EventsOf(Event.KindOneofCase.TasksPruned));
        Assert.Equal(c.Update(key).Instructions.DesiredState.Task, c.Active(config.Key, 0).Config);
        Assert.Equal(ScheduleStatus.Pending, c.Active(config.Key, 0).Status);
    }

    [Fact]
    public void Pausing_stops_the_engine_and_resuming_continues_where_it_stopped()
    {
        var c = new UpdateCluster();
        var job = c.CreateRunningJob(3);
        var key = c.StartUpdate(UpdateCluster.Request(3, s => s.Strategy = Queue(1)));
        c.Step(key);
        c.Settle(job);

        c.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Pause));
        var (paused, progress) = c.Step(key);

        Assert.False(paused.ChangesState);
        Assert.Equal(RollForwardPaused, progress.Status);
        Assert.Null(progress.NextEvaluationMicros);
        Assert.DoesNotContain(0, c.State.ActiveInstances(job).Keys);

        c.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Resume));
        var resumed = c.Step(key).Decision;

        Assert.Equal(new[] { 0 }, resumed.CreatedTasks().Select(t => t.InstanceId));
        Assert.Equal(RolledForward, c.RunToEnd(key).Status);
        Assert.Equal(new[] { 0, 1, 2 }, c.Instances(key, InstanceUpdating));
    }

    [Fact]
    public void An_update_with_autopause_pauses_after_each_batch_but_the_last()
    {
        var c = new UpdateCluster();
        var job = c.CreateRunningJob(4);
        var key = c.StartUpdate(UpdateCluster.Request(4, s => s.Strategy = Batch(2, autopause: true)));

        var first = c.RunToEnd(key);

        Assert.Equal(RollForwardPaused, first.Status);
        Assert.Equal(AdvanceJobUpdate.AutoPauseMessage, c.Update(key).Events[^1].Message);
        Assert.Equal(new[] { 0, 1 }, c.Instances(key, InstanceUpdated));
        Assert.Empty(c.InFlight(key));
        Assert.False(c.Step(key).Decision.ChangesState);

        c.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Resume));
        var resumed = c.Step(key).Decision;
        Assert.Equal(2, resumed.TasksToKill.Count);

        Assert.Equal(RolledForward, c.RunToEnd(key).Status);
        Assert.Single(c.Update(key).Events, e => e.Message == AdvanceJobUpdate.AutoPauseMessage);
        Assert.Equal(new[] { 0, 1, 2, 3 }, c.Instances(key, InstanceUpdated));
        Assert.Equal(4, c.Tasks(job).Count(t => t.IsActive));
    }

    [Fact]
    public void A_coordinated_update_waits_for_pulses_and_blocks_when_they_stop()
    {
        var c = new UpdateCluster();
        var job = c.CreateRunningJob(2);
        var key = c.StartUpdate(UpdateCluster.Request(2, s =>
        {
            s.BlockIfNoPulsesAfterMs = 60_000;
            s.Strategy = Queue(1);
        }));
        Assert.Equal(RollForwardAwaitingPulse, c.Update(key).Status);
        Assert.False(c.Step(key).Decision.ChangesState);

        Assert.Equal("OK", c.Execute(new PulseJobUpdate(key)).Value);
        var pulse = c.NowMicros;
        var (working, progress) = c.Step(key, pulse);

        Assert.Single(working.TasksToKill);
        Assert.Equal(pulse + 60_000_000, progress.NextEvaluationMicros);

        c.Settle(job);
        c.Advance(TimeSpan.FromSeconds(60));
        var (blocked, timedOut) = c.Step(key, pulse);

        Assert.Equal(RollForwardAwaitingPulse, timedOut.Status);
        Assert.Empty(blocked.CreatedTasks());
        Assert.Equal(AdvanceJobUpdate.PulseTimeoutMessage, c.Update(key).Events[^1].Message);

        c.Execute(new PulseJobUpdate(key));
        Assert.Equal(RollingForward, c.Update(key).Status);
        Assert.Equal(RollForwardAwaitingPulse, c.Step(key, lastPulseMicros: null).Progress.Status);
        c.Execute(new PulseJobUpdate(key));
        var resumed = c.Step(key, c.NowMicros).Decision;
        Assert.Equal(new[] { 0 }, resumed.CreatedTasks().Select(t => t.InstanceId));
    }

    [Fact]
    public void A_scheduler_restarted_mid_update_resumes_from_the_log_with_the_same_outcome()
    {
        var straight = RunScripted(restartAt: null);
        foreach (var restartAt in new[] { 3, 7, 12 })
        {
            var restarted = RunScripted(restartAt);

            Assert.Equal(straight.Log.Count, restarted.Log.Count);
            for (var i = 0; i < straight.Log.Count; i++)
            {
                Assert.Equal(straight.Log[i].Info, restarted.Log[i].Info);
                Assert.Equal(straight.Log[i].Transaction, restarted.Log[i].Transaction);
            }

            Assert.Equal(straight.State.StateHash(), restarted.State.StateHash());
        }

        Assert.Equal(RolledBack, straight.State.Updates.Single().Status);
    }

    /// <summary>An update through failures into a rollback; with a restart after the given step.</summary>
    private static UpdateCluster RunScripted(int? restartAt)
    {
        var c = new UpdateCluster(seed: 7);
        var job = c.CreateRunningJob(5);
        var key = c.StartUpdate(UpdateCluster.Request(5, s =>
        {
            s.Strategy = Queue(2);
            s.MaxPerInstanceFailures = 1;
            s.MaxFailedInstances = 0;
            s.MinWaitInInstanceRunningMs = 10_000;
        }));
        var desired = c.Update(key).Instructions.DesiredState.Task;
        var failuresLeft = 2;
        for (var step = 0; step < 200; step++)
        {
            if (step == restartAt)
            {
                c.Restart();
            }

            var (_, progress) = c.Step(key);
            if (JobUpdateStates.IsTerminal(progress.Status))
            {
                break;
            }

            c.Settle(job);
            if (failuresLeft > 0 && c.State.ActiveInstances(job).TryGetValue(3, out var task)
                && task.Status == ScheduleStatus.Running && task.Config.Equals(desired))
            {
                c.Fail(job, 3);
                c.Launch(job);
                failuresLeft--;
            }

            c.Advance(TimeSpan.FromSeconds(4));
        }

        return c;
    }

    [Fact]
    public void An_unknown_update_is_refused_and_a_finished_one_decides_nothing()
    {
        var c = new UpdateCluster();
        c.CreateRunningJob(1);
        var missing = new JobUpdateKey { Job = Configs.Key(), Id = "nope" };

        var refused = Assert.Throws<CommandRejectedException>(() => c.Execute(new AdvanceJobUpdate(missing)));
        Assert.Equal(ErrorCode.NotFound, refused.Code);
        Assert.Contains("nope", refused.Message, StringComparison.Ordinal);
        Assert.Throws<CommandRejectedException>(() => c.Execute(new AdvanceJobUpdate(new JobUpdateKey { Job = Configs.Key() })));

        var key = c.StartUpdate(UpdateCluster.Request(1));
        c.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Abort));
        var (decision, progress) = c.Step(key);
        Assert.False(decision.ChangesState);
        Assert.Equal(Aborted, progress.Status);
    }
}
