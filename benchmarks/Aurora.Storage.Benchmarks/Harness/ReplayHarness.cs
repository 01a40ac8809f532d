using System.Diagnostics;
using System.Globalization;
using System.Text;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;

namespace Aurora.Storage.Benchmarks.Harness;

/// <summary>
/// <c>replay</c>: how fast a restarting replica gets its log back. Writes N entries of 1 KiB, then
/// times the open (the recovery scan checks every record) and a full <c>Read(1)</c> with a warm page
/// cache, and breaks the read down into its layers to show where the time goes.
/// </summary>
internal static class ReplayHarness
{
    private const double GoalEntriesPerSecond = 1_000_000;
    private const int Writers = 8;
    private const int Batch = 512;

    public static async Task<int> RunAsync(Settings settings)
    {
        using var scratch = new ScratchDirectory(settings.Directory);
        var loadBefore = Machine.Announce(scratch.Path, settings.ToString());
        var payload = Payloads.Blob(Payloads.DefaultPayloadBytes);
        var options = new LogOptions { Directory = scratch.Sub("log"), OnFatalError = OnFatal };

        var interrupted = scratch.Interrupted;
        var writeSeconds = await WriteAsync(options, settings.Entries, payload, interrupted);
        Console.WriteLine(Invariant($"write: {settings.Entries} entries in {writeSeconds:F2} s ({settings.Entries / writeSeconds:F0} entries/s, {Writers} writers x {Batch}-entry batches)"));
        Machine.Settle();

        var opens = new List<double>();
        for (var rep = 1; rep <= settings.Reps; rep++)
        {
            interrupted.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            var log = SegmentedLog.Open(options);
            var seconds = watch.Elapsed.TotalSeconds;

            // Dispose waits for the next segment the writer prepares in the background, so that
            // zero-filling does not run into the next timing.
            log.Dispose();
            opens.Add(seconds);
            Console.WriteLine(Invariant($"rep={rep} case=open seconds={seconds:F3} entries_per_s={settings.Entries / seconds:F0}"));
        }

        Machine.Settle();
        using var reader = SegmentedLog.Open(options with { ReadOnly = true });
        var segments = reader.Segments;
        var dataBytes = segments.Sum(s => s.DataBytes);

        // Warm the page cache and the JIT (tiered compilation wants some 100k entries through the
        // read path before its final code is in), and check the log is what was written.
        for (long warmed = 0; warmed < 500_000;)
        {
            interrupted.ThrowIfCancellationRequested();
            var warm = ReadAll(reader);
            if (warm.Entries != settings.Entries)
            {
                Console.Error.WriteLine($"error: read back {warm.Entries} entries, wrote {settings.Entries}");
                return 70;
            }

            warmed += warm.Entries;
        }

        // Each layer includes the ones above it; all run in the same rep so that their differences
        // are not spoiled by drift.
        var layers = new (string Name, string What, Func<long> Run, List<(double Wall, double Cpu)> Times)[]
        {
            ("pread", "read the segment files into a 1 MiB buffer", () => PreadOnly(segments), []),
            ("scan", "+ parse headers, CRC32C of header and payload", () => Scan(segments, assemble: false), []),
            ("scan+assemble", "+ position/chunk/term checks", () => Scan(segments, assemble: true), []),
            ("Read(1)", "+ protobuf decode, position check, enumerators", () => ReadAll(reader).Entries, []),
        };
        var read = layers[^1].Times;
        for (var rep = 1; rep <= settings.Reps; rep++)
        {
            foreach (var layer in layers)
            {
                interrupted.ThrowIfCancellationRequested();
                layer.Times.Add(Time(layer.Run));
            }

            var below = string.Join(' ', layers.SkipLast(1).Select(l => Invariant($"{l.Name}_s={l.Times[^1].Wall:F3}")));
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"rep={rep} case=read entries={settings.Entries} seconds={read[^1].Wall:F3} entries_per_s={settings.Entries / read[^1].Wall:F0} " +
                $"MiB_per_s={dataBytes / read[^1].Wall / (1 << 20):F1} cpu_s={read[^1].Cpu:F3} {below}"));
        }

        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(CultureInfo.InvariantCulture));
        var readSeconds = Stats.Median(read.Select(t => t.Wall));
        var readCpu = Stats.Median(read.Select(t => t.Cpu));
        var openSeconds = Stats.Median(opens);
        var perSecond = settings.Entries / readSeconds;
        Line($"==== aurora log replay benchmark: summary ====");
        Line($"machine: {Machine.Describe(scratch.Path)}");
        Line($"load average: start {loadBefore}, end {Machine.LoadAverage()}");
        Line($"{settings}; {segments.Count} segments, {dataBytes / (double)(1 << 20):F0} MiB of records");
        Line($"write (batched, durable)      {settings.Entries / writeSeconds,12:F0} entries/s");
        Line($"open (recovery scan, warm)    {settings.Entries / openSeconds,12:F0} entries/s  {openSeconds,7:F3} s  {dataBytes / openSeconds / (1 << 20),7:F1} MiB/s");
        Line($"Read(1), warm page cache      {perSecond,12:F0} entries/s  {readSeconds,7:F3} s  {dataBytes / readSeconds / (1 << 20),7:F1} MiB/s  goal >= 1000000 entries/s  {(perSecond >= GoalEntriesPerSecond ? "PASS" : "MISS")}");
        Line($"Read(1) per CPU-second        {settings.Entries / readCpu,12:F0} entries/s  (process CPU time; what a quiet machine would reach)");
        Line($"where a Read(1) goes (medians; each layer includes the ones above it):");
        Line($"  {"layer",-14} {"wall_s",7} {"ns/entry",8} {"cpu_s",7} {"ns/entry",8}");
        foreach (var layer in layers)
        {
            var wall = Stats.Median(layer.Times.Select(t => t.Wall));
            var cpu = Stats.Median(layer.Times.Select(t => t.Cpu));
            Line($"  {layer.Name,-14} {wall,7:F3} {wall / settings.Entries * 1e9,8:F0} {cpu,7:F3} {cpu / settings.Entries * 1e9,8:F0}  {layer.What}");
        }

        Line($"==== end ====");
        Console.WriteLine();
        Console.Write(text);
        return perSecond >= GoalEntriesPerSecond ? 0 : 1;
    }

    /// <summary>Fills the log quickly: a few writers, each appending large batches (one fdatasync per group).</summary>
    private static async Task<double> WriteAsync(LogOptions options, long entries, Google.Protobuf.WellKnownTypes.Any payload, CancellationToken cancellationToken)
    {
        using var log = SegmentedLog.Open(options);
        var watch = Stopwatch.StartNew();
        long next = 0;
        var tasks = Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                var count = (int)Math.Min(Batch, entries - (Interlocked.Add(ref next, Batch) - Batch));
                if (count <= 0 || cancellationToken.IsCancellationRequested)
                {
                    return;
                }

                var batch = new LogEntry[count];
                for (var i = 0; i < count; i++)
                {
                    batch[i] = Payloads.Entry(payload);
                }

                await log.AppendAsync(batch);
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        cancellationToken.ThrowIfCancellationRequested();
        return watch.Elapsed.TotalSeconds;
    }

    private static (long Entries, long PayloadBytes) ReadAll(SegmentedLog log)
    {
        long entries = 0;
        long bytes = 0;
        ulong expected = 1;
        foreach (var entry in log.Read(1))
        {
            if (entry.Position != expected++)
            {
                throw new InvalidOperationException($"read position {entry.Position}, expected {expected - 1}");
            }

            entries++;
            bytes += entry.Payload.Value.Length;
        }

        return (entries, bytes);
    }

    /// <summary>The floor: bytes from the page cache, no parsing.</summary>
    private static long PreadOnly(IReadOnlyList<SegmentInfo> segments)
    {
        var buffer = new byte[1 << 20];
        long total = 0;
        foreach (var segment in segments)
        {
            using var file = PhysicalFileSystem.Instance.OpenFile(segment.Path, FileOpenMode.ReadExisting);
            for (long offset = SegmentHeader.Size; offset < segment.DataBytes;)
            {
                var read = file.Read(offset, buffer.AsSpan(0, (int)Math.Min(buffer.Length, segment.DataBytes - offset)));
                offset += read;
                total += read;
            }
        }

        return total;
    }

    /// <summary>The scanner alone (every checksum checked), optionally with the assembler's structure checks.</summary>
    private static long Scan(IReadOnlyList<SegmentInfo> segments, bool assemble)
    {
        long records = 0;
        foreach (var segment in segments)
        {
            using var file = PhysicalFileSystem.Instance.OpenFile(segment.Path, FileOpenMode.ReadExisting);
            SegmentHeader.Check(file, segment.FirstPosition, out _, out var format);
            var scanner = new SegmentScanner(file, format, format.DataStart, segment.DataBytes);
            var assembler = new EntryAssembler(segment.Path, segment.FirstPosition);
            while (scanner.Next() is { Outcome: ScanOutcome.Record } record)
            {
                if (assemble)
                {
                    assembler.Add(record);
                }

                records++;
            }
        }

        return records;
    }

    /// <summary>Wall time, and CPU time of the whole process (GC threads included) which other processes' load does not inflate.</summary>
    private static (double Wall, double Cpu) Time(Func<long> action)
    {
        var before = UsageMark.Now();
        GC.KeepAlive(action());
        var after = UsageMark.Now();
        return ((after.Timestamp - before.Timestamp) / (double)Stopwatch.Frequency, (after.Cpu - before.Cpu).TotalSeconds);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static void OnFatal(Exception cause)
    {
        Console.Error.WriteLine($"fatal: the log failed: {cause}");
        Environment.Exit(70);
    }

    internal sealed record Settings(long Entries, int Reps, string? Directory)
    {
        public static Settings Parse(string[] args)
        {
            var a = new Arguments(args, "entries", "reps", "dir");
            return new Settings(a.Long("entries", 1_000_000, 1), (int)a.Long("reps", 3, 1), a.String("dir"));
        }

        public override string ToString() => string.Create(
            CultureInfo.InvariantCulture,
            $"settings: entries={Entries} payload=1024 B reps={Reps}, segments {LogOptions.DefaultSegmentSize >> 20} MiB, no compression");
    }
}
