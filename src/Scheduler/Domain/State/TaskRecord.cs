using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.State;

/// <summary>One entry of a task's history (Aurora's TaskEvent).</summary>
public readonly record struct TaskEvent(long TimeMicros, ScheduleStatus Status, string? Message, string? Host);

/// <summary>
/// A task in the store (Aurora's ScheduledTask): one generation of one instance of a job.
/// </summary>
/// <remarks>
/// Owned by <see cref="SchedulerState"/>: only Apply changes it, on the thread applying the log.
/// Readers must hold whatever excludes Apply (the persistence layer's read lock). The configuration
/// is shared with every other task that has an identical one and must never be mutated.
/// Kept small on purpose (a few hundred bytes with its history): the store holds every task.
/// </remarks>
public sealed class TaskRecord
{
    private TaskEvent[] _events;
    private int _eventCount;

    internal TaskRecord(string taskId, TaskConfig config, int instanceId, string? ancestorId, int failureCount, long penaltyMs)
        : this(taskId, config, instanceId, ancestorId, failureCount, penaltyMs, new TaskEvent[4], 0)
    {
    }

    private TaskRecord(string taskId, TaskConfig config, int instanceId, string? ancestorId, int failureCount, long penaltyMs, TaskEvent[] events, int eventCount)
    {
        TaskId = taskId;
        Config = config;
        InstanceId = instanceId;
        AncestorId = ancestorId;
        FailureCount = failureCount;
        PenaltyMs = penaltyMs;
        _events = events;
        _eventCount = eventCount;
    }

    /// <summary><c>role-env-name-instance-uuid</c>, as Aurora's TaskIdGenerator makes them.</summary>
    public string TaskId { get; }

    public TaskConfig Config { get; }

    public JobKey Job => Config.Job;

    public int InstanceId { get; }

    public ScheduleStatus Status { get; internal set; }

    public string? AgentId { get; internal set; }

    public string? Host { get; internal set; }

    public IReadOnlyList<AssignedPort> Ports { get; internal set; } = [];

    /// <summary>Failures of this instance so far, carried across generations.</summary>
    public int FailureCount { get; internal set; }

    public int TimesPartitioned { get; internal set; }

    /// <summary>The previous generation's task id, if this task is a reschedule.</summary>
    public string? AncestorId { get; }

    /// <summary>How long a THROTTLED task waits, from its last event, before it may become PENDING.</summary>
    public long PenaltyMs { get; }

    public ReadOnlySpan<TaskEvent> Events => _events.AsSpan(0, _eventCount);

    public TaskEvent LatestEvent => _events[_eventCount - 1];

    /// <summary>The history's array and length: entries below the length never change, and a longer history is a new array.</summary>
    internal (TaskEvent[] Array, int Count) EventStorage => (_events, _eventCount);

    public bool IsActive => TaskStatuses.IsActive(Status);

    public bool IsTerminal => TaskStatuses.IsTerminal(Status);

    public bool HistoryContains(ScheduleStatus status)
    {
        foreach (var e in Events)
        {
            if (e.Status == status)
            {
                return true;
            }
        }

        return false;
    }

    public TaskFacts Facts => new(Config.IsService, Config.MaxTaskFailures, FailureCount, HistoryContains(ScheduleStatus.Killing));

    internal void AddEvent(TaskEvent taskEvent)
    {
        if (_eventCount == _events.Length)
        {
            Array.Resize(ref _events, _eventCount * 2);
        }

        _events[_eventCount++] = taskEvent;
    }

    /// <summary>A record equal to this one with a history array of its own (<see cref="SchedulerState.Clone"/>).</summary>
    internal TaskRecord Copy() => new(TaskId, Config, InstanceId, AncestorId, FailureCount, PenaltyMs, _events[.._eventCount], _eventCount)
    {
        Status = Status,
        AgentId = AgentId,
        Host = Host,
        Ports = Ports,
        TimesPartitioned = TimesPartitioned,
    };

    public override string ToString() => $"{TaskId} {TaskStatuses.Name(Status)}";
}
