using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Commands;

/// <summary>One step of a task's life as its agent saw it.</summary>
public sealed record ReportedTransition(ScheduleStatus Status, string Message);

/// <summary>A task an agent holds, with the transitions it went through there, oldest first.</summary>
public sealed record ReportedTask(string TaskId, IReadOnlyList<ReportedTransition> History);

/// <summary>An agent's whole inventory: every task it holds, as of one heartbeat.</summary>
public sealed record AgentReport(string AgentId, string Host, IReadOnlyList<ReportedTask> Tasks);

/// <summary>
/// Folds agents' inventories into the task state machine, many agents in one transaction (the
/// status path's group commit). Each reported history is replayed from the task's current status,
/// so transitions missed while a scheduler was failing over are recorded in order; transitions the
/// state machine does not allow from where the task is (a RUNNING report for a task being killed)
/// are skipped. A task the log places on the agent past ASSIGNED that the agent does not hold is
/// LOST, and so is every task of an earlier agent on the same host (its work dir is gone).
/// </summary>
/// <remarks>Launches and kills are not decided here: they follow from the state and the inventory (see the scheduler's agent endpoint).</remarks>
public sealed record ApplyAgentReports(IReadOnlyList<AgentReport> Reports) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(Reports);
        var decision = new DecisionBuilder(state, context);
        foreach (var report in Reports)
        {
            Reconcile(decision, report);
        }

        return decision.Build();
    }

    /// <summary>Whether applying <paramref name="report"/> would change anything: lets the caller skip the log for the common idle heartbeat.</summary>
    public static bool WouldChange(SchedulerState state, AgentReport report)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(report);
        foreach (var reported in report.Tasks)
        {
            var task = state.FindTask(reported.TaskId);
            if (task is null || task.AgentId != report.AgentId || task.IsTerminal)
            {
                continue;
            }

            foreach (var step in reported.History)
            {
                if (step.Status != task.Status && TaskStateMachine.Evaluate(task.Status, step.Status, task.Facts).IsLegal)
                {
                    return true;
                }
            }
        }

        return MissingTasks(state, report, static _ => ScheduleStatus.Unspecified).Any();
    }

    private static void Reconcile(DecisionBuilder decision, AgentReport report)
    {
        foreach (var reported in report.Tasks)
        {
            var task = decision.State.FindTask(reported.TaskId);
            if (task is null || task.AgentId != report.AgentId)
            {
                continue;
            }

            foreach (var step in reported.History)
            {
                var current = decision.StatusOf(task);
                if (TaskStatuses.IsTerminal(current) || current == ScheduleStatus.Unspecified)
                {
                    break;
                }

                if (step.Status != current)
                {
                    decision.TryChangeState(task, step.Status, step.Message, report.Host);
                }
            }
        }

        foreach (var (task, reason) in MissingTasks(decision.State, report, decision.StatusOf).ToList())
        {
            decision.TryChangeState(task, ScheduleStatus.Lost, reason, report.Host);
        }
    }

    /// <summary>Tasks the log holds on the report's host that the agent cannot be running, with why.</summary>
    private static IEnumerable<(TaskRecord Task, string Reason)> MissingTasks(SchedulerState state, AgentReport report, Func<TaskRecord, ScheduleStatus> statusOf)
    {
        HashSet<string>? held = null;
        foreach (var task in state.TasksOnHost(report.Host))
        {
            var status = statusOf(task) is var s && s != ScheduleStatus.Unspecified ? s : task.Status;
            if (!TaskStatuses.IsAgentAssigned(status))
            {
                continue;
            }

            if (task.AgentId != report.AgentId)
            {
                yield return (task, $"Agent {task.AgentId} on {report.Host} was replaced by agent {report.AgentId}; its tasks are gone.");
                continue;
            }

            if (status == ScheduleStatus.Assigned)
            {
                // Not launched yet: the answer to this heartbeat launches it.
                continue;
            }

            held ??= report.Tasks.Select(t => t.TaskId).ToHashSet(StringComparer.Ordinal);
            if (!held.Contains(task.TaskId))
            {
                yield return (task, $"Task is unknown to agent {report.AgentId} on {report.Host}.");
            }
        }
    }
}

/// <summary>An agent stopped heartbeating for longer than the timeout: every task it held is LOST (and rescheduled by the state machine).</summary>
public sealed record MarkAgentLost(string AgentId, string Host, string Reason) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        var decision = new DecisionBuilder(state, context);
        foreach (var task in state.TasksOnHost(Host).Where(t => t.AgentId == AgentId && TaskStatuses.IsAgentAssigned(t.Status)).OrderBy(t => t.TaskId, StringComparer.Ordinal))
        {
            decision.TryChangeState(task, ScheduleStatus.Lost, Reason, Host);
        }

        return decision.Build();
    }
}

/// <summary>THROTTLED tasks whose flapping penalty has passed become PENDING (Aurora's RescheduleCalculator timer, as a command so that it is in the log).</summary>
public sealed record ReleaseThrottledTasks : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        var decision = new DecisionBuilder(state, context);
        foreach (var task in state.TasksIn(ScheduleStatus.Throttled).OrderBy(t => t.TaskId, StringComparer.Ordinal))
        {
            if (task.LatestEvent.TimeMicros + (task.PenaltyMs * 1000) <= context.NowMicros)
            {
                decision.TryChangeState(task, ScheduleStatus.Pending, "Penalty elapsed");
            }
        }

        return decision.Build();
    }

    /// <summary>When the next throttled task may be released, or null when none is throttled.</summary>
    public static long? NextReleaseMicros(SchedulerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        long? next = null;
        foreach (var task in state.TasksIn(ScheduleStatus.Throttled))
        {
            var due = task.LatestEvent.TimeMicros + (task.PenaltyMs * 1000);
            next = next is null ? due : Math.Min(next.Value, due);
        }

        return next;
    }
}

/// <summary>
/// Aurora's -transient_task_state_timeout: a task stuck in ASSIGNED (never launched) or in a
/// kill-requested state (the kill never confirmed) for longer than the timeout is LOST.
/// </summary>
public sealed record TimeOutTransientTasks(TimeSpan Timeout) : SchedulerCommand
{
    private static readonly ScheduleStatus[] Transient =
        [ScheduleStatus.Assigned, ScheduleStatus.Killing, ScheduleStatus.Restarting, ScheduleStatus.Draining, ScheduleStatus.Preempting];

    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        var decision = new DecisionBuilder(state, context);
        var deadline = context.NowMicros - (long)(Timeout.TotalMilliseconds * 1000);
        foreach (var status in Transient)
        {
            foreach (var task in state.TasksIn(status).OrderBy(t => t.TaskId, StringComparer.Ordinal))
            {
                if (task.LatestEvent.TimeMicros <= deadline)
                {
                    decision.TryChangeState(task, ScheduleStatus.Lost, $"Task was in {TaskStatuses.Name(status)} for longer than {Timeout.TotalSeconds:0} s (transient task state timeout).", task.Host);
                }
            }
        }

        return decision.Build();
    }
}
