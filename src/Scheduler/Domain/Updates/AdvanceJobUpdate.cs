using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Updates;

/// <summary>
/// One step of the update engine (Aurora's JobUpdateController, OneWayJobUpdater and
/// InstanceUpdater): kills instances running the wrong configuration, creates their replacements,
/// records each instance's progress, and moves the update on (ROLLED_FORWARD, ROLLING_BACK,
/// FAILED, an automatic pause, awaiting a pulse). The value is an <see cref="UpdateProgress"/>.
/// </summary>
/// <remarks>
/// <para>The step is a pure function of the state, the update's record (instructions, status
/// history, the instance events already logged) and <see cref="CommandContext.Now"/>. The engine
/// keeps no memory between steps, so a scheduler that restarts mid-update resumes from the log.
/// A step taken twice with nothing changed in between decides nothing the second time.</para>
/// <para>Who calls it: the scheduler's update driver, for every active update, on a timer (at the
/// latest at <see cref="UpdateProgress.NextEvaluationMicros"/>) and after any task change of the
/// update's job. Only ROLLING_FORWARD and ROLLING_BACK updates act; any other status decides
/// nothing.</para>
/// </remarks>
/// <param name="Key">The update.</param>
/// <param name="LastPulseMicros">
/// For a coordinated update (<c>block_if_no_pulses_after_ms</c> &gt; 0): when the driver, which
/// keeps pulses in memory as Aurora does, last received one; null when it has none (e.g. after a
/// restart). An update whose last pulse is older than its window moves to *_AWAITING_PULSE.
/// </param>
public sealed record AdvanceJobUpdate(JobUpdateKey Key, long? LastPulseMicros = null) : SchedulerCommand
{
    /// <summary>Aurora's message for a coordinated update whose pulses stopped.</summary>
    public const string PulseTimeoutMessage = "Pulses from external service have timed out.";

    /// <summary>Aurora's message for the pause after a batch (<c>autopause_after_batch</c>).</summary>
    public const string AutoPauseMessage = "Update auto paused";

    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        if (Key?.Job is null || string.IsNullOrEmpty(Key.Id))
        {
            throw CommandRejectedException.Invalid("A job update key needs a job and an id.");
        }

        var update = ChangeJobUpdate.RequireUpdate(state, Key, "Update does not exist ");
        if (update.Status is not (JobUpdateStatus.RollingForward or JobUpdateStatus.RollingBack))
        {
            return Decision.Nothing(value: new UpdateProgress(update.Status, null));
        }

        return new UpdateEngine(new DecisionBuilder(state, context), update).Step(LastPulseMicros);
    }

    /// <summary>The message of a task the engine kills because it runs the wrong configuration.</summary>
    public static string KillMessage(JobUpdateKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return $"Killed for job update {key.Id}";
    }
}
