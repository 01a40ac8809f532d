using System.Security.Cryptography;
using Aurora.Scheduler.Protos;
using Google.Protobuf;

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
        var (configs, configIndexes) = Layout();
        var snapshot = Head(configs);
        for (var i = 0; i < _tasks.Length; i++)
        {
            snapshot.Tasks.Add(_tasks[i].ToSnapshot(configIndexes[i]));
        }

        snapshot.MergeFrom(Tail());
        return snapshot;
    }

    /// <summary>
    /// The bytes of <see cref="ToSnapshot"/><c>().ToByteArray()</c>, encoded without building a message
    /// for every task (<see cref="Encoder"/>).
    /// </summary>
    public byte[] Encode()
    {
        var encoder = Encoder();
        if (encoder.Length > Array.MaxLength)
        {
            throw new InvalidOperationException($"a snapshot of {_tasks.Length} tasks takes {encoder.Length} bytes, more than one array holds");
        }

        var bytes = new byte[encoder.Length];
        var output = new CodedOutputStream(bytes);
        encoder.WriteTo(output);
        output.CheckNoSpaceLeft();
        return bytes;
    }

    /// <summary>
    /// Writes the bytes of <see cref="ToSnapshot"/><c>().ToByteArray()</c> to a stream, without building
    /// a message for every task and without holding them all in memory: the snapshot a store writes
    /// while it goes on committing. <see cref="SnapshotEncoder.Length"/> says how many bytes it writes.
    /// </summary>
    /// <remarks>
    /// The message tree of 100,000 tasks is about 100 MiB of objects that live until the whole tree is
    /// encoded, long enough for the garbage collector to copy them from generation to generation, and
    /// the encoded array is 50 MiB more on the large object heap; those collections pause every thread,
    /// the committing ones included (the snapshot-stall benchmark measured them). Here one task message
    /// and its event records are reused for every task, so the encoding allocates next to nothing. The
    /// bytes are the same because the fields of <c>SchedulerSnapshot</c> are written in field-number
    /// order: the head (fields 1 to 3), each task as field 4 with the generated code's own encoding,
    /// then the tail (fields 5 to 8).
    /// </remarks>
    public SnapshotEncoder Encoder()
    {
        var (configs, configIndexes) = Layout();
        return new SnapshotEncoder(_tasks, configIndexes, Head(configs), Tail());
    }

    /// <summary>The tasks in id order, and for each the index of its configuration among the distinct configurations in first use.</summary>
    private (List<TaskConfig> Configs, uint[] ConfigIndexes) Layout()
    {
        Array.Sort(_tasks, static (a, b) => string.CompareOrdinal(a.Record.TaskId, b.Record.TaskId));
        var configs = new List<TaskConfig>();
        var byConfig = new Dictionary<TaskConfig, uint>(ReferenceEqualityComparer.Instance);
        var configIndexes = new uint[_tasks.Length];
        for (var i = 0; i < _tasks.Length; i++)
        {
            var config = _tasks[i].Record.Config;
            if (!byConfig.TryGetValue(config, out var index))
            {
                index = (uint)configs.Count;
                byConfig.Add(config, index);
                configs.Add(config);
            }

            configIndexes[i] = index;
        }

        return (configs, configIndexes);
    }

    /// <summary>The fields before the tasks.</summary>
    private SchedulerSnapshot Head(List<TaskConfig> configs)
    {
        var head = new SchedulerSnapshot { FormatVersion = _rest.FormatVersion, FrameworkId = _rest.FrameworkId };
        head.TaskConfigs.AddRange(configs);
        return head;
    }

    /// <summary>The fields after the tasks.</summary>
    private SchedulerSnapshot Tail()
    {
        var tail = new SchedulerSnapshot();
        tail.CronJobs.AddRange(_rest.CronJobs);
        tail.Quotas.AddRange(_rest.Quotas);
        tail.Hosts.AddRange(_rest.Hosts);
        tail.JobUpdates.AddRange(_rest.JobUpdates);
        return tail;
    }
}

/// <summary>A <see cref="StateCapture"/>'s snapshot, sized and ready to be written (<see cref="StateCapture.Encoder"/>).</summary>
public sealed class SnapshotEncoder
{
    private readonly TaskView[] _tasks;
    private readonly uint[] _configIndexes;
    private readonly SchedulerSnapshot _head;
    private readonly SchedulerSnapshot _tail;
    private readonly int[] _taskSizes;
    private readonly TaskSnapshot _task = new();
    private readonly List<TaskEventRecord> _events = [];

    internal SnapshotEncoder(TaskView[] tasks, uint[] configIndexes, SchedulerSnapshot head, SchedulerSnapshot tail)
    {
        _tasks = tasks;
        _configIndexes = configIndexes;
        _head = head;
        _tail = tail;
        _taskSizes = new int[tasks.Length];
        var tag = CodedOutputStream.ComputeTagSize(SchedulerSnapshot.TasksFieldNumber);
        long length = head.CalculateSize() + tail.CalculateSize();
        for (var i = 0; i < tasks.Length; i++)
        {
            _taskSizes[i] = Filled(i).CalculateSize();
            length += tag + CodedOutputStream.ComputeLengthSize(_taskSizes[i]) + _taskSizes[i];
        }

        Length = length;
    }

    /// <summary>How many bytes the snapshot takes.</summary>
    public long Length { get; }

    /// <summary>
    /// Writes the snapshot's <see cref="Length"/> bytes to <paramref name="output"/>; returns their
    /// state hash (<see cref="SchedulerState.HashOf"/>).
    /// </summary>
    public byte[] WriteTo(Stream output)
    {
        using var sha256 = SHA256.Create();
        using (var hashing = new CryptoStream(output, sha256, CryptoStreamMode.Write, leaveOpen: true))
        {
            var coded = new CodedOutputStream(hashing, leaveOpen: true);
            WriteTo(coded);
            coded.Flush();
        }

        return sha256.Hash!;
    }

    internal void WriteTo(CodedOutputStream output)
    {
        _head.WriteTo(output);
        for (var i = 0; i < _tasks.Length; i++)
        {
            var task = Filled(i);
            output.WriteTag(SchedulerSnapshot.TasksFieldNumber, WireFormat.WireType.LengthDelimited);
            output.WriteLength(_taskSizes[i]);
            task.WriteTo(output);
        }

        _tail.WriteTo(output);
    }

    /// <summary>The one reused message, filled with task <paramref name="i"/>.</summary>
    private TaskSnapshot Filled(int i)
    {
        _tasks[i].Fill(_task, _configIndexes[i], _events);
        return _task;
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
        var record = new TaskSnapshot();
        Fill(record, configIndex, reusedEvents: null);
        return record;
    }

    /// <summary>
    /// Sets every field of <paramref name="record"/> to this task's. Its event records are new, or,
    /// when <paramref name="reusedEvents"/> is given, taken from it (grown as needed) and overwritten:
    /// what an encoding that reuses one message for every task passes.
    /// </summary>
    public void Fill(TaskSnapshot record, uint configIndex, List<TaskEventRecord>? reusedEvents)
    {
        var task = Record;
        record.TaskId = task.TaskId;
        record.ConfigIndex = configIndex;
        record.InstanceId = task.InstanceId;
        record.Status = Status;
        record.AgentId = AgentId ?? string.Empty;
        record.Host = Host ?? string.Empty;
        record.FailureCount = FailureCount;
        record.TimesPartitioned = TimesPartitioned;
        record.AncestorId = task.AncestorId ?? string.Empty;
        record.PenaltyMs = task.PenaltyMs;
        record.Ports.Clear();
        record.Ports.AddRange(Ports);
        record.Events.Clear();
        for (var i = 0; i < EventCount; i++)
        {
            TaskEventRecord entry;
            if (reusedEvents is null)
            {
                entry = new TaskEventRecord();
            }
            else
            {
                if (i == reusedEvents.Count)
                {
                    reusedEvents.Add(new TaskEventRecord());
                }

                entry = reusedEvents[i];
            }

            var e = _events[i];
            entry.TimeMicros = e.TimeMicros;
            entry.Status = e.Status;
            entry.Message = e.Message ?? string.Empty;
            entry.Host = e.Host ?? string.Empty;
            record.Events.Add(entry);
        }
    }
}
