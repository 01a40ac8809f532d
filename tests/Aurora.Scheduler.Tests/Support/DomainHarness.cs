using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Tests.Support;

/// <summary>
/// The domain without storage: decides commands against a state and applies the committed events
/// at consecutive positions, keeping every transaction so tests can replay, snapshot and compare.
/// Time only moves when a test moves it.
/// </summary>
public sealed class DomainHarness
{
    private readonly List<(TransactionInfo Info, Transaction Transaction)> _log = [];

    public DomainHarness(int seed = 1, SchedulerSettings? settings = null, DateTimeOffset? start = null)
    {
        Ids = new SeededIdGenerator(seed);
        Settings = settings ?? SchedulerSettings.Default;
        Now = start ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }

    public SchedulerState State { get; private set; } = new();

    public SchedulerSettings Settings { get; set; }

    public IIdGenerator Ids { get; }

    public DateTimeOffset Now { get; set; }

    public string Principal { get; set; } = "alice";

    public IReadOnlyList<(TransactionInfo Info, Transaction Transaction)> Log => _log;

    public CommandContext Context => new(Principal, Now, Settings, Ids);

    public void Advance(TimeSpan by) => Now += by;

    /// <summary>Decides and, when it changes anything, commits and applies the command; rejections propagate.</summary>
    public Decision Execute(SchedulerCommand command)
    {
        var decision = command.Decide(State, Context);
        if (decision.ChangesState)
        {
            var transaction = new Transaction();
            transaction.Events.AddRange(decision.Events);
            var info = new TransactionInfo((ulong)_log.Count + 1, Context.NowMicros, Principal);
            _log.Add((info, transaction));
            State.Apply(info, transaction);
        }

        return decision;
    }

    /// <summary>Runs the command expecting a rejection; returns it.</summary>
    public CommandRejectedException Reject(SchedulerCommand command)
    {
        var before = State.StateHash();
        var count = _log.Count;
        var rejection = Assert.Throws<CommandRejectedException>(() => Execute(command));
        Assert.Equal(count, _log.Count);
        Assert.Equal(before, State.StateHash());
        return rejection;
    }

    /// <summary>A fresh state folded from every logged transaction (from <paramref name="fromIndex"/> on, onto <paramref name="start"/>).</summary>
    public SchedulerState Replay(SchedulerState? start = null, int fromIndex = 0)
    {
        var state = start ?? new SchedulerState();
        for (var i = fromIndex; i < _log.Count; i++)
        {
            state.Apply(_log[i].Info, _log[i].Transaction);
        }

        return state;
    }

    public TaskRecord ActiveTask(JobKey job, int instance) => State.ActiveInstances(job)[instance];

    /// <summary>Drives an instance's active task through the given statuses (the first must follow its current one).</summary>
    public TaskRecord Drive(JobKey job, int instance, params ScheduleStatus[] path)
    {
        var task = ActiveTask(job, instance);
        foreach (var status in path)
        {
            if (status == ScheduleStatus.Assigned)
            {
                Execute(new AssignTask(task.TaskId, "agent-" + Host(instance), Host(instance), Ports(task.Config)));
            }
            else
            {
                Execute(new ChangeTaskState(task.TaskId, status, "test"));
            }
        }

        return task;
    }

    public static string Host(int instance) => $"host-{instance}";

    public static IReadOnlyList<AssignedPort> Ports(TaskConfig config) =>
        config.Resources.NamedPorts.Select((name, i) => new AssignedPort { Name = name, Port = 31000 + i }).ToList();
}
