using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Commands;

/// <summary>
/// Aurora's flapping back-off (<c>RescheduleCalculatorImpl</c>): each consecutive generation of an
/// instance that ran for less than <c>-flapping_task_threshold</c> without being interrupted by
/// the scheduler doubles the delay before the next one may run, from
/// <c>-initial_flapping_task_delay</c> up to <c>-max_flapping_task_delay</c>.
/// </summary>
public static class FlappingPenalty
{
    /// <summary>The penalty for rescheduling <paramref name="task"/>, which terminates at <paramref name="nowMicros"/>.</summary>
    public static TimeSpan Of(SchedulerState state, TaskRecord task, long nowMicros, SchedulerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(settings);
        var penalty = TimeSpan.Zero;
        TaskRecord? current = task;
        var endMicros = nowMicros;
        var visited = 0;
        while (current is not null && Flapped(current, endMicros, settings.FlappingTaskThreshold) && visited++ < 64)
        {
            penalty = penalty == TimeSpan.Zero
                ? settings.InitialFlappingTaskDelay
                : TimeSpan.FromTicks(Math.Min(settings.MaxFlappingTaskDelay.Ticks, penalty.Ticks * 2));
            current = current.AncestorId is null ? null : state.FindTask(current.AncestorId);
            endMicros = current?.LatestEvent.TimeMicros ?? 0;
        }

        return penalty > settings.MaxFlappingTaskDelay ? settings.MaxFlappingTaskDelay : penalty;
    }

    /// <summary>
    /// A generation flapped when it reached RUNNING, was never interrupted by the scheduler
    /// (restart, kill, drain, preemption), and ended less than the threshold after it started running.
    /// </summary>
    private static bool Flapped(TaskRecord task, long endMicros, TimeSpan threshold)
    {
        long? runningSince = null;
        foreach (var e in task.Events)
        {
            switch (e.Status)
            {
                case ScheduleStatus.Restarting:
                case ScheduleStatus.Killing:
                case ScheduleStatus.Draining:
                case ScheduleStatus.Preempting:
                    return false;
                case ScheduleStatus.Running:
                    runningSince ??= e.TimeMicros;
                    break;
            }
        }

        return runningSince is { } start && endMicros - start < threshold.Ticks / TimeSpan.TicksPerMicrosecond;
    }
}
