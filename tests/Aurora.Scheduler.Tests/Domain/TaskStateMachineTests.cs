using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using static Aurora.Scheduler.Protos.ScheduleStatus;

namespace Aurora.Scheduler.Tests.Domain;

/// <summary>
/// Aurora's task state machine, table by table. The expected tables are transcribed from Aurora's
/// TaskStateMachine.java (aurora-features.md §2), never derived from the code under test.
/// </summary>
public class TaskStateMachineTests
{
    private static readonly ScheduleStatus[] Interrupting = [Restarting, Draining, Preempting];

    private static readonly ScheduleStatus[] TerminalStatuses = [Finished, Failed, Killed, Lost];

    /// <summary>Aurora's legal targets of each status (DELETED, which is not a status here, left out).</summary>
    private static readonly Dictionary<ScheduleStatus, ScheduleStatus[]> AuroraLegalTargets = new()
    {
        [Init] = [Pending, Throttled],
        [Pending] = [Assigned, Killing],
        [Throttled] = [Pending, Killing],
        [Assigned] = [Starting, Running, Finished, Failed, Restarting, Draining, Killed, Killing, Lost, Preempting],
        [Starting] = [Running, Finished, Failed, Restarting, Draining, Killing, Killed, Lost, Preempting, Partitioned],
        [Running] = [Finished, Restarting, Draining, Failed, Killing, Killed, Lost, Preempting, Partitioned],
        [Partitioned] = [Lost, Failed, Finished, Running, Assigned, Starting, Restarting, Draining, Preempting, Killing],
        [Preempting] = [Finished, Failed, Killing, Killed, Lost, Partitioned],
        [Restarting] = [Finished, Failed, Killing, Killed, Lost, Partitioned],
        [Draining] = [Finished, Failed, Killing, Killed, Lost, Partitioned],
        [Killing] = [Finished, Failed, Killed, Lost, Partitioned],
        [Finished] = [],
        [Failed] = [],
        [Killed] = [],
        [Lost] = [],
    };

    /// <summary>Every status a task can have: the enum without its UNSPECIFIED zero.</summary>
    private static ScheduleStatus[] Statuses => Enum.GetValues<ScheduleStatus>().Where(s => s != Unspecified).ToArray();

    public static TheoryData<ScheduleStatus> AllStatuses => new(Statuses);

    /// <summary>Task facts that change side effects but must never change legality.</summary>
    private static IEnumerable<TaskFacts> FactVariants()
    {
        foreach (var service in new[] { true, false })
        {
            foreach (var max in new[] { -1, 0, 1, 3 })
            {
                foreach (var count in new[] { 0, 1, 2, 5 })
                {
                    foreach (var killing in new[] { false, true })
                    {
                        yield return new TaskFacts(service, max, count, killing);
                    }
                }
            }
        }
    }

    [Fact]
    public void The_expected_table_covers_all_fifteen_statuses()
    {
        Assert.Equal(15, Statuses.Length);
        Assert.Equal(Statuses.Order(), AuroraLegalTargets.Keys.Order());
    }

    [Theory]
    [MemberData(nameof(AllStatuses))]
    public void Legal_targets_of_each_status_are_exactly_Aurora_s_whatever_the_task(ScheduleStatus from)
    {
        var expected = AuroraLegalTargets[from].Order().ToArray();
        foreach (var facts in FactVariants())
        {
            var legal = Statuses.Where(to => TaskStateMachine.Evaluate(from, to, facts).IsLegal).Order().ToArray();
            Assert.True(expected.SequenceEqual(legal), $"{TaskStatuses.Name(from)} with {facts}: expected [{string.Join(", ", expected)}], got [{string.Join(", ", legal)}]");
        }

        Assert.Equal(expected, Statuses.Where(to => TaskStateMachine.IsLegal(from, to)).Order().ToArray());
    }

    [Theory]
    [MemberData(nameof(AllStatuses))]
    public void Every_legal_transition_has_Aurora_s_side_effects(ScheduleStatus from)
    {
        foreach (var facts in FactVariants())
        {
            foreach (var to in AuroraLegalTargets[from])
            {
                var actual = TaskStateMachine.Evaluate(from, to, facts).Effects;
                var expected = ExpectedEffects(from, to, facts);
                if (to == Killing && Interrupting.Contains(from))
                {
                    // Aurora sends no second kill here (the first went out on entering the state); a
                    // repeated kill is harmless, so it is accepted either way.
                    actual &= ~TransitionEffects.Kill;
                }

                Assert.True(expected == actual, $"{TaskStatuses.Name(from)} -> {TaskStatuses.Name(to)} with {facts}: expected {expected}, got {actual}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(AllStatuses))]
    public void Illegal_transitions_have_no_effect_but_a_zombie_kill(ScheduleStatus from)
    {
        foreach (var to in Statuses.Except(AuroraLegalTargets[from]))
        {
            var outcome = TaskStateMachine.Evaluate(from, to, new TaskFacts(true, -1, 0, false));
            Assert.False(outcome.IsLegal);
            Assert.Equal(TransitionEffects.None, outcome.Effects & ~TransitionEffects.Kill);
        }
    }

    [Fact]
    public void Unspecified_is_neither_a_source_nor_a_target()
    {
        foreach (var status in Statuses)
        {
            Assert.False(TaskStateMachine.IsLegal(Unspecified, status));
            Assert.False(TaskStateMachine.IsLegal(status, Unspecified));
        }
    }

    [Theory]
    [InlineData(Assigned, true, true)]
    [InlineData(Assigned, false, false)]
    [InlineData(Starting, true, true)]
    [InlineData(Starting, false, false)]
    [InlineData(Running, true, true)]
    [InlineData(Running, false, false)]
    public void Finished_reschedules_only_services(ScheduleStatus from, bool service, bool reschedules)
    {
        var outcome = TaskStateMachine.Evaluate(from, Finished, new TaskFacts(service, -1, 0, false));

        Assert.True(outcome.IsLegal);
        Assert.Equal(reschedules, outcome.Has(TransitionEffects.Reschedule));
        Assert.False(outcome.Has(TransitionEffects.IncrementFailures));
    }

    [Theory]
    [InlineData(true, 1, 7, true)] // services ignore the limit
    [InlineData(false, -1, 100, true)] // -1 is unlimited
    [InlineData(false, 3, 0, true)]
    [InlineData(false, 3, 1, true)]
    [InlineData(false, 3, 2, false)] // failure_count < max - 1 no longer holds
    [InlineData(false, 1, 0, false)]
    [InlineData(false, 0, 0, false)]
    public void Failed_counts_a_failure_and_reschedules_while_below_max_task_failures(bool service, int max, int failures, bool reschedules)
    {
        foreach (var from in new[] { Assigned, Starting, Running, Partitioned })
        {
            var outcome = TaskStateMachine.Evaluate(from, Failed, new TaskFacts(service, max, failures, false));

            Assert.True(outcome.IsLegal);
            Assert.True(outcome.Has(TransitionEffects.IncrementFailures | TransitionEffects.SaveState));
            Assert.Equal(reschedules, outcome.Has(TransitionEffects.Reschedule));
            Assert.Equal(reschedules, TaskStateMachine.ShouldRescheduleFailure(new TaskFacts(service, max, failures, false)));
        }
    }

    [Theory]
    [InlineData(Assigned, true)]
    [InlineData(Starting, true)]
    [InlineData(Running, true)]
    [InlineData(Killing, false)]
    public void Killed_reschedules_unless_a_kill_was_asked_for(ScheduleStatus from, bool reschedules)
    {
        var outcome = TaskStateMachine.Evaluate(from, Killed, new TaskFacts(false, 1, 0, from == Killing));

        Assert.True(outcome.IsLegal);
        Assert.Equal(reschedules, outcome.Has(TransitionEffects.Reschedule));
        Assert.False(outcome.Has(TransitionEffects.Kill));
    }

    [Theory]
    [InlineData(Assigned, true)]
    [InlineData(Starting, false)]
    [InlineData(Running, false)]
    public void Lost_reschedules_and_kills_only_a_task_that_was_still_assigned(ScheduleStatus from, bool kills)
    {
        var outcome = TaskStateMachine.Evaluate(from, Lost, new TaskFacts(false, 1, 0, false));

        Assert.True(outcome.IsLegal);
        Assert.True(outcome.Has(TransitionEffects.Reschedule));
        Assert.Equal(kills, outcome.Has(TransitionEffects.Kill));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void Partitioned_to_lost_kills_and_reschedules_unless_the_task_was_being_killed(bool historyContainsKilling, bool reschedules)
    {
        var outcome = TaskStateMachine.Evaluate(Partitioned, Lost, new TaskFacts(true, -1, 0, historyContainsKilling));

        Assert.True(outcome.IsLegal);
        Assert.True(outcome.Has(TransitionEffects.Kill));
        Assert.Equal(reschedules, outcome.Has(TransitionEffects.Reschedule));
    }

    [Theory]
    [InlineData(Pending)]
    [InlineData(Throttled)]
    public void Killing_a_task_that_never_ran_deletes_it_without_recording_killing(ScheduleStatus from)
    {
        var outcome = TaskStateMachine.Evaluate(from, Killing, new TaskFacts(true, -1, 0, false));

        Assert.True(outcome.IsLegal);
        Assert.Equal(TransitionEffects.Delete, outcome.Effects);
    }

    [Fact]
    public void A_terminal_task_reported_alive_is_an_illegal_transition_that_asks_for_a_kill()
    {
        foreach (var from in TerminalStatuses)
        {
            foreach (var to in Statuses)
            {
                var outcome = TaskStateMachine.Evaluate(from, to, new TaskFacts(true, -1, 0, false));
                Assert.False(outcome.IsLegal);
                Assert.Equal(to is Assigned or Starting or Running, outcome.Has(TransitionEffects.Kill));
            }
        }
    }

    [Theory]
    [InlineData(Partitioned, Killing)]
    [InlineData(Partitioned, Restarting)]
    [InlineData(Partitioned, Draining)]
    [InlineData(Partitioned, Preempting)]
    [InlineData(Killing, Partitioned)]
    [InlineData(Restarting, Partitioned)]
    [InlineData(Draining, Partitioned)]
    [InlineData(Preempting, Partitioned)]
    public void Acting_on_a_partitioned_task_moves_it_on_to_lost(ScheduleStatus from, ScheduleStatus to)
    {
        var outcome = TaskStateMachine.Evaluate(from, to, new TaskFacts(true, -1, 0, false));

        Assert.True(outcome.IsLegal);
        Assert.True(outcome.Has(TransitionEffects.SaveState | TransitionEffects.TransitionToLost));
        Assert.False(outcome.Has(TransitionEffects.Reschedule));
    }

    [Fact]
    public void Transitions_to_the_same_status_are_illegal()
    {
        foreach (var status in Statuses)
        {
            Assert.False(TaskStateMachine.IsLegal(status, status));
        }
    }

    /// <summary>Aurora's side effects of a legal transition, from the table in aurora-features.md §2.</summary>
    private static TransitionEffects ExpectedEffects(ScheduleStatus from, ScheduleStatus to, TaskFacts facts)
    {
        const TransitionEffects Save = TransitionEffects.SaveState;
        const TransitionEffects Kill = TransitionEffects.Kill;
        const TransitionEffects Reschedule = TransitionEffects.Reschedule;
        const TransitionEffects ToLost = TransitionEffects.TransitionToLost;
        const TransitionEffects None = TransitionEffects.None;

        var failureReschedules = facts.IsService || facts.MaxTaskFailures == -1 || facts.FailureCount < facts.MaxTaskFailures - 1;
        var failed = Save | TransitionEffects.IncrementFailures | (failureReschedules ? Reschedule : None);

        switch (from)
        {
            case Pending or Throttled when to == Killing:
                return TransitionEffects.Delete;
            case Init or Pending or Throttled:
                return Save;
            case Assigned or Starting or Running:
                return to switch
                {
                    Finished => Save | (facts.IsService ? Reschedule : None),
                    Failed => failed,
                    Restarting or Draining or Preempting or Killing => Save | Kill,
                    Killed => Save | Reschedule,
                    Lost => Save | Reschedule | (from == Assigned ? Kill : None),
                    _ => Save,
                };
            case Partitioned:
                return to switch
                {
                    Lost => Save | Kill | (facts.HistoryContainsKilling ? None : Reschedule),
                    Failed => failed,
                    Killing or Restarting or Draining or Preempting => Save | ToLost,
                    _ => Save,
                };
            case Preempting or Restarting or Draining:
                return to switch
                {
                    Finished or Failed or Killed => Save | Reschedule,
                    Lost => Save | Kill | Reschedule,
                    Partitioned => Save | ToLost,
                    _ => Save,
                };
            case Killing:
                return to == Partitioned ? Save | ToLost : Save;
            default:
                throw new InvalidOperationException($"No legal transition from {from}");
        }
    }
}
