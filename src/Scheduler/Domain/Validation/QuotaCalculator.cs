using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Validation;

/// <summary>A role's resource consumption in Aurora's four buckets: production or not, dedicated or shared.</summary>
public sealed record QuotaUsage(Resources ProdShared, Resources NonProdShared, Resources ProdDedicated, Resources NonProdDedicated)
{
    public static QuotaUsage Empty { get; } = new(new Resources(), new Resources(), new Resources(), new Resources());
}

/// <summary>A job's configuration as a command would leave it, for forecasting consumption.</summary>
public abstract record JobForecast(JobKey Job);

/// <summary>The job with this update active (replacing its current active update, if any).</summary>
public sealed record UpdateForecast(JobKey Job, JobUpdateInstructions Instructions) : JobForecast(Job);

/// <summary>The job with this cron template (replacing its current one, if any).</summary>
public sealed record CronForecast(JobKey Job, JobConfiguration Template) : JobForecast(Job);

/// <summary>
/// Aurora's <c>QuotaManager</c>: what a role consumes, and whether a command keeps its production,
/// non-dedicated consumption (the only bucket enforced) within its quota.
/// </summary>
/// <remarks>
/// Consumption per job: the resources of its active tasks; for a job with an active update, the
/// instances it touches count at the larger of the old and the new configuration, per resource; for
/// a cron job, the larger of the template times its instances and its active tasks.
/// </remarks>
public static class QuotaCalculator
{
    public static QuotaUsage Consumption(SchedulerState state, string role, JobForecast? forecast = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var buckets = new Resources[4];
        for (var i = 0; i < buckets.Length; i++)
        {
            buckets[i] = new Resources();
        }

        var jobs = state.JobsOfRole(role).ToHashSet();

        // An update may be creating a job that has no tasks yet; what it reserves counts all the same.
        jobs.UnionWith(state.ActiveUpdates.Select(u => u.Job).Where(job => job.Role == role));
        if (forecast is not null && forecast.Job.Role == role)
        {
            jobs.Add(forecast.Job);
        }

        foreach (var job in jobs)
        {
            AddJob(state, job, forecast?.Job.Equals(job) == true ? forecast : null, buckets);
        }

        return new QuotaUsage(buckets[0], buckets[1], buckets[2], buckets[3]);
    }

    /// <summary>Refuses adding <paramref name="count"/> instances of <paramref name="template"/> beyond the role's quota.</summary>
    public static void CheckAddition(SchedulerState state, TaskConfig template, long count)
    {
        if (!IsEnforced(template))
        {
            return;
        }

        var use = ResourceMath.Add(Consumption(state, template.Job.Role).ProdShared, ResourceMath.Scale(template.Resources, count));
        Check(state, template.Job.Role, use);
    }

    /// <summary>Refuses a job update or cron template whose forecast consumption exceeds the role's quota.</summary>
    public static void CheckForecast(SchedulerState state, JobForecast forecast, TaskConfig newConfig)
    {
        ArgumentNullException.ThrowIfNull(forecast);
        if (!IsEnforced(newConfig))
        {
            return;
        }

        Check(state, forecast.Job.Role, Consumption(state, forecast.Job.Role, forecast).ProdShared);
    }

    /// <summary>Only production tasks without a dedicated constraint count against quota.</summary>
    public static bool IsEnforced(TaskConfig config) => config.Production && !ConfigurationValidator.IsDedicated(config);

    private static void Check(SchedulerState state, string role, Resources use)
    {
        var excess = ResourceMath.Excess(use, state.QuotaOf(role));
        if (excess is not null)
        {
            throw CommandRejectedException.Invalid("Insufficient resource quota: " + excess);
        }
    }

    private static void AddJob(SchedulerState state, JobKey job, JobForecast? forecast, Resources[] buckets)
    {
        var activeTasks = state.TasksOf(job).Where(t => t.IsActive).ToList();
        var cron = forecast is CronForecast c ? c.Template : state.FindCronJob(job)?.Config;
        var update = forecast is UpdateForecast u ? u.Instructions : state.ActiveUpdateOf(job)?.Instructions;
        if (cron is not null)
        {
            var template = Empty();
            AddTo(template, cron.Task, cron.InstanceCount);
            var running = Empty();
            foreach (var task in activeTasks)
            {
                AddTo(running, task.Config, 1);
            }

            for (var i = 0; i < buckets.Length; i++)
            {
                buckets[i] = ResourceMath.Add(buckets[i], ResourceMath.Max(template[i], running[i]));
            }

            return;
        }

        var touched = new HashSet<int>();
        if (update is not null)
        {
            var before = Empty();
            var after = Empty();
            foreach (var group in update.InitialState)
            {
                var instances = Ranges.Expand(group.Instances);
                touched.UnionWith(instances);
                AddTo(before, group.Task, instances.Count);
            }

            if (update.DesiredState is { } desired)
            {
                var instances = Ranges.Expand(desired.Instances);
                touched.UnionWith(instances);
                AddTo(after, desired.Task, instances.Count);
            }

            for (var i = 0; i < buckets.Length; i++)
            {
                buckets[i] = ResourceMath.Add(buckets[i], ResourceMath.Max(before[i], after[i]));
            }
        }

        foreach (var task in activeTasks)
        {
            if (!touched.Contains(task.InstanceId))
            {
                AddTo(buckets, task.Config, 1);
            }
        }
    }

    private static Resources[] Empty() => [new Resources(), new Resources(), new Resources(), new Resources()];

    private static void AddTo(Resources[] buckets, TaskConfig config, long count)
    {
        var index = (config.Production ? 0 : 1) + (ConfigurationValidator.IsDedicated(config) ? 2 : 0);
        buckets[index] = ResourceMath.Add(buckets[index], ResourceMath.Scale(config.Resources, count));
    }
}
