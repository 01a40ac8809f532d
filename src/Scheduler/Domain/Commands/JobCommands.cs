using System.Globalization;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Validation;

namespace Aurora.Scheduler.Commands;

/// <summary>Aurora's createJob: a service or ad-hoc job and its PENDING tasks.</summary>
public sealed record CreateJob(JobConfiguration Config) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        if (Config.CronSchedule.Length > 0)
        {
            throw CommandRejectedException.Invalid("Cron jobs may only be created/updated by calling scheduleCronJob.");
        }

        var config = ConfigurationValidator.ValidateJob(Config, context.Settings);
        AssertNotUpdating(state, config.Key);
        if (state.FindCronJob(config.Key) is not null || state.ActiveInstances(config.Key).Count > 0)
        {
            throw CommandRejectedException.Invalid($"Job {config.Key.Canonical()} already exists");
        }

        CheckInstanceLimit(config.InstanceCount, context);
        QuotaCalculator.CheckAddition(state, config.Task, config.InstanceCount);
        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event { JobCreated = new JobCreated { Config = config } });
        decision.CreateTasks(config.Task, Enumerable.Range(0, config.InstanceCount));
        return decision.Build();
    }
}

/// <summary>Aurora's killTasks: active tasks of the job (of the given instances, or all) move to KILLING.</summary>
public sealed record KillTasks(JobKey Job, IReadOnlyCollection<int>? Instances = null, string? Message = null) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        RequireJobKey(Job);
        AssertNotUpdating(state, Job);
        var wanted = Instances is { Count: > 0 } ? Instances.ToHashSet() : null;
        var victims = state.ActiveInstances(Job).Values.Where(t => wanted is null || wanted.Contains(t.InstanceId)).ToList();
        if (victims.Count == 0)
        {
            return Decision.Nothing("No tasks to kill.");
        }

        var audit = string.IsNullOrEmpty(Message) ? $"Killed by {context.Principal}" : $"Killed by {context.Principal}.\n{Message}";
        var decision = new DecisionBuilder(state, context);
        var killed = new JobKilled { Job = Job, Message = Message ?? string.Empty };
        killed.Instances.AddRange(victims.Select(t => t.InstanceId));
        decision.Add(new Event { JobKilled = killed });
        foreach (var task in victims)
        {
            decision.TryChangeState(task, ScheduleStatus.Killing, audit);
        }

        return decision.Build();
    }
}

/// <summary>Aurora's restartShards: the given active instances move to RESTARTING (killed, then rescheduled).</summary>
public sealed record RestartInstances(JobKey Job, IReadOnlyCollection<int> Instances) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(Instances);
        RequireJobKey(Job);
        AssertNotUpdating(state, Job);
        var active = state.ActiveInstances(Job);
        if (Instances.Count == 0 || Instances.Any(i => !active.ContainsKey(i)))
        {
            throw CommandRejectedException.Invalid("Not all requested shards are active.");
        }

        var decision = new DecisionBuilder(state, context);
        foreach (var instance in Instances.Order())
        {
            // A task that is not running yet (PENDING, THROTTLED) has nothing to restart.
            decision.TryChangeState(active[instance], ScheduleStatus.Restarting, $"Restarted by {context.Principal}");
        }

        return decision.Build();
    }
}

/// <summary>Aurora's addInstances: <see cref="Count"/> new instances after the current highest, cloned from an existing instance.</summary>
public sealed record AddInstances(JobKey Job, int TemplateInstance, int Count) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        RequireJobKey(Job);
        if (Count <= 0)
        {
            throw CommandRejectedException.Invalid("Instance count must be positive.");
        }

        if (state.FindCronJob(Job) is not null)
        {
            throw CommandRejectedException.Invalid("Instances may not be added to cron jobs.");
        }

        AssertNotUpdating(state, Job);
        var active = state.ActiveInstances(Job);
        if (!active.TryGetValue(TemplateInstance, out var template))
        {
            throw CommandRejectedException.Invalid("No active task found for a given instance ID.");
        }

        CheckInstanceLimit((long)active.Count + Count, context);
        QuotaCalculator.CheckAddition(state, template.Config, Count);
        var first = active.Keys.Max() + 1;
        if ((long)first + Count > context.Settings.MaxTasksPerJob)
        {
            // Instance ids stay below the task limit, which keeps task ids within TaskIds.MaxLength.
            throw CommandRejectedException.Invalid(string.Create(CultureInfo.InvariantCulture,
                $"Adding {Count} instances after instance {first - 1} would create instance {(long)first + Count - 1}, but instance ids must be below the task limit of {context.Settings.MaxTasksPerJob} (-max_tasks_per_job)."));
        }

        var instances = Enumerable.Range(first, Count).ToArray();
        var decision = new DecisionBuilder(state, context);
        var added = new InstancesAdded { Job = Job };
        added.Instances.AddRange(instances);
        decision.Add(new Event { InstancesAdded = added });
        decision.CreateTasks(template.Config, instances);
        return decision.Build();
    }
}
