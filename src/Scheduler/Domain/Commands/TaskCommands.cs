using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Validation;

namespace Aurora.Scheduler.Commands;

/// <summary>Placement: a PENDING task goes to an agent's host with concrete ports.</summary>
public sealed record AssignTask(string TaskId, string AgentId, string Host, IReadOnlyList<AssignedPort> Ports) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        var task = RequireTask(state, TaskId);
        if (task.Status != ScheduleStatus.Pending)
        {
            throw CommandRejectedException.Invalid($"Task {TaskId} is {TaskStatuses.Name(task.Status)}; only PENDING tasks can be assigned.");
        }

        if (string.IsNullOrEmpty(Host) || string.IsNullOrEmpty(AgentId))
        {
            throw CommandRejectedException.Invalid("An assignment needs an agent id and a host.");
        }

        var veto = PlacementFilter.Veto(state, task.Config, Host);
        if (veto is not null)
        {
            throw CommandRejectedException.Invalid($"Task {TaskId} cannot run on {Host}: {veto}");
        }

        var requested = task.Config.Resources.NamedPorts;
        if (Ports.Count != requested.Count || requested.Any(name => Ports.Count(p => p.Name == name) != 1))
        {
            throw CommandRejectedException.Invalid($"Task {TaskId} needs exactly the ports [{string.Join(", ", requested)}].");
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
