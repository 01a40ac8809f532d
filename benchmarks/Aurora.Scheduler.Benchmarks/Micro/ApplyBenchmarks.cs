using Aurora.Scheduler.Benchmarks.Generation;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Protos;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;

namespace Aurora.Scheduler.Benchmarks.Micro;

/// <summary>
/// The two events that dominate a scheduler's log, applied to a state: a status-update batch of
/// 1,000 <c>TaskStateChanged</c> (ASSIGNED -> STARTING, one transaction, as the status handler
/// commits it) and a <c>TasksCreated</c> of 100 tasks (a job's creation); and decoding the batch's
/// log entry. Events are decided by the real commands, against a state of 1,000 assigned tasks.
/// </summary>
[MemoryDiagnoser]
public class ApplyBenchmarks
{
    private const int BatchSize = 1000;
    private const int CreatedTasks = 100;

    private byte[] _assignedSnapshot = [];
    private Transaction _statusBatch = new();
    private LogEntry _statusEntry = new();
    private Transaction _created = new();
    private SchedulerState _state = new();

    [GlobalSetup]
    public void Setup()
    {
        var log = new LogWriter(seed: 7, new DateTimeOffset(2026, 1, 5, 8, 0, 0, TimeSpan.Zero));
        var job = JobKeys.Create("team001", "prod", "api_svc_00001");
        var config = ConfigFactory.Job(new Random(7), job, JobKind.Service, BatchSize, dedicatedRole: null, version: 1);
        config.Task.Constraints.Clear();
        config.Task.Tier = "preemptible";
        log.Execute(new CreateJob(config), "team001-deployer");
        var pending = log.State.TasksIn(ScheduleStatus.Pending).OrderBy(t => t.TaskId, StringComparer.Ordinal).ToList();
        foreach (var (task, i) in pending.Select((t, i) => (t, i)))
        {
            var ports = task.Config.Resources.NamedPorts.Select((name, p) => new AssignedPort { Name = name, Port = 31_000 + p }).ToList();
            log.Add(new AssignTask(task.TaskId, ConfigFactory.AgentId(i % 100), ConfigFactory.HostName(i % 100), ports), "scheduler");
        }

        log.Advance(TimeSpan.FromSeconds(5));
        _assignedSnapshot = log.State.ToSnapshot().ToByteArray();
        foreach (var task in pending)
        {
            log.Add(new ChangeTaskState(task.TaskId, ScheduleStatus.Starting, "Initializing sandbox.", task.Host), "scheduler");
        }

        log.Commit();
        _statusEntry = log.Entries[^1];
        _statusBatch = TransactionCodec.Decode(_statusEntry);

        var fresh = new LogWriter(seed: 8, log.Now);
        var created = ConfigFactory.Job(new Random(8), JobKeys.Create("team002", "prod", "feed_svc_00002"), JobKind.Service, CreatedTasks, dedicatedRole: null, version: 1);
        created.Task.Tier = "preemptible";
        fresh.Execute(new CreateJob(created), "team002-deployer");
        _created = TransactionCodec.Decode(fresh.Entries[^1]);
    }

    [IterationSetup(Target = nameof(Apply_status_batch_1000))]
    public void FreshAssignedState() => _state = SchedulerState.FromSnapshot(SchedulerSnapshot.Parser.ParseFrom(_assignedSnapshot));

    [IterationSetup(Target = nameof(Apply_TasksCreated_100))]
    public void FreshEmptyState() => _state = new SchedulerState();

    /// <summary>One transaction of 1,000 TaskStateChanged events.</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public SchedulerState Apply_status_batch_1000()
    {
        _state.Apply(new TransactionInfo(_statusEntry.Position, _statusEntry.TimestampMicros, _statusEntry.Principal), _statusBatch);
        return _state;
    }

    /// <summary>JobCreated + TasksCreated of 100 tasks into an empty state (per task).</summary>
    [Benchmark(OperationsPerInvoke = CreatedTasks)]
    public SchedulerState Apply_TasksCreated_100()
    {
        _state.Apply(new TransactionInfo(1, 1, "team002-deployer"), _created);
        return _state;
    }

    /// <summary>The status batch's log entry back into a transaction (per event).</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public Transaction Decode_status_batch_1000() => TransactionCodec.Decode(_statusEntry);
}
