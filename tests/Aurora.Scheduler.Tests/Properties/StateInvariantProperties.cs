using Aurora.Scheduler.Commands;

namespace Aurora.Scheduler.Tests.Properties;

/// <summary>
/// After every command of a random run — committed, refused or a no-op — the state keeps its
/// invariants (see <see cref="StateInvariants"/>), and a refused command changed nothing.
/// </summary>
public class StateInvariantProperties
{
    [Fact]
    public void Every_reachable_state_keeps_its_indexes_instances_locks_hosts_and_quota_consistent() =>
        Scenarios.ForAll(
            (scenario, length) =>
            {
                StateInvariants.AssertHold(scenario.Harness.State);
                scenario.Run(length, step =>
                {
                    // A refused or no-op command is checked to leave the state hash unchanged, so
                    // the invariants need re-checking only after a commit.
                    if (step.Outcome != StepOutcome.Committed)
                    {
                        return;
                    }

                    StateInvariants.AssertHold(scenario.Harness.State);
                    if (step.Command is AssignTask assign)
                    {
                        StateInvariants.AssignmentRespectedPlacement(scenario.Harness.State, assign);
                    }
                });

                // Decide must not touch the state: the live state is exactly what the log folds to.
                Assert.Equal(scenario.Harness.Replay().StateHash(), scenario.Harness.State.StateHash());
            },
            checkRejections: true);

    [Fact]
    public void Random_runs_exercise_every_outcome()
    {
        // Guards the generator: a run that only ever refused or only ever committed would make the
        // invariants above vacuous.
        var outcomes = new Dictionary<StepOutcome, int>();
        var types = new HashSet<Type>();
        var statuses = new HashSet<Protos.ScheduleStatus>();
        for (var seed = 0; seed < 20; seed++)
        {
            RandomScenario.Check(seed, 200, (scenario, length) => scenario.Run(length, step =>
            {
                outcomes[step.Outcome] = outcomes.GetValueOrDefault(step.Outcome) + 1;
                if (step.Outcome == StepOutcome.Committed)
                {
                    types.Add(step.Command.GetType());
                }

                statuses.UnionWith(scenario.Harness.State.Tasks.Select(t => t.Status));
            }));
        }

        Assert.All(Enum.GetValues<StepOutcome>(), o => Assert.True(outcomes.GetValueOrDefault(o) > 50, $"{o}: {outcomes.GetValueOrDefault(o)}"));
        Assert.Subset(types, new HashSet<Type>
        {
            typeof(CreateJob), typeof(KillTasks), typeof(RestartInstances), typeof(AddInstances), typeof(AssignTask),
            typeof(ChangeTaskState), typeof(ForceTaskState), typeof(ScheduleCronJob), typeof(DescheduleCronJob),
            typeof(TriggerCronJob), typeof(StartJobUpdate), typeof(ChangeJobUpdate), typeof(SetJobUpdateStatus),
            typeof(RecordInstanceUpdate), typeof(SetQuota), typeof(SaveHostAttributes), typeof(ChangeHostMaintenance),
            typeof(PruneTaskHistory), typeof(PruneTasks),
        });
        Protos.ScheduleStatus[] expected =
        [
            Protos.ScheduleStatus.Pending, Protos.ScheduleStatus.Throttled, Protos.ScheduleStatus.Assigned,
            Protos.ScheduleStatus.Running, Protos.ScheduleStatus.Finished, Protos.ScheduleStatus.Failed,
            Protos.ScheduleStatus.Killing, Protos.ScheduleStatus.Killed, Protos.ScheduleStatus.Lost,
            Protos.ScheduleStatus.Partitioned, Protos.ScheduleStatus.Draining,
        ];
        Assert.Empty(expected.Except(statuses));
    }
}
