using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Maintenance;

/// <summary>
/// One round of Aurora's maintenance controller for SLA-aware drains (<c>slaDrainHosts</c>): on every
/// DRAINING host whose drain request has a default SLA policy, moves each task to DRAINING when its
/// job's SLA allows (the task's own <c>sla_policy</c>, else the request's default), and every
/// remaining task once the request's timeout has passed. The value is the number of tasks moved.
/// </summary>
/// <remarks>
/// <para>Who calls it: the scheduler's cluster loop, on each step while a DRAINING host has a request
/// with a default policy; a step follows every commit and at least every 250 ms (Aurora polls every
/// <c>-host_maintenance_polling_interval</c>, 1 minute; there is no such flag here). Pure: the time is
/// <see cref="CommandContext.Now"/>.</para>
/// <para>At most one task per job is moved on SLA grounds per round: the drained task's replacement
/// must run for the policy's duration before it counts, so the next one waits for a later round.
/// Tasks whose job needs no check (too few instances, not production) and forced drains are not
/// limited. A coordinator policy is never satisfied here (the domain does no HTTP): such tasks
/// leave at the timeout. Forced drains (no policy) are ChangeHostMaintenance's.</para>
/// </remarks>
public sealed record DrainHostsWithSla : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        var decision = new DecisionBuilder(state, context);
        var jobsMoved = new HashSet<JobKey>();
        var moved = 0;
        var hosts = state.Hosts
            .Where(h => h.Mode == MaintenanceMode.Draining && h.Request?.DefaultSlaPolicy is not null)
            .OrderBy(h => h.Host, StringComparer.Ordinal)
            .ToList();
        foreach (var host in hosts)
        {
            var request = host.Request!;
            var forced = context.NowMicros >= request.CreatedMicros + request.TimeoutSecs * 1_000_000;
            var tasks = state.TasksOnHost(host.Host).OrderBy(t => t.TaskId, StringComparer.Ordinal).ToList();
            foreach (var task in tasks)
            {
                var status = decision.StatusOf(task);
                if (!TaskStatuses.IsAgentAssigned(status) || status is ScheduleStatus.Draining or ScheduleStatus.Killing)
                {
                    continue;
                }

                if (!forced)
                {
                    if (jobsMoved.Contains(task.Job))
                    {
                        continue;
                    }

                    var verdict = SlaCheck.Evaluate(decision, task, task.Config.SlaPolicy ?? request.DefaultSlaPolicy);
                    if (verdict is SlaVerdict.Violated or SlaVerdict.NeedsCoordinator)
                    {
                        continue;
                    }

                    if (verdict == SlaVerdict.Satisfied)
                    {
                        jobsMoved.Add(task.Job);
                    }
                }

                if (decision.TryChangeState(task, ScheduleStatus.Draining, ChangeHostMaintenance.DrainingMessage))
                {
                    moved++;
                }
            }

            // Aurora's controller drains a host that has nothing left on it; the last task leaving drains it otherwise.
            if (decision.ModeOf(host.Host) == MaintenanceMode.Draining && tasks.All(t => !TaskStatuses.IsAgentAssigned(decision.StatusOf(t))))
            {
                decision.SetHostMode(host.Host, MaintenanceMode.Drained);
            }
        }

        return decision.Build(value: moved);
    }
}
