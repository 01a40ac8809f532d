using System.Globalization;
using System.Text;
using Aurora.Storage.Log;

namespace Aurora.Storage.Benchmarks.Harness;

/// <summary>
/// <c>append</c>: the log's group commit held against the raw disk, measured in the same run with
/// the repetitions of both interleaved, because the disk drifts by about ±20% between runs.
/// </summary>
internal static class AppendHarness
{
    private static readonly int[] Concurrency = [1, 16, 64];

    public static async Task<int> RunAsync(Settings settings)
    {
        using var scratch = new ScratchDirectory(settings.Window.Directory);
        var payload = Payloads.Blob(Payloads.DefaultPayloadBytes);
        var loadBefore = Machine.Announce(scratch.Path, $"{settings}; {Payloads.Describe(payload)}");

        var results = new List<(int Rep, Measurement Result)>();
        var files = new CountingFileSystem(Storage.IO.PhysicalFileSystem.Instance);
        using (var raw = new RawDisk(scratch.Sub("raw.bin"), settings.RawFileBytes))
        using (var log = SegmentedLog.Open(new LogOptions { Directory = scratch.Sub("log"), FileSystem = files, OnFatalError = OnFatal }))
        {
            // Unrecorded: JIT, thread pool growth, and the first background segment preparation.
            raw.Run(1, TimeSpan.Zero, TimeSpan.FromSeconds(0.3), 1000, scratch.Interrupted);
            await RunLogLoadAsync(log, files, 64, payload, WindowOptions.FirstRun, scratch.Interrupted);
            for (var rep = 1; rep <= settings.Window.Reps; rep++)
            {
                for (var i = 0; i < Concurrency.Length; i++)
                {
                    var n = Concurrency[i];

                    // Alternate which of the pair goes first so neither always gets the fresher disk.
                    var rawFirst = (rep + i) % 2 == 1;
                    if (rawFirst)
                    {
                        results.Add((rep, MeasureRaw(raw, n, settings, rep, scratch.Interrupted)));
                    }

                    results.Add((rep, await MeasureLogAsync(log, files, n, payload, settings, rep, scratch.Interrupted)));
                    if (!rawFirst)
                    {
                        results.Add((rep, MeasureRaw(raw, n, settings, rep, scratch.Interrupted)));
                    }
                }
            }
        }

        var summary = Summarize(results, settings, scratch.Path, loadBefore, Machine.LoadAverage(), out var allPass);
        Console.WriteLine();
        Console.Write(summary);
        return allPass ? 0 : 1;
    }

    private static Measurement MeasureRaw(RawDisk raw, int recordsPerSync, Settings settings, int rep, CancellationToken cancellationToken)
    {
        Machine.Settle();
        var result = raw.Run(recordsPerSync, settings.Window.Warmup, settings.Window.Duration, settings.Window.MaxCount, cancellationToken);
        Console.WriteLine(result.ToLine(rep));
        return result;
    }

    private static async Task<Measurement> MeasureLogAsync(SegmentedLog log, CountingFileSystem files, int writers, Google.Protobuf.WellKnownTypes.Any payload, Settings settings, int rep, CancellationToken cancellationToken)
    {
        Machine.Settle();
        var result = await RunLogLoadAsync(log, files, writers, payload, settings.Window, cancellationToken);
        Console.WriteLine(result.ToLine(rep));

        return result;
    }

    /// <summary>
    /// N writers, each appending one entry, awaiting its acknowledgement (durable), and appending
    /// the next; meanwhile the prefix is truncated every 100 ms, as a server truncates after its
    /// snapshots, so that segments roll into recycled files (or, with nothing to recycle, into
    /// zero-filled ones) as they would there.
    /// </summary>
    private static async Task<Measurement> RunLogLoadAsync(SegmentedLog log, CountingFileSystem files, int writers, Google.Protobuf.WellKnownTypes.Any payload, WindowOptions window, CancellationToken cancellationToken)
    {
        using var stop = new CancellationTokenSource();
        var truncator = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            while (await WaitAsync(timer, stop.Token))
            {
                log.TruncatePrefix(log.LastDurablePosition + 1);
            }
        });
        try
        {
            return await ClosedLoop.RunAsync(
                $"log_{writers}w",
                writers,
                async () =>
                {
                    await log.AppendAsync(Payloads.Entry(payload));
                    return true;
                },
                Payloads.RecordBytes(payload),
                () => files.WriterSyncs,
                window,
                cancellationToken);
        }
        finally
        {
            await stop.CancelAsync();
            await truncator;
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static string Summarize(List<(int Rep, Measurement Result)> results, Settings settings, string directory, string loadBefore, string loadAfter, out bool allPass)
    {
        var text = new StringBuilder();
        void Line(FormattableString line) => text.AppendLine(line.ToString(CultureInfo.InvariantCulture));

        Line($"==== aurora log append benchmark: summary ====");
        Line($"machine: {Machine.Describe(directory)}");
        Line($"load average: start {loadBefore}, end {loadAfter}");
        Line($"{settings}");
        Line($"{"case",-8} {"records/s",10} {"min..max",17} {"MiB/s",7} {"p50_us",7} {"p99_us",7} {"max_us",7} {"rec/sync",8} {"cpu%",5}");
        var byCase = results.GroupBy(r => r.Result.Case).ToDictionary(g => g.Key, g => g.Select(r => r.Result).ToList());
        foreach (var n in Concurrency)
        {
            foreach (var name in new[] { $"raw_{n}", $"log_{n}w" })
            {
                var runs = byCase[name];
                Line($"{name,-8} {Stats.Median(runs.Select(r => r.RecordsPerSecond)),10:F0} {$"{runs.Min(r => r.RecordsPerSecond):F0}..{runs.Max(r => r.RecordsPerSecond):F0}",17} {Stats.Median(runs.Select(r => r.MiBPerSecond)),7:F2} {Stats.Median(runs.Select(r => r.P50)),7:F0} {Stats.Median(runs.Select(r => r.P99)),7:F0} {runs.Max(r => r.Max),7:F0} {Stats.Median(runs.Select(r => r.RecordsPerSync)),8:F1} {Stats.Median(runs.Select(r => r.Usage.CpuPercent)),5:F0}");
            }
        }

        Line($"ratios: median over reps of log/raw within the same rep [each rep]");
        var pass = true;
        void Ratio(string label, Func<Measurement, double> metric, int n, string goal, Func<double, bool>? meets)
        {
            var perRep = results.GroupBy(r => r.Rep).Select(g =>
            {
                var log = g.Single(r => r.Result.Case == $"log_{n}w").Result;
                var raw = g.Single(r => r.Result.Case == $"raw_{n}").Result;
                return metric(log) / metric(raw);
            }).ToList();
            var median = Stats.Median(perRep);
            var verdict = meets is null ? "info" : meets(median) ? "PASS" : "MISS";
            pass &= verdict != "MISS";
            var reps = string.Join(' ', perRep.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)));
            Line($"{label,-44} {median,6:F2} [{reps}]  goal {goal,-7} {verdict}");
        }

        Ratio("throughput log_64w / raw_64 (group commit)", m => m.RecordsPerSecond, 64, ">= 0.5", r => r >= 0.5);
        Ratio("p50 latency log_1w / raw_1 (single writer)", m => m.P50, 1, "<= 1.5", r => r <= 1.5);
        Ratio("throughput log_16w / raw_16", m => m.RecordsPerSecond, 16, ">= 0.5", r => r >= 0.5);
        Ratio("p50 latency log_16w / raw_16", m => m.P50, 16, "-", null);
        Ratio("p50 latency log_64w / raw_64", m => m.P50, 64, "-", null);
        Ratio("throughput log_1w / raw_1", m => m.RecordsPerSecond, 1, "-", null);
        Line($"==== end ====");
        allPass = pass;
        return text.ToString();
    }

    private static void OnFatal(Exception cause)
    {
        Console.Error.WriteLine($"fatal: the log failed: {cause}");
        Environment.Exit(70);
    }

    internal sealed record Settings(WindowOptions Window)
    {
        /// <summary>The raw file wraps around at this size; big enough that a wrap is rare.</summary>
        public long RawFileBytes { get; init; } = 256L << 20;

        public static Settings Parse(string[] args) => new(WindowOptions.From(new Arguments(args, WindowOptions.Names)));

        public override string ToString() => string.Create(
            CultureInfo.InvariantCulture,
            $"settings: {Window} record=1024 B, raw file {RawFileBytes >> 20} MiB zero-filled, log segments {LogOptions.DefaultSegmentSize >> 20} MiB, no compression");
    }
}
