using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Placement;

/// <summary>An assignment <see cref="AssignTasks"/> left out, and why.</summary>
public sealed record SkippedAssignment(string TaskId, string Reason);

/// <summary>What <see cref="AssignTasks"/> did: the task ids it assigned, in order, and those it skipped.</summary>
public sealed record AssignmentOutcome(IReadOnlyList<string> Assigned, IReadOnlyList<SkippedAssignment> Skipped);

/// <summary>
/// A planning round's assignments, committed as one transaction of <c>TaskAssigned</c> events.
/// Each is checked again against the state with the same <see cref="PlacementChecker"/> the
/// planner used, in order, each seeing the ones accepted before it: one that has gone stale (the
/// task is no longer PENDING, a veto now applies, the agent is full, a port is taken) is skipped,
/// not fatal. <see cref="Decision.Value"/> is the <see cref="AssignmentOutcome"/>.
/// </summary>
public sealed record AssignTasks(IReadOnlyList<Assignment> Assignments, IReadOnlyList<Offer> Offers) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        if (Assignments is null || Offers is null)
        {
            throw CommandRejectedException.Invalid("AssignTasks needs a list of assignments and the offers they were planned on.");
        }

        var offerProblem = PlacementChecker.ProblemWith(Offers);
        if (offerProblem is not null)
        {
            throw CommandRejectedException.Invalid(offerProblem);
        }

        var checker = new PlacementChecker(state, Offers, context.Settings);
        var decision = new DecisionBuilder(state, context);
        var assigned = new List<string>();
        var skipped = new List<SkippedAssignment>();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var assignment in Assignments)
        {
            if (assignment is null)
            {
                throw CommandRejectedException.Invalid("An assignment is missing (null).");
            }

            var task = state.FindTask(assignment.TaskId);
            var problem = task is null ? $"Task {assignment.TaskId} does not exist."
                : checker.Problem(task, assignment, taken.Contains(task.TaskId) ? ScheduleStatus.Assigned : task.Status);
            if (problem is not null)
            {
                skipped.Add(new SkippedAssignment(assignment.TaskId, problem));
                continue;
            }

            checker.Record(task!.Config, checker.IndexOf(assignment.AgentId), assignment.Ports);
            taken.Add(task.TaskId);
            assigned.Add(task.TaskId);
            var e = new TaskAssigned { TaskId = task.TaskId, AgentId = assignment.AgentId, Host = assignment.Host };
            e.Ports.AddRange(assignment.Ports);
            decision.Add(new Event { TaskAssigned = e });
        }

        return decision.Build(value: new AssignmentOutcome(assigned, skipped));
    }
}

/// <summary>
/// Commits a <see cref="PreemptionProposal"/>: the victims move to PREEMPTING ("Preempting in favor
/// of ...") and are killed; they are rescheduled when they end. Refused when the proposal is stale:
/// the preemptor is no longer PENDING, or a victim is no longer running on that agent or may no
/// longer be preempted by it.
/// </summary>
public sealed record PreemptTasks(PreemptionProposal Proposal) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        if (Proposal is null || string.IsNullOrEmpty(Proposal.PreemptorTaskId) || string.IsNullOrEmpty(Proposal.AgentId)
            || Proposal.VictimTaskIds is null || Proposal.VictimTaskIds.Count == 0)
        {
            throw CommandRejectedException.Invalid("A preemption needs the preempting task, the agent and at least one victim.");
        }

        if (!context.Settings.EnablePreemptor)
        {
            throw CommandRejectedException.Invalid("Preemption is disabled (-enable_preemptor=false).");
        }

        var preemptor = RequireTask(state, Proposal.PreemptorTaskId);
        if (preemptor.Status != ScheduleStatus.Pending)
        {
            throw CommandRejectedException.Invalid(
                $"Task {preemptor.TaskId} is {Model.TaskStatuses.Name(preemptor.Status)}; only a PENDING task preempts.");
        }

        if (Proposal.VictimTaskIds.Distinct(StringComparer.Ordinal).Count() != Proposal.VictimTaskIds.Count)
        {
            throw CommandRejectedException.Invalid("A victim is named twice.");
        }

        var decision = new DecisionBuilder(state, context);
        var message = $"Preempting in favor of {preemptor.TaskId}";
        foreach (var victimId in Proposal.VictimTaskIds)
        {
            var victim = RequireTask(state, victimId);
            if (!string.Equals(victim.AgentId, Proposal.AgentId, StringComparison.Ordinal) || !Preemptor.IsPreemptibleStatus(victim.Status))
            {
                throw CommandRejectedException.Invalid(
                    $"Task {victim.TaskId} is {Model.TaskStatuses.Name(victim.Status)} on agent {victim.AgentId ?? "none"}, not running on agent {Proposal.AgentId}.");
            }

            if (!TaskTiers.MayPreempt(preemptor.Config, victim.Config, context.Settings))
            {
                throw CommandRejectedException.Invalid($"Task {preemptor.TaskId} may not preempt task {victim.TaskId}.");
            }

            if (!decision.TryChangeState(victim, ScheduleStatus.Preempting, message))
            {
                throw CommandRejectedException.Invalid($"Task {victim.TaskId} cannot move to PREEMPTING.");
            }
        }

        return decision.Build();
    }
}
