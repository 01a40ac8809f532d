using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;

namespace Aurora.Scheduler.Placement;

/// <summary>The tier rules placement and preemption need (Aurora's TierManager and PreemptionVictimFilter).</summary>
public static class TaskTiers
{
    /// <summary>The task's tier; a tier unknown to <paramref name="settings"/> (configured away since) falls back to the task's production flag.</summary>
    public static TierInfo Of(TaskConfig config, SchedulerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Tiers.Tiers.TryGetValue(config.Tier, out var tier) ? tier : new TierInfo(Preemptible: !config.Production, Revocable: false);
    }

    /// <summary>
    /// Aurora's preemptionFilter: a task of a non-preemptible tier may preempt any task of a
    /// preemptible tier; within the same preemptibility, only a task of the same role with a strictly
    /// lower priority; a preemptible task never preempts a non-preemptible one.
    /// </summary>
    public static bool MayPreempt(TaskConfig preemptor, TaskConfig victim, SchedulerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(preemptor);
        ArgumentNullException.ThrowIfNull(victim);
        var preemptorIsPreemptible = Of(preemptor, settings).Preemptible;
        var victimIsPreemptible = Of(victim, settings).Preemptible;
        if (!preemptorIsPreemptible && victimIsPreemptible)
        {
            return true;
        }

        return preemptorIsPreemptible == victimIsPreemptible
            && string.Equals(preemptor.Job.Role, victim.Job.Role, StringComparison.Ordinal)
            && preemptor.Priority > victim.Priority;
    }
}
