using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.State;

/// <summary>
/// The state as <see cref="SchedulerState.Capture"/> saw it. Building its snapshot needs no lock:
/// nothing it refers to changes afterwards. Build it once.
/// </summary>
public sealed class StateCapture
{
    private readonly TaskView[] _tasks;
    private readonly SchedulerSnapshot _rest;

    internal StateCapture(TaskView[] tasks, SchedulerSnapshot rest)
    {
        _tasks = tasks;
        _rest = rest;
    }

    /// <summary>How many tasks the state held.</summary>
    public int TaskCount => _tasks.Length;

    /// <summary>The canonical snapshot (<see cref="SchedulerState.ToSnapshot"/>): tasks by id, configurations in first use.</summary>
    public SchedulerSnapshot ToSnapshot()
    {
        var snapshot = new SchedulerSnapshot { FormatVersion = _rest.FormatVersion, FrameworkId = _rest.FrameworkId };
        var configIndexes = new Dictionary<TaskConfig, uint>(ReferenceEqualityComparer.Instance);
        Array.Sort(_tasks, static (a, b) => string.CompareOrdinal(a.Record.TaskId, b.Record.TaskId));
        foreach (var task in _tasks)
        {
            var config = task.Record.Config;
            if (!configIndexes.TryGetValue(config, out var index))
            {
                index = (uint)snapshot.TaskConfigs.Count;
                configIndexes.Add(config, index);
                snapshot.TaskConfigs.Add(config);
            }

            snapshot.Tasks.Add(task.ToSnapshot(index));
        }

        snapshot.CronJobs.AddRange(_rest.CronJobs);
        snapshot.Quotas.AddRange(_rest.Quotas);
        snapshot.Hosts.AddRange(_rest.Hosts);
        snapshot.JobUpdates.AddRange(_rest.JobUpdates);
        return snapshot;
    }
}

/// <summary>A task's fields as they were when captured; its history is the first <see cref="EventCount"/> entries of an array only ever appended to.</summary>
internal readonly struct TaskView
{
    private readonly TaskEvent[] _events;

    public TaskView(TaskRecord task)
    {
        Record = task;
        Status = task.Status;
        AgentId = task.AgentId;
        Host = task.Host;
        Ports = task.Ports;
        FailureCount = task.FailureCount;
        TimesPartitioned = task.TimesPartitioned;
        (_events, EventCount) = task.EventStorage;
    }

    /// <summary>The task, for its fields that never change (id, configuration, instance, ancestor, penalty).</summary>
    public TaskRecord Record { get; }

    public ScheduleStatus Status { get; }

    public string? AgentId { get; }

    public string? Host { get; }

    public IReadOnlyList<AssignedPort> Ports { get; }

    public int FailureCount { get; }

    public int TimesPartitioned { get; }

    public int EventCount { get; }

    public TaskSnapshot ToSnapshot(uint configIndex)
    {
        var task = Record;
        var record = new TaskSnapshot
        {
            TaskId = task.TaskId,
            ConfigIndex = configIndex,
            InstanceId = task.InstanceId,
            Status = Status,
            AgentId = AgentId ?? string.Empty,
            Host = Host ?? string.Empty,
            FailureCount = FailureCount,
            TimesPartitioned = TimesPartitioned,
            AncestorId = task.AncestorId ?? string.Empty,
            PenaltyMs = task.PenaltyMs,
        };
        record.Ports.AddRange(Ports);
        for (var i = 0; i < EventCount; i++)
        {
            var e = _events[i];
            record.Events.Add(new TaskEventRecord
            {
                TimeMicros = e.TimeMicros,
                Status = e.Status,
                Message = e.Message ?? string.Empty,
                Host = e.Host ?? string.Empty,
            });
        }

        return record;
    }
}
