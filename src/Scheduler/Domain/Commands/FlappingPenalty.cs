using Aurora.Scheduler.Model;
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
    /// <summary>
    /// The penalty for rescheduling <paramref name="task"/>, which terminates at <paramref name="nowMicros"/>;
    /// <paramref name="interruptedNow"/> when the decision moving it on also restarted, killed or drained it.
    /// </summary>
    public static TimeSpan Of(SchedulerState state, TaskRecord task, long nowMicros, SchedulerSettings settings, bool interruptedNow = false)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(settings);
        var penalty = TimeSpan.Zero;
        TaskRecord? current = interruptedNow ? null : task;
        var endMicros = nowMicros;
        for (var generation = 0; current is not null && generation < 64 && Flapped(current, endMicros, settings.FlappingTaskThreshold); generation++)
        {
            penalty = penalty == TimeSpan.Zero
                ? settings.InitialFlappingTaskDelay
                : TimeSpan.FromTicks(Math.Min(settings.MaxFlappingTaskDelay.Ticks, penalty.Ticks * 2));
            current = current.AncestorId is null ? null : state.FindTask(current.AncestorId);
            endMicros = current?.LatestEvent.TimeMicros ?? 0;
        }

        return penalty > settings.MaxFlappingTaskDelay ? settings.MaxFlappingTaskDelay : penalty;
    }

    /// <summary>Aurora's interruptions: a generation the scheduler restarted, killed or drained never flapped.</summary>
    public static bool IsInterruption(ScheduleStatus status) =>
        status is ScheduleStatus.Restarting or ScheduleStatus.Killing or ScheduleStatus.Draining;

    /// <summary>
    /// As Aurora's RescheduleCalculator: a generation flapped when it was never interrupted and ended
    /// less than the threshold after its last active-state event (the one before its terminal event).
    /// </summary>
    private static bool Flapped(TaskRecord task, long endMicros, TimeSpan threshold)
    {
        long? lastActive = null;
        foreach (var e in task.Events)
        {
            if (IsInterruption(e.Status))
            {
                return false;
            }

            if (TaskStatuses.IsActive(e.Status))
            {
                lastActive = e.TimeMicros;
            }
        }

        return lastActive is { } start && endMicros - start < Micros.Of(threshold);
    }
}
