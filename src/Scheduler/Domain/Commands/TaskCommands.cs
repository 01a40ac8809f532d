using Aurora.Scheduler.Model;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Commands;

/// <summary>
/// Placement of one PENDING task on an agent's host with concrete ports. With the agent's
/// <see cref="Offer"/>, it is checked exactly as <see cref="AssignTasks"/> checks each of its
/// assignments (vetoes, resources, ports within the offer's ranges and free); without one, only
/// what needs no offer: the vetoes and the named ports.
/// </summary>
public sealed record AssignTask(string TaskId, string AgentId, string Host, IReadOnlyList<AssignedPort> Ports, Offer? Offer = null) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        var task = RequireTask(state, TaskId);
        IReadOnlyList<Offer> offers = Offer is null ? [] : [Offer];
        var offerProblem = PlacementChecker.ProblemWith(offers);
        if (offerProblem is not null)
        {
            throw CommandRejectedException.Invalid(offerProblem);
        }

        var checker = new PlacementChecker(state, offers, context.Settings);
        var problem = Offer is null
            ? checker.ProblemWithoutOffer(task, AgentId, Host, Ports, task.Status)
            : checker.Problem(task, new Assignment(TaskId, AgentId, Host, Ports), task.Status);
        if (problem is not null)
        {
            throw CommandRejectedException.Invalid(problem);
        }

        var assigned = new TaskAssigned { TaskId = TaskId, AgentId = AgentId, Host = Host };
        assigned.Ports.AddRange(Ports);
        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event { TaskAssigned = assigned });
        return decision.Build();
    }
}

/// <summary>A task changes status (an agent's report, a timeout, the throttler). Illegal transitions are refused with the reason.</summary>
public sealed record ChangeTaskState(string TaskId, ScheduleStatus To, string? Message = null, string? Host = null) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        var decision = new DecisionBuilder(state, context);
        decision.ChangeState(RequireTask(state, TaskId), To, Message, Host);
        return decision.Build();
    }
}

/// <summary>Aurora's forceTaskState (admin): a transition the state machine allows, audited as forced.</summary>
public sealed record ForceTaskState(string TaskId, ScheduleStatus To) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var decision = new DecisionBuilder(state, context);
        decision.ChangeState(RequireTask(state, TaskId), To, $"Transition forced by {context.Principal}");
        return decision.Build();
    }
}

/// <summary>Aurora's pruneTasks (admin): removes terminal tasks from the store.</summary>
public sealed record PruneTasks(IReadOnlyCollection<string> TaskIds) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(TaskIds);
        var tasks = TaskIds.Distinct(StringComparer.Ordinal).Select(id => RequireTask(state, id)).ToList();
        if (tasks.Any(t => !t.IsTerminal))
        {
            throw CommandRejectedException.Invalid("Tasks in non-terminal state cannot be pruned.");
        }

        if (tasks.Count == 0)
        {
            return Decision.Nothing();
        }

        var pruned = new TasksPruned { Reason = $"Pruned by {context.Principal}" };
        pruned.TaskIds.AddRange(tasks.Select(t => t.TaskId).Order(StringComparer.Ordinal));
        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event { TasksPruned = pruned });
        return decision.Build();
    }
}
