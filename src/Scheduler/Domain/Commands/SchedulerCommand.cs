using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Commands;

/// <summary>
/// A request to change the cluster. <see cref="Decide"/> is pure: it validates the command against
/// the projections and returns the events to commit as one transaction, or throws
/// <see cref="CommandRejectedException"/> having changed nothing.
/// </summary>
public abstract record SchedulerCommand
{
    public abstract Decision Decide(SchedulerState state, CommandContext context);

    /// <summary>Aurora's implicit lock: while a job has an active update, nothing else may change it.</summary>
    protected static void AssertNotUpdating(SchedulerState state, JobKey job)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.ActiveUpdateOf(job) is not null)
        {
            throw new CommandRejectedException(ErrorCode.JobUpdating, "Job is currently updating");
        }
    }

    /// <summary>Aurora's validateTaskLimits: instance counts within <c>-max_tasks_per_job</c>.</summary>
    protected static void CheckInstanceLimit(long instanceCount, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (instanceCount < 1 || instanceCount > context.Settings.MaxTasksPerJob)
        {
            throw CommandRejectedException.Invalid($"Instance count must be between 1 and {context.Settings.MaxTasksPerJob} inclusive.");
        }
    }

    protected static TaskRecord RequireTask(SchedulerState state, string taskId)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state.FindTask(taskId) ?? throw new CommandRejectedException(ErrorCode.NotFound, $"Task {taskId} does not exist.");
    }

    protected static string RequireIdentifier(string? value, string what) =>
        JobKeys.IsGoodIdentifier(value) ? value! : throw CommandRejectedException.Invalid($"{what} '{value}' is invalid: it must be {JobKeys.IdentifierRule}.");

    protected static JobKey RequireJobKey(JobKey? job)
    {
        var problem = JobKeys.Problem(job);
        return problem is null ? job! : throw CommandRejectedException.Invalid(problem);
    }
}
