using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Benchmarks.Generation;

/// <summary>
/// The update engine's "add task" step (Aurora's InstanceActionHandler.AddTask: insertPendingTasks
/// with the update's desired configuration) once an instance's old task is gone. The domain has no
/// update engine yet, so the generator supplies this one step, built with the domain's own
/// <see cref="DecisionBuilder"/> (task ids and events exactly as the domain makes them).
/// </summary>
internal sealed record CreateUpdatedInstances(JobUpdateKey Key, IReadOnlyList<int> Instances) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        var update = state.FindUpdate(Key) ?? throw CommandRejectedException.Invalid("no such update");
        var desired = update.Instructions.DesiredState ?? throw CommandRejectedException.Invalid("update removes instances only");
        var decision = new DecisionBuilder(state, context);
        var active = decision.ActiveInstances(Key.Job);
        decision.CreateTasks(desired.Task, Instances.Where(i => !active.ContainsKey(i)));
        return decision.Build();
    }
}
