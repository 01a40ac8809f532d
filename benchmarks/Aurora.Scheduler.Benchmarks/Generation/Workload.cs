using System.Diagnostics;
using System.Globalization;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;

namespace Aurora.Scheduler.Benchmarks.Generation;

/// <summary>What is in a generated log, counted from its entries.</summary>
/// <param name="TaskChanges">Tasks touched: one per task created, assigned, changing status or pruned (a TasksCreated of 100 tasks is one event but 100 changes).</param>
internal sealed record LogCounts(long Entries, long Events, long TaskChanges, long PayloadBytes, SortedDictionary<string, long> ByKind)
{
    public static LogCounts Of(IEnumerable<LogEntry> entries)
    {
        long count = 0;
        long events = 0;
        long changes = 0;
        long bytes = 0;
        var byKind = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            count++;
            bytes += entry.Payload.Value.Length;
            foreach (var e in TransactionCodec.Decode(entry).Events)
            {
                events++;
                changes += TaskChangesOf(e);
                var kind = e.KindCase.ToString();
                byKind[kind] = byKind.GetValueOrDefault(kind) + 1;
            }
        }

        return new LogCounts(count, events, changes, bytes, byKind);
    }

    public static int TaskChangesOf(Event e) => e.KindCase switch
    {
        Event.KindOneofCase.TasksCreated => e.TasksCreated.Tasks.Count,
        Event.KindOneofCase.TasksPruned => e.TasksPruned.TaskIds.Count,
        Event.KindOneofCase.TaskAssigned or Event.KindOneofCase.TaskStateChanged => 1,
        _ => 0,
    };
}

/// <summary>The generated log, in memory and on disk, with the state the generator reached.</summary>
internal sealed class Workload
{
    private Workload(ClusterShape shape, ClusterGenerator generator, LogCounts counts, double generateSeconds)
    {
        Shape = shape;
        Generator = generator;
        Counts = counts;
        GenerateSeconds = generateSeconds;
    }

    public ClusterShape Shape { get; }

    public ClusterGenerator Generator { get; }

    public IReadOnlyList<LogEntry> Entries => Generator.Log.Entries;

    public SchedulerState State => Generator.Log.State;

    public LogCounts Counts { get; }

    public double GenerateSeconds { get; }

    public LogOptions? LogOptions { get; private set; }

    public long LogBytes { get; private set; }

    public int Segments { get; private set; }

    public static Workload Generate(ClusterShape shape)
    {
        var watch = Stopwatch.StartNew();
        var generator = new ClusterGenerator(shape);
        generator.Generate();
        var seconds = watch.Elapsed.TotalSeconds;
        return new Workload(shape, generator, LogCounts.Of(generator.Log.Entries), seconds);
    }

    /// <summary>Appends the entries to a new log in <paramref name="directory"/> (1,000 per append, as a follower catching up would).</summary>
    public async Task WriteAsync(string directory, CancellationToken cancellationToken)
    {
        var options = new LogOptions { Directory = directory };
        using (var log = SegmentedLog.Open(options))
        {
            foreach (var chunk in Entries.Chunk(1000))
            {
                cancellationToken.ThrowIfCancellationRequested();
                await log.AppendAsync(chunk, cancellationToken);
            }
        }

        LogOptions = options with { ReadOnly = true };
        using var reader = SegmentedLog.Open(LogOptions);
        LogBytes = reader.Segments.Sum(s => s.DataBytes);
        Segments = reader.Segments.Count;
    }

    /// <summary>The written log (<see cref="WriteAsync"/>) copied into <paramref name="directory"/> as a voting replica's: what a store or <c>aurora-log</c> opens.</summary>
    public void CopyToReplica(string directory)
    {
        var source = LogOptions?.Directory ?? throw new InvalidOperationException("the workload was not written to disk");
        Directory.CreateDirectory(directory);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(directory, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        new ReplicaMetadataStore(PhysicalFileSystem.Instance, directory).Save(ReplicaMetadataStore.NewVoting(DateTimeOffset.UtcNow));
    }

    public IEnumerable<string> Describe()
    {
        var state = State;
        var log = Generator.Log;
        var byStatus = string.Join(' ', Enum.GetValues<ScheduleStatus>()
            .Where(s => state.TasksIn(s).Count > 0)
            .Select(s => $"{s.ToString().ToUpperInvariant()}={state.TasksIn(s).Count}"));
        var kinds = string.Join(' ', Counts.ByKind.Select(k => $"{k.Key}={k.Value}"));
        yield return Invariant($"generated in {GenerateSeconds:F1} s: {Counts.Entries} entries, {Counts.Events} events, {Counts.TaskChanges} task changes, {Counts.PayloadBytes / 1048576.0:F1} MiB of transactions");
        yield return Invariant($"  decisions {log.Decisions} (rejected {log.Rejections}), events/entry {Counts.Events / (double)Counts.Entries:F1}, task changes/entry {Counts.TaskChanges / (double)Counts.Entries:F1}");
        yield return Invariant($"  log on disk: {LogBytes / 1048576.0:F1} MiB in {Segments} segment(s); the fake clock spans {(Entries[^1].TimestampMicros - Entries[0].TimestampMicros) / 3.6e9:F1} h");
        yield return Invariant($"  final state: {state.TaskCount} tasks ({byStatus})");
        yield return Invariant($"  jobs {state.JobKeys.Count()} (cron {state.CronJobs.Count}), roles {state.Roles.Count()}, distinct task configs {state.DistinctConfigCount}, hosts {state.Hosts.Count}, job updates {state.Updates.Count} (started {Generator.Updates}), cron triggers {Generator.CronTriggers}, hosts drained {Generator.HostsDrained}");
        yield return $"  events by kind: {kinds}";
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
