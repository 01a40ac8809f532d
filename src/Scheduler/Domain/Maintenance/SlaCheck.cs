using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Maintenance;

/// <summary>What the SLA says about taking one task out of service now.</summary>
public enum SlaVerdict
{
    /// <summary>The job keeps its SLA without the task.</summary>
    Satisfied,

    /// <summary>Taking the task out now would break the job's SLA.</summary>
    Violated,

    /// <summary>No check: the job has fewer active instances than <c>-min_required_instances_for_sla_check</c>.</summary>
    SkippedTooFewInstances,

    /// <summary>No check: the task is not production (Aurora's default without <c>-sla_aware_kill_non_prod</c>).</summary>
    SkippedNonProduction,

    /// <summary>A coordinator policy: only its HTTP coordinator could allow it, and the domain does no I/O.</summary>
    NeedsCoordinator,
}

/// <summary>
/// Aurora's SlaManager checks for percentage and count policies: after the task leaves, enough of
/// the job's other tasks must have been RUNNING for at least the policy's duration.
/// </summary>
public static class SlaCheck
{
    /// <summary>Evaluates <paramref name="policy"/> for taking <paramref name="task"/> out, as of the decision so far.</summary>
    public static SlaVerdict Evaluate(DecisionBuilder decision, TaskRecord task, SlaPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.KindCase == SlaPolicy.KindOneofCase.Coordinator)
        {
            return SlaVerdict.NeedsCoordinator;
        }

        if (!task.Config.Production)
        {
            return SlaVerdict.SkippedNonProduction;
        }

        var jobTasks = decision.State.TasksOf(task.Job);
        var active = jobTasks.Count(decision.IsActive);
        if (active < decision.Context.Settings.MinRequiredInstancesForSlaCheck)
        {
            return SlaVerdict.SkippedTooFewInstances;
        }

        var durationSecs = policy.KindCase switch
        {
            SlaPolicy.KindOneofCase.Percentage => policy.Percentage.DurationSecs,
            SlaPolicy.KindOneofCase.Count => policy.Count.DurationSecs,
            _ => throw new ArgumentException("An SLA policy must be a percentage, count or coordinator policy.", nameof(policy)),
        };
        var runningSince = decision.Context.NowMicros - durationSecs * 1_000_000;
        var running = jobTasks.Count(t => !ReferenceEquals(t, task) && decision.StatusOf(t) == ScheduleStatus.Running && LatestRunning(t) <= runningSince);
        return MeetsInstances(policy, running, active) ? SlaVerdict.Satisfied : SlaVerdict.Violated;
    }

    /// <summary>
    /// Aurora's meetsSLAInstances: a policy that would allow no instance at all out of service is
    /// relaxed to allow exactly one, so that maintenance can always make progress.
    /// </summary>
    private static bool MeetsInstances(SlaPolicy policy, long running, long total)
    {
        if (policy.KindCase == SlaPolicy.KindOneofCase.Percentage)
        {
            var required = policy.Percentage.Percentage;
            if ((long)((1 - required / 100.0) * total) < 1)
            {
                required = (total - 1) / (double)total * 100;
            }

            return running / (double)total * 100 >= required;
        }

        var count = policy.Count.Count;
        if (total - count < 1)
        {
            count = total - 1;
        }

        return running >= count;
    }

    private static long LatestRunning(TaskRecord task)
    {
        var events = task.Events;
        for (var i = events.Length - 1; i >= 0; i--)
        {
            if (events[i].Status == ScheduleStatus.Running)
            {
                return events[i].TimeMicros;
            }
        }

        return long.MaxValue;
    }
}
