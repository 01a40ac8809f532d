using Aurora.Scheduler.Benchmarks.Generation;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Google.Protobuf;

namespace Aurora.Scheduler.Benchmarks.Harness;

/// <summary>
/// <c>memory</c>: managed heap the state holds per task, as the growth of
/// <see cref="GC.GetTotalMemory(bool)"/> (after full collections) while the state is built, by
/// replay and by snapshot load; and the same state with no two tasks sharing a configuration, to
/// show what interning saves. Then an estimate of where the bytes of one task go.
/// </summary>
internal static class MemoryBench
{
    private const double GoalBytesPerTask = 2048;

    public static void Run(Workload workload, Report report, CancellationToken cancellationToken)
    {
        var tasks = workload.State.TaskCount;
        var entries = workload.Entries;

        var (replayed, byReplay) = Measure(() =>
        {
            var state = new SchedulerState();
            foreach (var entry in entries)
            {
                TransactionCodec.ApplyTo(state, entry);
            }

            return state;
        });
        var breakdown = Breakdown(replayed);
        replayed = null;
        cancellationToken.ThrowIfCancellationRequested();

        var blob = workload.State.ToSnapshot().ToByteArray();
        var (_, bySnapshot) = Measure(() => SchedulerState.FromSnapshot(SchedulerSnapshot.Parser.ParseFrom(blob)));
        cancellationToken.ThrowIfCancellationRequested();

        var unsharedBlob = Unshared(blob);
        blob = [];
        var (unshared, byUnshared) = Measure(() => SchedulerState.FromSnapshot(SchedulerSnapshot.Parser.ParseFrom(unsharedBlob)));
        var unsharedConfigs = unshared.DistinctConfigCount;
        unshared = null;

        report.Line($"---- memory: heap growth while building the state of {tasks} tasks (GC.GetTotalMemory after full collections) ----");
        report.Line($"  {"built by",-52} {"MiB",8} {"bytes/task",10}  configs");
        report.Line($"  {"replay of the log (shared configs)",-52} {byReplay / 1048576.0,8:F1} {byReplay / (double)tasks,10:F0}  {workload.State.DistinctConfigCount}");
        report.Line($"  {"snapshot load (shared configs)",-52} {bySnapshot / 1048576.0,8:F1} {bySnapshot / (double)tasks,10:F0}  {workload.State.DistinctConfigCount}");
        report.Line($"  {"snapshot load, every task its own config (no sharing)",-52} {byUnshared / 1048576.0,8:F1} {byUnshared / (double)tasks,10:F0}  {unsharedConfigs}");
        var worst = Math.Max(byReplay, bySnapshot) / (double)tasks;
        report.Line($"  goal: < 2 KiB of heap per task with shared configs: {worst:F0} bytes/task {report.Goal(worst < GoalBytesPerTask)}");
        report.Line($"  where a task's bytes go (estimated from object layouts of the replayed state, 64-bit):");
        foreach (var (what, bytes) in breakdown)
        {
            report.Line($"    {what,-62} {bytes / (double)tasks,7:F0}");
        }
    }

    /// <summary>Heap growth while <paramref name="build"/> runs, with everything it does not keep collected.</summary>
    private static (T Result, long Bytes) Measure<T>(Func<T> build)
    {
        Timings.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var result = build();
        Timings.Collect();
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(result);
        return (result, after - before);
    }

    /// <summary>The snapshot with a distinct copy of its configuration for every task (a metadata entry names the task).</summary>
    private static byte[] Unshared(byte[] blob)
    {
        var snapshot = SchedulerSnapshot.Parser.ParseFrom(blob);
        var configs = snapshot.TaskConfigs.ToArray();
        snapshot.TaskConfigs.Clear();
        for (var i = 0; i < snapshot.Tasks.Count; i++)
        {
            var task = snapshot.Tasks[i];
            var config = configs[task.ConfigIndex].Clone();
            config.Metadata.Add(new Metadata { Key = "bench_task", Value = task.TaskId });
            snapshot.TaskConfigs.Add(config);
            task.ConfigIndex = (uint)i;
        }

        return snapshot.ToByteArray();
    }

    /// <summary>
    /// Sizes from the CLR's object layout on 64-bit (16-byte object header, 8-byte references,
    /// strings 22 + 2 x length rounded up to 8), counted over the state's tasks. Shared objects
    /// (configurations, cached strings) are counted once.
    /// </summary>
    private static List<(string What, long Bytes)> Breakdown(SchedulerState state)
    {
        static long Str(string? s) => s is null ? 0 : (22 + (2L * s.Length) + 7) & ~7L;
        static long Capacity(int count)
        {
            var capacity = 4;
            while (capacity < count)
            {
                capacity *= 2;
            }

            return capacity;
        }

        long records = 0, ids = 0, ancestors = 0, events = 0, ports = 0, indexes = 0;
        var configs = new HashSet<TaskConfig>(ReferenceEqualityComparer.Instance);
        var seenIds = new HashSet<string>(ReferenceEqualityComparer.Instance);
        long configBytes = 0;
        foreach (var task in state.Tasks)
        {
            // TaskRecord: header 16 + 7 references + 5 ints/enums + 1 long, padded.
            records += 16 + (7 * 8) + (5 * 4) + 8 + 4;
            ids += seenIds.Add(task.TaskId) ? Str(task.TaskId) : 0;
            if (task.AncestorId is { } ancestor && seenIds.Add(ancestor))
            {
                ancestors += Str(ancestor);
            }

            // TaskEvent[]: array header 24 + 32 bytes per slot (long, enum + padding, two references).
            events += 24 + (32 * Capacity(task.Events.Length));
            if (task.Ports.Count > 0)
            {
                // Array of references + one AssignedPort message each (header, name, port, unknown fields) + its name string.
                ports += 24 + (8L * task.Ports.Count) + task.Ports.Sum(p => 16 + 8 + 4 + 8 + 4 + Str(p.Name));
            }

            // _tasks (Dictionary entry 24 + bucket 4), _tasksByJob, _tasksByStatus, _tasksByHost (HashSet entry 16 + bucket 4), at ~75% load.
            indexes += (long)((28 + 20 + 20 + (task.Host is null ? 0 : 20)) / 0.75);
            if (configs.Add(task.Config))
            {
                configBytes += task.Config.CalculateSize() * 3;
            }
        }

        return
        [
            ("TaskRecord objects", records),
            ("task id strings", ids),
            ("ancestor id strings (ancestor pruned, not shared)", ancestors),
            ("task event arrays (capacity 4, doubling; 32 B per event)", events),
            ("assigned ports (array + AssignedPort messages + name strings)", ports),
            ("index entries (by id, job, status, host; ~75% load)", indexes),
            ("shared task configs (~3x their encoded size), spread over tasks", configBytes),
            ("total estimated", records + ids + ancestors + events + ports + indexes + configBytes),
        ];
    }
}
