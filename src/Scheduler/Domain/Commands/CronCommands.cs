using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Validation;

namespace Aurora.Scheduler.Commands;

/// <summary>
/// Aurora's scheduleCronJob (and, with <see cref="MustExist"/>, replaceCronTemplate): stores or
/// replaces a cron job's template without running it.
/// </summary>
public sealed record ScheduleCronJob(JobConfiguration Config, bool MustExist = false) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(Config);
        var config = ConfigurationValidator.ValidateJob(Config, context.Settings);
        if (config.CronSchedule.Length == 0)
        {
            throw CommandRejectedException.Invalid($"Job {config.Key.Canonical()} has no cron schedule");
        }

        AssertNotUpdating(state, config.Key);
        var existing = state.FindCronJob(config.Key);
        if (existing is null && MustExist)
        {
            throw CommandRejectedException.Invalid($"No cron job found for {config.Key.Canonical()}.");
        }

        if (existing is null && state.ActiveInstances(config.Key).Count > 0)
        {
            throw CommandRejectedException.Invalid($"Job {config.Key.Canonical()} already exists");
        }

        CheckInstanceLimit(config.InstanceCount, context);
        QuotaCalculator.CheckForecast(state, new CronForecast(config.Key, config), config.Task);
        var decision = new DecisionBuilder(state, context);
        decision.Add(existing is null
            ? new Event { CronJobScheduled = new CronJobScheduled { Config = config } }
            : new Event { JobConfigReplaced = new JobConfigReplaced { Config = config } });
        return decision.Build();
    }
}

/// <summary>Aurora's descheduleCronJob: removes the template; running tasks are left alone.</summary>
public sealed record DescheduleCronJob(JobKey Job) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        RequireJobKey(Job);
        AssertNotUpdating(state, Job);
        if (state.FindCronJob(Job) is null)
        {
            return Decision.Nothing($"Job {Job.Canonical()} is not scheduled with cron");
        }

        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event { CronJobDescheduled = new CronJobDescheduled { Job = Job } });
        return decision.Build();
    }
}

/// <summary>
/// A cron run, scheduled (principal <c>cron</c>) or manual (Aurora's startCronJob), with the job's
/// collision policy: KILL_EXISTING kills the previous run and launches once it is gone;
/// CANCEL_NEW skips the run while the previous one is active.
/// </summary>
public sealed record TriggerCronJob(JobKey Job) : SchedulerCommand
{
    public const string KillAuditMessage = "Killed by cronScheduler";

    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        RequireJobKey(Job);
        var cron = state.FindCronJob(Job)
            ?? throw CommandRejectedException.Invalid($"Failed to start cron job - No cron job found for {Job.Canonical()}.");
        var decision = new DecisionBuilder(state, context);
        var active = state.ActiveInstances(Job);
        CronTriggerOutcome outcome;
        if (cron.LaunchPending)
        {
            outcome = CronTriggerOutcome.IgnoredLaunchPending;
        }
        else if (active.Count == 0)
        {
            outcome = CronTriggerOutcome.Launched;
        }
        else
        {
            outcome = cron.Config.CronCollisionPolicy == CronCollisionPolicy.CancelNew
                ? CronTriggerOutcome.Skipped
                : CronTriggerOutcome.KillingExisting;
        }

        decision.Add(new Event { CronJobTriggered = new CronJobTriggered { Job = Job, Outcome = outcome } });
        switch (outcome)
        {
            case CronTriggerOutcome.Launched:
                decision.CreateTasks(cron.Config.Task, Enumerable.Range(0, cron.Config.InstanceCount));
                break;
            case CronTriggerOutcome.KillingExisting:
                decision.MarkCronLaunchPending(Job);
                foreach (var task in active.Values)
                {
                    decision.TryChangeState(task, ScheduleStatus.Killing, KillAuditMessage);
                }

                break;
        }

        return decision.Build(ProtoNames.Of(outcome));
    }
}
