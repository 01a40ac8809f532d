using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Aurora.Scheduler.Benchmarks.Harness;

/// <summary>
/// End to end through HTTP: the published <c>aurora-scheduler -dev</c> (dist/bin) on a scratch
/// directory, driven by job creations (each one decided, appended with fsync, applied, answered)
/// from one client and then from several at once, and by reads. Reports latency percentiles and
/// throughput, and the ratio of concurrent to sequential write throughput, which shows whether
/// concurrent commands share fsyncs (group commit across commands) or queue behind each other.
/// </summary>
internal static partial class ApiBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = ParseOptions(args);
        var bin = DistBin.Find(options.GetValueOrDefault("bin"));
        var writes = int.Parse(options.GetValueOrDefault("writes") ?? "400", CultureInfo.InvariantCulture);
        var clients = int.Parse(options.GetValueOrDefault("clients") ?? "8", CultureInfo.InvariantCulture);
        using var scratch = new ScratchDirectory(options.GetValueOrDefault("dir"));
        Console.WriteLine($"machine: {Machine.Describe(scratch.Path)}");
        Console.WriteLine($"scheduler: {bin}/aurora-scheduler -dev, log under {scratch.Path}");

        using var scheduler = Process.Start(new ProcessStartInfo(Path.Combine(bin, "aurora-scheduler"), ["-dev", $"-dev_dir={scratch.Sub("dev")}", "-http_port=0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("could not start aurora-scheduler");
        try
        {
            var baseUri = await WaitListeningAsync(scheduler);
            using var http = new HttpClient { BaseAddress = baseUri };
            await WaitReadyAsync(http);

            // Warm-up: JIT and the first segment.
            await CreateAsync(http, "warmup", 0);

            var sequential = await MeasureAsync(writes, 1, i => CreateAsync(http, "seq", i));
            Report("create job, 1 client", sequential);
            var concurrent = await MeasureAsync(writes, clients, i => CreateAsync(http, "par", i));
            Report($"create job, {clients} clients", concurrent);
            var reads = await MeasureAsync(writes * 4, clients, i => ReadAsync(http, i % writes));
            Report($"read job, {clients} clients", reads);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ratio: write throughput {clients} clients / 1 client = {concurrent.Throughput / sequential.Throughput:F2}x; reads / writes ({clients} clients) = {reads.Throughput / concurrent.Throughput:F1}x"));

            var vars = (await http.GetStringAsync("vars")).Split('\n').Where(l => l.StartsWith("log_append_latency", StringComparison.Ordinal));
            Console.WriteLine("server side (/vars):");
            foreach (var line in vars)
            {
                Console.WriteLine("  " + line);
            }

            return 0;
        }
        finally
        {
            if (!scheduler.HasExited)
            {
                scheduler.Kill(entireProcessTree: true);
                await scheduler.WaitForExitAsync();
            }
        }
    }

    private sealed record Measurement(double[] LatenciesMs, double Seconds)
    {
        public double Throughput => LatenciesMs.Length / Seconds;

        public double Percentile(double p)
        {
            var sorted = LatenciesMs.Order().ToArray();
            return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        }
    }

    private static async Task<Measurement> MeasureAsync(int count, int clients, Func<int, Task> operation)
    {
        var latencies = new double[count];
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var started = Stopwatch.GetTimestamp();
                await operation(i);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
        })));
        return new Measurement(latencies, watch.Elapsed.TotalSeconds);
    }

    private static void Report(string name, Measurement m) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-26} {m.LatenciesMs.Length,6} ops  {m.Throughput,8:F0} ops/s  p50 {m.Percentile(0.5),7:F2} ms  p99 {m.Percentile(0.99),7:F2} ms"));

    private static async Task CreateAsync(HttpClient http, string prefix, int i)
    {
        var name = $"{prefix}{i}";
        var key = new JsonObject { ["role"] = "bench", ["environment"] = "prod", ["name"] = name };
        var config = new JsonObject
        {
            ["key"] = key,
            ["instanceCount"] = 1,
            ["task"] = new JsonObject
            {
                ["job"] = key.DeepClone(),
                ["isService"] = true,
                ["tier"] = "preemptible",
                ["maxTaskFailures"] = 1,
                ["resources"] = new JsonObject { ["numCpus"] = 0.1, ["ramMb"] = 32, ["diskMb"] = 32 },
                ["processes"] = new JsonArray(new JsonObject { ["name"] = "main", ["cmdline"] = "sleep 60" }),
            },
        };
        using var response = await http.PostAsJsonAsync("api/jobs", new JsonObject { ["config"] = config });
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"create {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task ReadAsync(HttpClient http, int i)
    {
        using var response = await http.GetAsync($"api/jobs/bench/prod/seq{i}");
        response.EnsureSuccessStatusCode();
    }

    private static async Task<Uri> WaitListeningAsync(Process scheduler)
    {
        _ = scheduler.StandardError.ReadToEndAsync();
        while (await scheduler.StandardOutput.ReadLineAsync() is { } line)
        {
            if (Listening().Match(line) is { Success: true } match)
            {
                _ = scheduler.StandardOutput.ReadToEndAsync();
                return new Uri(match.Groups["url"].Value.TrimEnd('/') + "/");
            }
        }

        throw new InvalidOperationException($"aurora-scheduler exited ({scheduler.ExitCode}) before listening");
    }

    private static async Task WaitReadyAsync(HttpClient http)
    {
        for (var attempt = 0; attempt < 600; attempt++)
        {
            using var response = await http.GetAsync("leaderhealth");
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException("the scheduler did not become ready within a minute");
    }

    private static Dictionary<string, string> ParseOptions(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length || args[i][2..] is not ("bin" or "writes" or "clients" or "dir"))
            {
                throw new ArgumentException($"api: unexpected argument '{args[i]}' (options: --bin DIR --writes N --clients N --dir DIR)");
            }

            options[args[i][2..]] = args[++i];
        }

        return options;
    }

    [GeneratedRegex(@"listening on (?<url>http://\S+)")]
    private static partial Regex Listening();
}
