using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Updates;

/// <summary>
/// One direction of an update (Aurora's OneWayJobUpdater): which instances it works on, in which
/// order, what each should end up running, and the instance actions it records.
/// </summary>
internal sealed class UpdatePhase
{
    private readonly Dictionary<int, TaskConfig> _targets;

    private UpdatePhase(bool rollingBack, long startMicros, IReadOnlyList<int> order, Dictionary<int, TaskConfig> targets)
    {
        RollingBack = rollingBack;
        StartMicros = startMicros;
        Order = order;
        _targets = targets;
    }

    public bool RollingBack { get; }

    /// <summary>When this direction began: replacements created since then count as its attempts.</summary>
    public long StartMicros { get; }

    /// <summary>The instances this direction works on, in the order it starts them.</summary>
    public IReadOnlyList<int> Order { get; }

    public JobUpdateStatus Active => RollingBack ? JobUpdateStatus.RollingBack : JobUpdateStatus.RollingForward;

    public JobUpdateStatus Completed => RollingBack ? JobUpdateStatus.RolledBack : JobUpdateStatus.RolledForward;

    public JobUpdateAction Working => RollingBack ? JobUpdateAction.InstanceRollingBack : JobUpdateAction.InstanceUpdating;

    public JobUpdateAction Succeeded => RollingBack ? JobUpdateAction.InstanceRolledBack : JobUpdateAction.InstanceUpdated;

    public JobUpdateAction Failed => RollingBack ? JobUpdateAction.InstanceRollbackFailed : JobUpdateAction.InstanceUpdateFailed;

    /// <summary>The configuration the instance should run, or null when the instance is to be removed.</summary>
    public TaskConfig? TargetOf(int instance) => _targets.GetValueOrDefault(instance);

    /// <summary>
    /// Rolling forward: every instance of the instructions, new ones first, then the replaced ones,
    /// then the removed ones (Aurora's update ordering), each ascending.
    /// </summary>
    public static UpdatePhase Forward(JobUpdateInstructions instructions, long startMicros)
    {
        var initial = InitialConfigs(instructions);
        var targets = new Dictionary<int, TaskConfig>();
        if (instructions.DesiredState?.Task is { } desired)
        {
            foreach (var instance in Ranges.Expand(instructions.DesiredState.Instances))
            {
                targets[instance] = desired;
            }
        }

        return new UpdatePhase(rollingBack: false, startMicros, ForwardOrder(initial.Keys, targets.Keys), targets);
    }

    /// <summary>
    /// Rolling back: the instances the forward direction touched, in the reverse of its order; each
    /// goes back to its initial configuration, and an instance that did not exist before is removed.
    /// </summary>
    public static UpdatePhase Backward(JobUpdateInstructions instructions, long startMicros, Func<int, bool> touchedForward)
    {
        var forward = Forward(instructions, startMicros);
        var order = forward.Order.Where(touchedForward).Reverse().ToList();
        return new UpdatePhase(rollingBack: true, startMicros, order, InitialConfigs(instructions));
    }

    private static Dictionary<int, TaskConfig> InitialConfigs(JobUpdateInstructions instructions)
    {
        var initial = new Dictionary<int, TaskConfig>();
        foreach (var group in instructions.InitialState)
        {
            foreach (var instance in Ranges.Expand(group.Instances))
            {
                initial[instance] = group.Task;
            }
        }

        return initial;
    }

    private static List<int> ForwardOrder(IEnumerable<int> initial, IEnumerable<int> desired)
    {
        var before = initial.ToHashSet();
        var after = desired.ToHashSet();
        var added = after.Where(i => !before.Contains(i)).Order();
        var replaced = after.Where(before.Contains).Order();
        var removed = before.Where(i => !after.Contains(i)).Order();
        return [.. added, .. replaced, .. removed];
    }
}
