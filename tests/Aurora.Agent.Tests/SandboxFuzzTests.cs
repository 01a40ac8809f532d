using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Aurora.Agent.Node;
using Aurora.Agent.Protocol;
using Aurora.Agent.Tests.Support;
using Xunit.Abstractions;

namespace Aurora.Agent.Tests;

/// <summary>
/// A seeded fuzzer of the sandbox server: a real agent serving a <see cref="HostileSandbox"/>,
/// random requests (traversal, absolute paths, NUL, encoded dots, long, unicode and raw-byte
/// names, bad and repeated parameters) from parallel clients, while a thread keeps swapping path
/// components for symbolic links to the outside.
/// </summary>
/// <remarks>
/// Every request must answer within <see cref="AnswerBound"/> with 2xx or 4xx and a well-formed
/// error; no answer may hold a byte from outside the sandbox; /health keeps answering throughout;
/// afterwards no FIFO is held open and nothing was logged as a failed request.
/// <list type="bullet">
/// <item><c>AURORA_FUZZ_SEED=N</c> replays a run (the seed is printed on failure; each case's
/// random source derives from the seed and the case number, so a case replays whatever the
/// interleaving, though a race with the swapping thread may not).</item>
/// <item><c>AURORA_FUZZ_LONG=1</c> runs <see cref="LongCases"/> cases instead of <see cref="DefaultCases"/>
/// (a quarter of that instead of <see cref="DefaultRaceCases"/> for the race);
/// <c>AURORA_FUZZ_CASES=N</c> sets the number outright.</item>
/// </list>
/// </remarks>
public sealed class SandboxFuzzTests(ITestOutputHelper output)
{
    public const int DefaultCases = 5_000;
    public const int DefaultRaceCases = 3_000;
    public const int LongCases = 200_000;

    private const string TaskId = "t-fuzz";
    private const int Parallelism = 8;
    private const int MaxFailuresShown = 10;
    private const int RequestFailed = 4111;

    private static readonly TimeSpan AnswerBound = TimeSpan.FromSeconds(5);

    private static readonly HashSet<string> ErrorCodes =
        ["INVALID_REQUEST", "BAD_PATH", "NOT_A_FILE", "NOT_A_DIRECTORY", "HARD_LINKED", "PERMISSION_DENIED", "NOT_FOUND"];

    [Fact]
    public Task Random_requests_against_a_hostile_sandbox_answer_at_once_and_never_serve_a_byte_from_outside() =>
        FuzzAsync(DefaultCases, LongCases, FuzzRequest.Generate);

    [Fact]
    public Task Reads_racing_a_task_that_swaps_path_components_for_symbolic_links_never_serve_a_byte_from_outside() =>
        FuzzAsync(DefaultRaceCases, LongCases / 4, FuzzRequest.Race);

    /// <summary>
    /// Runs <paramref name="defaultCases"/> requests made by <paramref name="generate"/> (more under
    /// AURORA_FUZZ_LONG=1, exactly AURORA_FUZZ_CASES when set) from parallel clients against a real
    /// agent serving a fresh <see cref="HostileSandbox"/> while its race paths are being swapped, and
    /// checks every answer and the agent afterwards.
    /// </summary>
    private async Task FuzzAsync(int defaultCases, int longCases, Func<Random, HostileSandbox, FuzzRequest> generate)
    {
        var settings = FuzzSettings.FromEnvironment(defaultCases, longCases);
        var (seed, cases, replay) = (settings.Seed, settings.Cases, settings.Replay);
        output.WriteLine(replay);

        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        using var world = HostileSandbox.Create(directory.Path, new Random(seed));
        await using var scheduler = await FakeScheduler.StartIdleAsync();
        var executor = new FakeExecutor();
        executor.Hold(FakeExecutor.Report(TaskId, AgentTaskState.Running));
        executor.SetSandbox(TaskId, world.Sandbox);
        await using var node = await AgentNode.StartAsync(Agents.Options(directory.Sub("work"), scheduler.BaseUri), logs.Factory, _ => executor);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Parallelism * 2 })
        {
            BaseAddress = node.SandboxUri,
            Timeout = AnswerBound * 3,
        };

        // Warmed up first (connection, JIT), so that the health probe's slowest answer is the agent's, not the first call's.
        Assert.Equal("OK\n", await http.GetStringAsync("health"));
        using (await http.GetAsync($"tasks/{TaskId}/browse"))
        {
        }

        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var swapping = world.StartSwapping(stop.Token);
        var health = ProbeHealthAsync(http, stop.Token);
        var next = -1;
        var workers = Enumerable.Range(0, Parallelism).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < cases && failures.Count < MaxFailuresShown)
            {
                var request = generate(new Random(CaseSeed(seed, i)), world);
                var (outcome, problem) = await CheckAsync(http, request, world);
                statuses.AddOrUpdate(outcome, 1, (_, n) => n + 1);
                if (problem is not null)
                {
                    failures.Enqueue($"case {i}: GET {request.Url}\n  {problem}");
                }
            }
        })).ToList();
        await Task.WhenAll(workers);
        var elapsed = clock.Elapsed;
        await stop.CancelAsync();
        var (probes, slowest, healthProblem) = await health;
        await swapping;

        output.WriteLine($"{Math.Min(next, cases)} requests in {elapsed.TotalSeconds:F1} s; /health answered {probes} times, slowest {slowest.TotalMilliseconds:F0} ms; {world.Swaps} swaps");
        output.WriteLine(string.Join(", ", statuses.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}: {s.Value}")));
        if (world.Skipped.Count > 0)
        {
            output.WriteLine("not made here: " + string.Join(", ", world.Skipped));
        }

        Assert.True(failures.IsEmpty, $"{replay}:\n{string.Join('\n', failures.Take(MaxFailuresShown))}");
        Assert.True(healthProblem is null, $"{replay}: /health failed: {healthProblem}");
        Assert.True(probes > 0 && slowest < AnswerBound, $"{replay}: /health answered {probes} times, slowest in {slowest}");
        Assert.All(world.Fifos, fifo => Assert.False(SpecialFiles.FifoHasReader(fifo), $"{replay}: a request left {fifo} open"));
        Assert.True(logs.Count(RequestFailed) == 0, $"{replay}: requests failed:\n{string.Join('\n', logs.Entries.Where(e => e.EventId == RequestFailed).Select(e => e.Message).Take(5))}");
    }

    /// <summary>One request, checked; the outcome for the histogram ("200", "400 BAD_PATH"...) and what is wrong with it, if anything.</summary>
    private static async Task<(string Outcome, string? Problem)> CheckAsync(HttpClient http, FuzzRequest request, HostileSandbox world)
    {
        var clock = Stopwatch.StartNew();
        HttpResponseMessage response;
        try
        {
            response = await http.GetAsync(request.Url);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return ("no answer", $"no answer after {clock.Elapsed}: {e.GetType().Name}: {e.Message}");
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync();
            var elapsed = clock.Elapsed;
            var status = (int)response.StatusCode;
            var headers = string.Join('\n', response.Headers.Concat(response.Content.Headers).Select(h => $"{h.Key}: {string.Join(',', h.Value)}"));
            var text = Encoding.UTF8.GetString(body);
            string? code = null;
            if (status >= 400 && response.Content.Headers.ContentType?.MediaType == "application/json")
            {
                try
                {
                    using var error = JsonDocument.Parse(body);
                    code = error.RootElement.GetProperty("error").GetProperty("code").GetString();
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    return ($"{status} malformed", $"{status} with a malformed error body: {Excerpt(text)}");
                }
            }

            var outcome = code is null ? status.ToString(CultureInfo.InvariantCulture) : $"{status} {code}";
            if (text.Contains("while it was opened", StringComparison.Ordinal))
            {
                // A swap caught between the check and the open: counted apart, to show the race is exercised.
                outcome += " (swap caught after the check)";
            }

            var problem = Problem();
            return (outcome, problem is null ? null : $"{outcome} after {elapsed.TotalMilliseconds:F0} ms: {problem}");

            string? Problem()
            {
                if (Contains(body, world.ContentSecret) || Contains(body, world.NameSecret) || headers.Contains(world.ContentSecret, StringComparison.Ordinal) || headers.Contains(world.NameSecret, StringComparison.Ordinal))
                {
                    return $"the answer holds a secret from outside the sandbox: {Excerpt(text)}";
                }

                if (elapsed > AnswerBound)
                {
                    return $"answered after {elapsed}, beyond {AnswerBound}";
                }

                switch (status)
                {
                    case 200 when request.Endpoint is "read" or "tail":
                        var foreign = Array.FindIndex(body, b => !HostileSandbox.InsideAlphabet.Contains((char)b, StringComparison.Ordinal));
                        return foreign < 0 ? null : $"byte {body[foreign]} at {foreign} is not from a sandbox file: {Excerpt(text)}";
                    case 200 when request.Endpoint == "health":
                        return text == "OK\n" ? null : $"health answered {Excerpt(text)}";
                    case 200:
                        return null;
                    case 414 or 431:
                        // Kestrel's own limit on the request line.
                        return null;
                    case 400 when body.Length == 0 && request.Url.Split('?')[0].Contains("%00", StringComparison.Ordinal):
                        // Kestrel refuses a NUL in the path itself, before any handler runs.
                        return null;
                    case 400 or 403 or 404 when code is null || !ErrorCodes.Contains(code):
                        return $"an error without a known code: {Excerpt(text)}";
                    case 404 when code != "NOT_FOUND":
                    case 403 when code != "PERMISSION_DENIED":
                    case 400 when code is "NOT_FOUND" or "PERMISSION_DENIED":
                        return $"status and code disagree: {Excerpt(text)}";
                    case 400 or 403 or 404:
                        return null;
                    default:
                        return $"unexpected status: {Excerpt(text)}";
                }
            }
        }
    }

    private static async Task<(int Probes, TimeSpan Slowest, string? Problem)> ProbeHealthAsync(HttpClient http, CancellationToken stop)
    {
        var probes = 0;
        var slowest = TimeSpan.Zero;
        while (!stop.IsCancellationRequested)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                var text = await http.GetStringAsync("health", CancellationToken.None);
                if (text != "OK\n")
                {
                    return (probes, slowest, $"answered '{text}'");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return (probes, slowest, $"{e.GetType().Name} after {clock.Elapsed}: {e.Message}");
            }

            probes++;
            slowest = clock.Elapsed > slowest ? clock.Elapsed : slowest;
            try
            {
                // Pacing, not waiting for anything: the probe runs beside the fuzz.
                await Task.Delay(20, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return (probes, slowest, null);
    }

    private static bool Contains(byte[] body, string secret) => body.AsSpan().IndexOf(Encoding.ASCII.GetBytes(secret)) >= 0;

    private static string Excerpt(string text) => text.Length <= 300 ? text : text[..300] + "...";

    /// <summary>Case <paramref name="i"/>'s seed (SplitMix64 of the run's seed and the case number).</summary>
    private static int CaseSeed(int seed, int i)
    {
        var z = ((ulong)(uint)seed << 32 | (uint)i) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)(z ^ (z >> 31));
    }

    /// <summary>A random request: the endpoint it targets and its URL relative to the agent, already percent-encoded.</summary>
    private sealed record FuzzRequest(string Endpoint, string Url)
    {
        private static readonly string[] Traversals =
        [
            "..", "../", "../outside", "../outside/f", "a/../../outside", "./../", "race/../..", "race/dir/../../..", "....//", "...", ".../...",
            "..\\outside", "race/dir/sub/../../../..", "./.", ".", "./", "//", "/..", "../" + TaskId, ".logs/../../..",
        ];

        private static readonly string[] Absolutes =
        [
            "/", "/etc/passwd", "/proc/self/environ", "/proc/self/fd/0", "//etc/passwd", "\\etc\\passwd", "/dev/zero", "~/", "~root/.ssh",
        ];

        /// <summary>Sent as they are: encodings a server might decode twice or wrongly.</summary>
        private static readonly string[] Raw =
        [
            "%2e%2e%2foutside%2ff", "%2E%2E/", "..%2F..%2F", "%252e%252e%252f", "%c0%ae%c0%ae/", "%e0%80%ae%e0%80%ae/", "%2e%2e%5coutside",
            "race%2fdir%2f..%2f..%2f..", "%00", "a%00b", "race/file%00", "%ff%fe", "%ED%A0%80", "%F4%90%80%80", "%", "%%", "%zz", "+..+",
        ];

        private static readonly string[] Numbers =
        [
            "0", "1", "10", "100", "65536", "1048576", "1048577", "-1", "abc", "99999999999999999999", "1e3", " 1", "0x10", "", "+5", "9223372036854775807",
            "2147483647", "2147483648", "٣", "1.5", "00000000000000000000001",
        ];

        /// <summary>Reads, tails and listings of the race paths only: what a swapped-in symbolic link could leak.</summary>
        public static FuzzRequest Race(Random random, HostileSandbox world)
        {
            var endpoint = Pick(random, ["read", "read", "tail", "browse"]);
            var path = endpoint == "browse"
                ? Pick(random, ["race/dir", "race/dir/sub", "race/dir/sub/", "race/evil-dir"])
                : Pick(random, ["race/dir/f", "race/dir/sub/f", "race/dir/./f", "race/dir//sub/f", "race/file", "race/evil-file"]);
            return new(endpoint, $"tasks/{TaskId}/{endpoint}?path={Escape(path)}");
        }

        public static FuzzRequest Generate(Random random, HostileSandbox world)
        {
            var endpoint = random.Next(100) switch
            {
                < 35 => "read",
                < 60 => "tail",
                < 80 => "browse",
                < 90 => "index",
                < 95 => "health",
                _ => "state",
            };
            if (endpoint is "health" or "state")
            {
                return new(endpoint, endpoint);
            }

            var task = random.Next(25) == 0 ? Pick(random, ["nope", "%2e%2e", "t-" + new string('x', 300), "t-fuzz%00", Escape("t-fuzz\n"), Escape("täsk")]) : TaskId;
            var query = new List<string>();
            if (random.Next(20) != 0)
            {
                query.Add("path=" + PathParameter(random, world));
            }

            if (random.Next(25) == 0)
            {
                query.Add("path=" + PathParameter(random, world));
            }

            if (endpoint == "read" && random.Next(3) == 0)
            {
                query.Add("offset=" + Escape(Pick(random, Numbers)));
            }

            if (endpoint == "read" && random.Next(3) == 0)
            {
                query.Add("length=" + Escape(Pick(random, Numbers)));
            }

            if (endpoint == "tail" && random.Next(2) == 0)
            {
                query.Add("lines=" + Escape(Pick(random, Numbers)));
            }

            var route = endpoint == "index" ? $"tasks/{task}" : $"tasks/{task}/{endpoint}";
            return new(endpoint, query.Count == 0 ? route : route + "?" + string.Join('&', query.OrderBy(_ => random.Next())));
        }

        private static string PathParameter(Random random, HostileSandbox world)
        {
            var known = world.Paths[random.Next(world.Paths.Count)];
            return random.Next(100) switch
            {
                < 40 => Escape(Mutate(random, known)),
                < 55 => Escape(Mutate(random, Pick(random, ["race/dir/f", "race/dir/sub/f", "race/dir", "race/dir/sub", "race/file", "race"]))),
                < 65 => Escape(Pick(random, Traversals) + (random.Next(2) == 0 ? string.Empty : "/" + known)),
                < 70 => Escape(Pick(random, Absolutes) + (random.Next(3) == 0 ? world.Sandbox + "/" + known : string.Empty)),
                < 78 => Pick(random, Raw),
                < 82 => Escape(known + "\0" + Pick(random, ["", "/../../outside", ".png"])),
                < 88 => Escape(random.Next(3) switch
                {
                    0 => new string('n', random.Next(250, 300)),
                    1 => string.Join('/', Enumerable.Repeat("d", random.Next(1000, 2100))),
                    _ => known + "/" + new string('x', random.Next(200, 4500)),
                }),
                < 94 => Escape(RandomText(random)),
                _ => string.Concat(Enumerable.Range(0, random.Next(1, 40)).Select(_ => "%" + random.Next(256).ToString("X2", CultureInfo.InvariantCulture))),
            };
        }

        private static string Mutate(Random random, string path) => random.Next(12) switch
        {
            0 => path + "/",
            1 => "./" + path,
            2 => path.Replace("/", "//", StringComparison.Ordinal),
            3 => path + "/.",
            4 => path + "/..",
            5 => path + "/x",
            6 => path.ToUpperInvariant(),
            7 => string.Empty,
            8 => path + "/../" + Path.GetFileName(path),
            _ => path,
        };

        private static string RandomText(Random random)
        {
            var builder = new StringBuilder();
            for (var i = random.Next(1, 30); i > 0; i--)
            {
                switch (random.Next(10))
                {
                    case 0:
                        builder.Append((char)random.Next(1, 32));
                        break;
                    case 1:
                        builder.Append(char.ConvertFromUtf32(random.Next(0x1F300, 0x1FAFF)));
                        break;
                    case 2:
                        builder.Append((char)random.Next(0x4E00, 0x9FFF));
                        break;
                    case 3:
                        builder.Append(Pick(random, ["\u202E", "\u0301", "\uFEFF", "\u00A0", "\u2024\u2024", "\uFF0E\uFF0E", "\uD800", "\uDFFF"]));
                        break;
                    case 4:
                        builder.Append(Pick(random, ["/", "..", ".", "\\", "%", "?", "#", "&", "="]));
                        break;
                    default:
                        builder.Append((char)random.Next(0x20, 0x7F));
                        break;
                }
            }

            return builder.ToString();
        }

        /// <summary>Percent-encodes the UTF-8 of <paramref name="text"/> (a lone surrogate becomes U+FFFD), leaving only unreserved characters.</summary>
        private static string Escape(string text)
        {
            var builder = new StringBuilder();
            foreach (var b in Encoding.UTF8.GetBytes(text))
            {
                var c = (char)b;
                if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '/')
                {
                    builder.Append(c);
                }
                else
                {
                    builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
                }
            }

            return builder.ToString();
        }

        private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
    }
}
