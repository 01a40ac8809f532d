using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Updates;

/// <summary>Where a job update stands after one step of the engine (<see cref="AdvanceJobUpdate"/>).</summary>
/// <param name="Status">The update's status once the step's events are applied.</param>
/// <param name="NextEvaluationMicros">
/// The latest time (microseconds since the epoch) at which the engine wants to run again for this
/// update even if nothing else happens: a watch period ends, a pulse expires. Null when only a task
/// change of the job or a user action can move the update on (or it is over).
/// </param>
public sealed record UpdateProgress(JobUpdateStatus Status, long? NextEvaluationMicros);
