using System.Globalization;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Updates;
using FsCheck;
using FsCheck.Fluent;

namespace Aurora.Scheduler.Tests.Updates;

/// <summary>
/// For random update settings and random task failures the engine always ends the update
/// (ROLLED_FORWARD, ROLLED_BACK or FAILED) within a bounded number of steps, never has more
/// instances in flight than its group size, repeats nothing when stepped twice, and leaves every
/// instance on the configuration the outcome promises.
/// </summary>
public class UpdateEngineProperties
{
    private const int MaxSteps = 3000;

    [Fact]
    public void Every_update_terminates_within_bounds_and_keeps_at_most_a_group_out_of_service() =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed => Check(seed) != JobUpdateStatus.Unspecified)
            .Check(Config.QuickThrowOnFailure.WithMaxTest(60).WithQuietOnSuccess(true));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(42)]
    public void Known_seeds(int seed) => Check(seed);

    [Fact]
    public void Random_updates_reach_every_outcome()
    {
        // Guards the generator: runs that all rolled forward would make the property above vacuous.
        var outcomes = Enumerable.Range(0, 100).Select(Check).GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());

        Assert.All(new[] { JobUpdateStatus.RolledForward, JobUpdateStatus.RolledBack, JobUpdateStatus.Failed },
            s => Assert.True(outcomes.GetValueOrDefault(s) >= 5, $"{s}: {outcomes.GetValueOrDefault(s)} of 100"));
    }

    private static JobUpdateStatus Check(int seed)
    {
        var random = new Random(seed);
        var c = new UpdateCluster(seed);
        var job = c.CreateRunningJob(random.Next(1, 7));
        var initial = c.State.ActiveInstances(job).ToDictionary(p => p.Key, p => p.Value.Config);
        var newCount = random.Next(1, 7);
        var (strategy, limit) = RandomStrategy(random);
        var failureRate = new[] { 0.0, 0.3, 0.6, 0.9 }[random.Next(4)];
        var key = c.StartUpdate(UpdateCluster.Request(newCount, s =>
        {
            s.Strategy = strategy;
            s.MaxPerInstanceFailures = random.Next(0, 3);
            s.MaxFailedInstances = random.Next(0, 3);
            s.RollbackOnFailure = random.Next(2) == 0;
            s.MinWaitInInstanceRunningMs = random.Next(0, 4) * 10_000;
        }));
        var desired = c.Update(key).Instructions.DesiredState?.Task;
        // Half the runs crash only the new configuration, so that rollbacks get to succeed too.
        var crashesOldConfig = random.Next(2) == 0;
        var context = string.Create(CultureInfo.InvariantCulture, $"seed {seed}, {c.Update(key).Instructions}");

        for (var step = 0; step < MaxSteps; step++)
        {
            var (_, progress) = c.Step(key);
            Assert.True(c.InFlight(key).Count <= limit, $"{context}: {c.InFlight(key).Count} instances in flight, more than {limit}");
            Assert.False(c.Step(key).Decision.ChangesState, $"{context}: a second step changed the state");
            if (JobUpdateStates.IsTerminal(progress.Status))
            {
                AssertOutcome(c, job, progress.Status, initial, desired, newCount, context);
                return progress.Status;
            }

            if (progress.Status == JobUpdateStatus.RollForwardPaused)
            {
                c.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Resume));
            }

            Agents(c, job, random, failureRate, t => crashesOldConfig || t.Config.Equals(desired));
            c.AdvanceTo(progress.NextEvaluationMicros is { } next && next > c.NowMicros ? next : c.NowMicros + 5_000_000);
        }

        Assert.Fail($"{context}: the update did not end within {MaxSteps} steps ({c.Update(key).Status})");
        return JobUpdateStatus.Unspecified;
    }

    private static (JobUpdateStrategy Strategy, int Limit) RandomStrategy(Random random)
    {
        var size = random.Next(1, 4);
        return random.Next(3) switch
        {
            0 => (new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = size } }, size),
            1 => (new JobUpdateStrategy { Batch = new BatchStrategy { GroupSize = size, AutopauseAfterBatch = random.Next(2) == 0 } }, size),
            _ => VariableBatch(random),
        };
    }

    private static (JobUpdateStrategy, int) VariableBatch(Random random)
    {
        var sizes = Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(1, 4)).ToList();
        var strategy = new VariableBatchStrategy { AutopauseAfterBatch = random.Next(2) == 0 };
        strategy.GroupSizes.AddRange(sizes);
        return (new JobUpdateStrategy { VariableBatch = strategy }, sizes.Max());
    }

    /// <summary>Agents confirm kills and start tasks, and now and then a task crashes or its agent vanishes.</summary>
    private static void Agents(UpdateCluster c, JobKey job, Random random, double failureRate, Func<TaskRecord, bool> mayCrash)
    {
        foreach (var task in c.Tasks(job))
        {
            switch (task.Status)
            {
                case ScheduleStatus.Killing:
                    c.Execute(new ChangeTaskState(task.TaskId, random.NextDouble() < 0.1 ? ScheduleStatus.Lost : ScheduleStatus.Killed));
                    break;
                case ScheduleStatus.Running when mayCrash(task) && random.NextDouble() < failureRate:
                    c.Execute(new ChangeTaskState(task.TaskId, random.Next(3) == 0 ? ScheduleStatus.Lost : ScheduleStatus.Failed, "crashed"));
                    break;
            }
        }

        c.Launch(job);
    }

    private static void AssertOutcome(UpdateCluster c, JobKey job, JobUpdateStatus status, Dictionary<int, TaskConfig> initial, TaskConfig? desired, int newCount, string context)
    {
        Assert.True(status is JobUpdateStatus.RolledForward or JobUpdateStatus.RolledBack or JobUpdateStatus.Failed, $"{context}: ended {status}");
        var active = c.State.ActiveInstances(job);
        if (status == JobUpdateStatus.RolledForward)
        {
            Assert.Equal(Enumerable.Range(0, newCount), active.Keys);
            Assert.All(active.Values, t => Assert.Equal(desired, t.Config));
        }
        else if (status == JobUpdateStatus.RolledBack)
        {
            // Instances the update never reached kept their task; every other one is back as it was.
            Assert.Equal(initial.Keys.Order(), active.Keys.Where(initial.ContainsKey));
            Assert.All(active, p => Assert.Equal(initial.GetValueOrDefault(p.Key) ?? desired, p.Value.Config));
            Assert.All(active.Keys.Where(i => !initial.ContainsKey(i)), i =>
                Assert.DoesNotContain(i, c.Update(c.State.UpdatesOf(job)[^1].Key).InstanceEvents.Where(e => e.Action == JobUpdateAction.InstanceUpdating).Select(e => e.InstanceId)));
        }
    }
}
