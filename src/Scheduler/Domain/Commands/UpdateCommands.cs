using System.Globalization;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Validation;

namespace Aurora.Scheduler.Commands;

/// <summary>
/// Aurora's startJobUpdate: validates the request in Aurora's order, works out which instances
/// change (initial and desired state), checks quota, and starts the update, which becomes the
/// job's lock. The decision's value is the new <see cref="JobUpdateKey"/>.
/// </summary>
public sealed record StartJobUpdate(JobUpdateRequest Request, string? Message = null) : SchedulerCommand
{
    public const string NoopMessage = "Job is unchanged by proposed update.";

    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(Request);
        if (Request.Task is null)
        {
            throw CommandRejectedException.Invalid("Job configuration must have taskConfig set.");
        }

        if (!Request.Task.IsService)
        {
            throw CommandRejectedException.Invalid("Updates are not supported for non-service tasks.");
        }

        var settings = Request.Settings ?? new JobUpdateSettings();
        ValidateSettings(settings, Request.InstanceCount, Request.Task.SlaPolicy, context);
        var desiredConfig = ConfigurationValidator.ValidateTask(Request.Task, Request.InstanceCount, context.Settings);
        var job = desiredConfig.Job;
        if (state.FindCronJob(job) is not null)
        {
            throw CommandRejectedException.Invalid("Cron jobs may only be created/updated by calling scheduleCronJob.");
        }

        if (Request.InstanceCount <= 0)
        {
            throw CommandRejectedException.Invalid("Instance count must be positive.");
        }

        // Before planning, which enumerates every instance: a count past the limit must cost nothing.
        CheckInstanceLimit(Request.InstanceCount, context);
        var instructions = Plan(state, desiredConfig, settings);
        if (instructions is null)
        {
            return Decision.Nothing(NoopMessage);
        }

        var active = state.ActiveUpdateOf(job);
        if (active is not null)
        {
            throw CommandRejectedException.Invalid(
                "An active update already exists for this job, please terminate it before starting another. "
                + $"Active updates are those in states [{string.Join(", ", JobUpdateStates.Active.Select(s => ProtoNames.Of(s)))}] "
                + $"(update {active.Key.Id} by {active.User} is {ProtoNames.Of(active.Status)}).");
        }

        QuotaCalculator.CheckForecast(state, new UpdateForecast(job, instructions), desiredConfig);
        var key = new JobUpdateKey { Job = job, Id = context.Ids.NewId() };
        var started = new JobUpdateStarted
        {
            Key = key,
            User = context.Principal,
            Instructions = instructions,
            Status = settings.BlockIfNoPulsesAfterMs > 0 ? JobUpdateStatus.RollForwardAwaitingPulse : JobUpdateStatus.RollingForward,
            Message = Message ?? string.Empty,
        };
        started.Metadata.AddRange(Request.Metadata);
        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event { JobUpdateStarted = started });
        return decision.Build(value: key);
    }

    private static void ValidateSettings(JobUpdateSettings settings, int instanceCount, SlaPolicy? taskSlaPolicy, CommandContext context)
    {
        IReadOnlyList<int> groupSizes = settings.Strategy?.KindCase switch
        {
            JobUpdateStrategy.KindOneofCase.Queue => [settings.Strategy.Queue.GroupSize],
            JobUpdateStrategy.KindOneofCase.Batch => [settings.Strategy.Batch.GroupSize],
            JobUpdateStrategy.KindOneofCase.VariableBatch => settings.Strategy.VariableBatch.GroupSizes,
            _ => throw CommandRejectedException.Invalid("Update strategy provided is unknown."),
        };
        if (groupSizes.Any(size => size <= 0))
        {
            throw CommandRejectedException.Invalid("All update group sizes must be positive.");
        }

        if (groupSizes.Sum(size => (long)size) <= 0)
        {
            throw CommandRejectedException.Invalid("Update results in no instance being modified.");
        }

        if (settings.MaxPerInstanceFailures < 0)
        {
            throw CommandRejectedException.Invalid("maxPerInstanceFailures must be non-negative.");
        }

        if (settings.MaxFailedInstances < 0)
        {
            throw CommandRejectedException.Invalid("maxFailedInstances must be non-negative.");
        }

        if ((long)settings.MaxPerInstanceFailures * instanceCount > context.Settings.MaxUpdateInstanceFailures)
        {
            throw CommandRejectedException.Invalid("Your update allows too many failures to occur, consider decreasing the per-instance failures or maxFailedInstances.");
        }

        if (settings.MinWaitInInstanceRunningMs < 0)
        {
            throw CommandRejectedException.Invalid("minWaitInInstanceRunningMs must be non-negative.");
        }

        if (settings.BlockIfNoPulsesAfterMs < 0)
        {
            throw CommandRejectedException.Invalid("blockIfNoPulsesAfterMs must be positive.");
        }

        foreach (var range in settings.UpdateOnlyTheseInstances)
        {
            if (range.First < 0 || range.Last < range.First || range.Last >= context.Settings.MaxTasksPerJob)
            {
                throw CommandRejectedException.Invalid(string.Create(CultureInfo.InvariantCulture,
                    $"updateOnlyTheseInstances: {range.First}-{range.Last} is not a range of instances (first <= last, within 0 and {context.Settings.MaxTasksPerJob - 1}, below -max_tasks_per_job)."));
            }
        }

        if (settings.SlaAware && taskSlaPolicy is null)
        {
            throw CommandRejectedException.Invalid("slaAware is true, but no task slaPolicy is specified.");
        }
    }

    /// <summary>The update's instructions, or null when it would change nothing.</summary>
    private JobUpdateInstructions? Plan(SchedulerState state, TaskConfig desiredConfig, JobUpdateSettings settings)
    {
        var active = state.ActiveInstances(desiredConfig.Job);
        var desired = Enumerable.Range(0, Request.InstanceCount).ToHashSet();
        var relevant = desired.Union(active.Keys).ToHashSet();
        var scope = settings.UpdateOnlyTheseInstances.Count > 0 ? Ranges.Expand(settings.UpdateOnlyTheseInstances) : null;
        if (scope is not null)
        {
            var irrelevant = scope.Where(i => !relevant.Contains(i)).Order().ToList();
            if (irrelevant.Count > 0)
            {
                throw CommandRejectedException.Invalid(
                    "The update request attempted to update specific instances, but some are irrelevant to the update and current job state: "
                    + $"[{string.Join(", ", irrelevant)}]");
            }
        }

        var candidates = (scope ?? relevant).Order().ToList();
        var changed = candidates.Where(i => desired.Contains(i) && !(active.TryGetValue(i, out var task) && task.Config.Equals(desiredConfig))).ToList();
        var removed = candidates.Where(i => !desired.Contains(i) && active.ContainsKey(i)).ToList();
        if (changed.Count == 0 && removed.Count == 0)
        {
            return null;
        }

        var instructions = new JobUpdateInstructions { Settings = settings };
        var replaced = changed.Where(active.ContainsKey).Concat(removed).Order();
        foreach (var group in replaced.GroupBy(i => active[i].Config))
        {
            var initial = new InstanceTaskConfig { Task = group.Key };
            initial.Instances.AddRange(Ranges.Of(group));
            instructions.InitialState.Add(initial);
        }

        if (changed.Count > 0)
        {
            var target = new InstanceTaskConfig { Task = desiredConfig };
            target.Instances.AddRange(Ranges.Of(changed));
            instructions.DesiredState = target;
        }

        return instructions;
    }
}

/// <summary>What a user asks of a running update.</summary>
public enum JobUpdateUserAction
{
    Pause,
    Resume,
    Abort,
    Rollback,
}

/// <summary>
/// Aurora's pauseJobUpdate, resumeJobUpdate, abortJobUpdate and rollbackJobUpdate. Resuming a
/// coordinated update goes back to awaiting a pulse unless <paramref name="PulseFresh"/> says the
/// caller (who tracks pulses in memory, as Aurora does) received one within its timeout.
/// </summary>
public sealed record ChangeJobUpdate(JobUpdateKey Key, JobUpdateUserAction Action, string? Message = null, bool PulseFresh = false) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        var update = RequireUpdate(state, Key, Action == JobUpdateUserAction.Resume ? "Update does not exist: " : "Update does not exist ");
        var from = update.Status;
        var backward = from is JobUpdateStatus.RollingBack or JobUpdateStatus.RollBackPaused or JobUpdateStatus.RollBackAwaitingPulse;
        var awaitPulse = update.Instructions.Settings?.BlockIfNoPulsesAfterMs > 0 && !PulseFresh;
        var to = Action switch
        {
            JobUpdateUserAction.Pause => backward ? JobUpdateStatus.RollBackPaused : JobUpdateStatus.RollForwardPaused,
            JobUpdateUserAction.Resume when awaitPulse => backward ? JobUpdateStatus.RollBackAwaitingPulse : JobUpdateStatus.RollForwardAwaitingPulse,
            JobUpdateUserAction.Resume => backward ? JobUpdateStatus.RollingBack : JobUpdateStatus.RollingForward,
            JobUpdateUserAction.Abort => JobUpdateStatus.Aborted,
            _ => JobUpdateStatus.RollingBack,
        };
        return SetJobUpdateStatus.Transition(state, context, update, to, Message);
    }

    internal static JobUpdateRecord RequireUpdate(SchedulerState state, JobUpdateKey key, string prefix) =>
        state.FindUpdate(key) ?? throw new CommandRejectedException(ErrorCode.NotFound, prefix + Describe(key));

    internal static string Describe(JobUpdateKey key) => $"{key.Job?.Canonical()}/{key.Id}";
}

/// <summary>The update engine moves an update on (ROLLED_FORWARD, FAILED, awaiting a pulse, ...).</summary>
public sealed record SetJobUpdateStatus(JobUpdateKey Key, JobUpdateStatus To, string? Message = null) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context) =>
        Transition(state, context, ChangeJobUpdate.RequireUpdate(state, Key, "Update does not exist "), To, Message);

    internal static Decision Transition(SchedulerState state, CommandContext context, JobUpdateRecord update, JobUpdateStatus to, string? message)
    {
        if (!JobUpdateStates.CanTransition(update.Status, to))
        {
            throw CommandRejectedException.Invalid(JobUpdateStates.CannotTransition(update.Status, to));
        }

        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event
        {
            JobUpdateStateChanged = new JobUpdateStateChanged { Key = update.Key, From = update.Status, To = to, Message = message ?? string.Empty },
        });
        return decision.Build();
    }
}

/// <summary>Aurora's pulseJobUpdate: unblocks a coordinated update waiting for a pulse; the value is "OK", or "FINISHED" once the update is over.</summary>
public sealed record PulseJobUpdate(JobUpdateKey Key) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        var update = ChangeJobUpdate.RequireUpdate(state, Key, "Update does not exist ");
        if (!update.IsActive)
        {
            return Decision.Nothing(value: "FINISHED");
        }

        var to = update.Status switch
        {
            JobUpdateStatus.RollForwardAwaitingPulse => JobUpdateStatus.RollingForward,
            JobUpdateStatus.RollBackAwaitingPulse => JobUpdateStatus.RollingBack,
            _ => JobUpdateStatus.Unspecified,
        };
        return to == JobUpdateStatus.Unspecified
            ? Decision.Nothing(value: "OK")
            : SetJobUpdateStatus.Transition(state, context, update, to, null) with { Value = "OK" };
    }
}

/// <summary>The update engine records what it did to one instance.</summary>
public sealed record RecordInstanceUpdate(JobUpdateKey Key, int InstanceId, Protos.JobUpdateAction Action, string? Message = null) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        var update = ChangeJobUpdate.RequireUpdate(state, Key, "Update does not exist ");
        if (!update.IsActive)
        {
            throw CommandRejectedException.Invalid($"Update {ChangeJobUpdate.Describe(Key)} is {ProtoNames.Of(update.Status)}, no longer active.");
        }

        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event
        {
            JobUpdateInstanceEvent = new JobUpdateInstanceEvent { Key = Key, InstanceId = InstanceId, Action = Action, Message = Message ?? string.Empty },
        });
        return decision.Build();
    }
}
