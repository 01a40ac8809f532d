using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Commands;

/// <summary>
/// Aurora's TaskHistoryPruner, run periodically: terminal tasks older than
/// <c>-history_prune_threshold</c> go, and per job only the newest <c>-history_max_per_job_threshold</c>
/// terminal tasks stay; nothing younger than <c>-history_min_retention_threshold</c> is pruned.
/// </summary>
public sealed record PruneTaskHistory : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        var settings = context.Settings;
        var now = context.NowMicros;
        var minRetention = Micros.Of(settings.HistoryMinRetentionThreshold);
        var maxAge = Micros.Of(settings.HistoryPruneThreshold);
        var pruned = new List<string>();
        foreach (var job in state.JobKeys.OrderBy(j => j.Canonical(), StringComparer.Ordinal))
        {
            var terminal = state.TasksOf(job).Where(t => t.IsTerminal)
                .OrderByDescending(t => t.LatestEvent.TimeMicros).ThenBy(t => t.TaskId, StringComparer.Ordinal).ToList();
            for (var i = 0; i < terminal.Count; i++)
            {
                var age = now - terminal[i].LatestEvent.TimeMicros;
                if (age >= minRetention && (age >= maxAge || i >= settings.HistoryMaxPerJobThreshold))
                {
                    pruned.Add(terminal[i].TaskId);
                }
            }
        }

        if (pruned.Count == 0)
        {
            return Decision.Nothing();
        }

        var decision = new DecisionBuilder(state, context);
        var e = new TasksPruned { Reason = "Task history pruned" };
        e.TaskIds.AddRange(pruned.Order(StringComparer.Ordinal));
        decision.Add(new Event { TasksPruned = e });
        return decision.Build();
    }
}

/// <summary>
/// Aurora's JobUpdateHistoryPruner: terminal updates older than
/// <c>-job_update_history_pruning_threshold</c>, updates of jobs that no longer exist, and all but
/// the newest <c>-job_update_history_per_job_threshold</c> terminal updates per job are removed.
/// </summary>
public sealed record PruneJobUpdateHistory : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        var settings = context.Settings;
        var oldest = context.NowMicros - Micros.Of(settings.JobUpdateHistoryPruningThreshold);
        var pruned = new List<JobUpdateKey>();
        foreach (var group in state.Updates.Where(u => !u.IsActive).GroupBy(u => u.Job))
        {
            var orphan = !state.JobExists(group.Key);
            var newestFirst = group.OrderByDescending(u => u.CreatedMicros).ThenBy(u => u.Key.Id, StringComparer.Ordinal).ToList();
            for (var i = 0; i < newestFirst.Count; i++)
            {
                if (orphan || newestFirst[i].CreatedMicros < oldest || i >= settings.JobUpdateHistoryPerJobThreshold)
                {
                    pruned.Add(newestFirst[i].Key);
                }
            }
        }

        if (pruned.Count == 0)
        {
            return Decision.Nothing();
        }

        var decision = new DecisionBuilder(state, context);
        var e = new JobUpdatesPruned { Reason = "Job update history pruned" };
        e.Keys.AddRange(pruned.OrderBy(k => k.Job.Canonical(), StringComparer.Ordinal).ThenBy(k => k.Id, StringComparer.Ordinal));
        decision.Add(new Event { JobUpdatesPruned = e });
        return decision.Build();
    }
}
