using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Model;

/// <summary>Aurora's job update state machine (<c>JobUpdateStateMachine.java</c>).</summary>
public static class JobUpdateStates
{
    private static readonly Dictionary<JobUpdateStatus, JobUpdateStatus[]> AllowedTransitions = new()
    {
        [JobUpdateStatus.RollingForward] =
        [
            JobUpdateStatus.RollingBack, JobUpdateStatus.RollForwardPaused, JobUpdateStatus.RollForwardAwaitingPulse,
            JobUpdateStatus.RolledForward, JobUpdateStatus.Aborted, JobUpdateStatus.Failed, JobUpdateStatus.Error,
        ],
        [JobUpdateStatus.RollingBack] =
        [
            JobUpdateStatus.RollBackPaused, JobUpdateStatus.RollBackAwaitingPulse, JobUpdateStatus.RolledBack,
            JobUpdateStatus.Aborted, JobUpdateStatus.Error, JobUpdateStatus.Failed,
        ],
        [JobUpdateStatus.RollForwardPaused] =
        [
            JobUpdateStatus.RollingBack, JobUpdateStatus.RollingForward, JobUpdateStatus.RollForwardAwaitingPulse,
            JobUpdateStatus.Aborted, JobUpdateStatus.Error,
        ],
        [JobUpdateStatus.RollBackPaused] =
        [
            JobUpdateStatus.RollingBack, JobUpdateStatus.RollBackAwaitingPulse, JobUpdateStatus.Aborted, JobUpdateStatus.Error,
        ],
        [JobUpdateStatus.RollForwardAwaitingPulse] =
        [
            JobUpdateStatus.RollingBack, JobUpdateStatus.RollingForward, JobUpdateStatus.RollForwardPaused,
            JobUpdateStatus.Aborted, JobUpdateStatus.Error,
        ],
        [JobUpdateStatus.RollBackAwaitingPulse] =
        [
            JobUpdateStatus.RollingBack, JobUpdateStatus.RollBackPaused, JobUpdateStatus.Aborted, JobUpdateStatus.Error,
        ],
    };

    /// <summary>ACTIVE_JOB_UPDATE_STATES: the update holds its job's lock.</summary>
    public static bool IsActive(JobUpdateStatus status) => AllowedTransitions.ContainsKey(status);

    public static bool IsTerminal(JobUpdateStatus status) => status != JobUpdateStatus.Unspecified && !IsActive(status);

    public static bool CanTransition(JobUpdateStatus from, JobUpdateStatus to) =>
        AllowedTransitions.TryGetValue(from, out var targets) && Array.IndexOf(targets, to) >= 0;

    /// <summary>Aurora's refusal text for an illegal transition.</summary>
    public static string CannotTransition(JobUpdateStatus from, JobUpdateStatus to) =>
        $"Cannot transition update from {ProtoNames.Of(from)} to {ProtoNames.Of(to)}";

    public static IEnumerable<JobUpdateStatus> Active => AllowedTransitions.Keys;
}
