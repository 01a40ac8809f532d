using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Model;

/// <summary>What a task transition sets in motion, besides recording it.</summary>
[Flags]
public enum TransitionEffects
{
    None = 0,

    /// <summary>Record the new status (a <c>TaskStateChanged</c> event).</summary>
    SaveState = 1,

    /// <summary>Ask the agent to kill the task.</summary>
    Kill = 2,

    /// <summary>Create the instance's next generation.</summary>
    Reschedule = 4,

    /// <summary>Count a failure (carried to the next generation).</summary>
    IncrementFailures = 8,

    /// <summary>Remove the task from the store at once (killing a task that never ran).</summary>
    Delete = 16,

    /// <summary>After saving the new status, move the task on to LOST: its agent is unreachable.</summary>
    TransitionToLost = 32,
}

/// <summary>What the state machine needs to know about the task beyond its status.</summary>
public readonly record struct TaskFacts(bool IsService, int MaxTaskFailures, int FailureCount, bool HistoryContainsKilling);

/// <summary>The verdict on one requested transition.</summary>
public readonly record struct TransitionOutcome(bool IsLegal, TransitionEffects Effects)
{
    public bool Has(TransitionEffects effect) => (Effects & effect) == effect;
}

/// <summary>
/// Aurora's task state machine (<c>TaskStateMachine.java</c>): the legal transitions and their side
/// effects. Pure; decisions use it to build events, and Apply uses it to refuse a logged transition
/// that could not have been decided.
/// </summary>
public static class TaskStateMachine
{
    public static TransitionOutcome Evaluate(ScheduleStatus from, ScheduleStatus to, TaskFacts facts)
    {
        const TransitionEffects Save = TransitionEffects.SaveState;
        const TransitionEffects Kill = TransitionEffects.Kill;
        const TransitionEffects Reschedule = TransitionEffects.Reschedule;
        const TransitionEffects ToLost = TransitionEffects.TransitionToLost;

        TransitionOutcome Legal(TransitionEffects effects) => new(true, effects);
        TransitionOutcome Illegal(TransitionEffects effects = TransitionEffects.None) => new(false, effects);
        TransitionEffects FinishedEffects() => Save | (facts.IsService ? Reschedule : 0);
        TransitionEffects FailedEffects() => Save | TransitionEffects.IncrementFailures | (ShouldRescheduleFailure(facts) ? Reschedule : 0);

        if (from == to)
        {
            return Illegal();
        }

        switch (from)
        {
            case ScheduleStatus.Init:
                return to is ScheduleStatus.Pending or ScheduleStatus.Throttled ? Legal(Save) : Illegal();

            case ScheduleStatus.Pending:
                return to switch
                {
                    ScheduleStatus.Assigned => Legal(Save),
                    ScheduleStatus.Killing => Legal(TransitionEffects.Delete),
                    _ => Illegal(),
                };

            case ScheduleStatus.Throttled:
                return to switch
                {
                    ScheduleStatus.Pending => Legal(Save),
                    ScheduleStatus.Killing => Legal(TransitionEffects.Delete),
                    _ => Illegal(),
                };

            case ScheduleStatus.Assigned:
            case ScheduleStatus.Starting:
            case ScheduleStatus.Running:
                return to switch
                {
                    ScheduleStatus.Starting when from == ScheduleStatus.Assigned => Legal(Save),
                    ScheduleStatus.Running => Legal(Save),
                    ScheduleStatus.Finished => Legal(FinishedEffects()),
                    ScheduleStatus.Failed => Legal(FailedEffects()),
                    ScheduleStatus.Restarting or ScheduleStatus.Draining or ScheduleStatus.Preempting or ScheduleStatus.Killing => Legal(Save | Kill),
                    ScheduleStatus.Killed => Legal(Save | Reschedule),
                    ScheduleStatus.Lost => Legal(Save | Reschedule | (from == ScheduleStatus.Assigned ? Kill : 0)),
                    ScheduleStatus.Partitioned when from != ScheduleStatus.Assigned => Legal(Save),
                    _ => Illegal(),
                };

            case ScheduleStatus.Partitioned:
                return to switch
                {
                    ScheduleStatus.Lost => Legal(Save | Kill | (facts.HistoryContainsKilling ? 0 : Reschedule)),
                    ScheduleStatus.Failed => Legal(FailedEffects()),
                    ScheduleStatus.Finished or ScheduleStatus.Running or ScheduleStatus.Assigned or ScheduleStatus.Starting => Legal(Save),
                    ScheduleStatus.Killing or ScheduleStatus.Restarting or ScheduleStatus.Draining or ScheduleStatus.Preempting => Legal(Save | ToLost),
                    _ => Illegal(),
                };

            case ScheduleStatus.Preempting:
            case ScheduleStatus.Restarting:
            case ScheduleStatus.Draining:
                return to switch
                {
                    ScheduleStatus.Finished or ScheduleStatus.Failed or ScheduleStatus.Killed => Legal(Save | Reschedule),
                    // The kill was already sent on entering this state.
                    ScheduleStatus.Killing => Legal(Save),
                    ScheduleStatus.Lost => Legal(Save | Kill | Reschedule),
                    ScheduleStatus.Partitioned => Legal(Save | ToLost),
                    _ => Illegal(),
                };

            case ScheduleStatus.Killing:
                return to switch
                {
                    ScheduleStatus.Finished or ScheduleStatus.Failed or ScheduleStatus.Killed or ScheduleStatus.Lost => Legal(Save),
                    ScheduleStatus.Partitioned => Legal(Save | ToLost),
                    _ => Illegal(),
                };

            case ScheduleStatus.Finished:
            case ScheduleStatus.Failed:
            case ScheduleStatus.Killed:
            case ScheduleStatus.Lost:
                // A terminal task that reports itself alive is a zombie: kill it, record nothing.
                return Illegal(to is ScheduleStatus.Assigned or ScheduleStatus.Starting or ScheduleStatus.Running ? Kill : 0);

            default:
                return Illegal();
        }
    }

    /// <summary>Whether <paramref name="from"/> -> <paramref name="to"/> is ever legal (for some task).</summary>
    public static bool IsLegal(ScheduleStatus from, ScheduleStatus to) =>
        Evaluate(from, to, new TaskFacts(IsService: true, MaxTaskFailures: -1, FailureCount: 0, HistoryContainsKilling: false)).IsLegal;

    /// <summary>
    /// Aurora's failure limit: a failed task is rescheduled if it is a service, if failures are
    /// unlimited (-1), or while its failure count (before this failure) is below max - 1, so a
    /// non-service job with max_task_failures = N runs at most N times.
    /// </summary>
    public static bool ShouldRescheduleFailure(TaskFacts facts) =>
        facts.IsService || facts.MaxTaskFailures == -1 || facts.FailureCount < facts.MaxTaskFailures - 1;
}
