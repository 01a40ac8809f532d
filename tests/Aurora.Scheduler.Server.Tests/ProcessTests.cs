using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aurora.Scheduler.Server.Tests.Support;

namespace Aurora.Scheduler.Server.Tests;

/// <summary>The aurora-scheduler executable as operators run it: flags, -dev, SIGTERM, kill -9.</summary>
public sealed partial class ProcessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private static string Dll => Path.Combine(AppContext.BaseDirectory, "aurora-scheduler.dll");

    [Fact]
    public async Task Help_lists_the_flags_and_exits_zero()
    {
        using var process = ChildProcess.Start(Dll, ["-help"]);
        Assert.Equal(0, await process.WaitForExitAsync(Patience));
        Assert.Contains(process.Lines, l => l.Contains("-native_log_file_path=DIR", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bad_flag_is_one_line_and_exit_code_2()
    {
        using var process = ChildProcess.Start(Dll, ["-dev", "-http_prot=8081"]);
        Assert.Equal(2, await process.WaitForExitAsync(Patience));
        Assert.Equal("aurora-scheduler: unknown flag -http_prot for aurora-scheduler", Assert.Single(process.Lines));
    }

    [Fact]
    public async Task Outside_dev_a_missing_log_is_not_initialized_and_the_api_says_what_to_do()
    {
        using var directory = new TempDirectory();
        var log = Path.Combine(directory.Path, "log");
        using var process = ChildProcess.Start(Dll, ["-cluster_name=c", "-ip=127.0.0.1", "-http_port=0", $"-native_log_file_path={log}", $"-backup_dir={directory.Sub("backups")}"]);
        using var http = new HttpClient { BaseAddress = await BaseUriAsync(process) };
        await process.WaitForLineAsync(ReplicaEmpty(), Patience);
        using var response = await http.GetAsync("api/jobs");
        Assert.Equal(503, (int)response.StatusCode);
        Assert.Contains("Storage is not READY", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(log, "replica.meta")));
        process.Terminate();
        Assert.Equal(0, await process.WaitForExitAsync(Patience));
    }

    [Fact]
    public async Task Dev_initializes_once_stops_on_sigterm_and_keeps_acknowledged_writes_through_kill_9()
    {
        using var directory = new TempDirectory();
        var dev = directory.Sub("dev");
        string[] args = ["-dev", $"-dev_dir={dev}", "-http_port=0", "-dev_agent=false"];

        using (var first = ChildProcess.Start(Dll, args))
        {
            using var http = new HttpClient { BaseAddress = await BaseUriAsync(first) };
            await WaitReadyAsync(http);
            Assert.True(File.Exists(Path.Combine(dev, "log", "replica.meta")));
            using var created = await http.PostAsync("api/jobs", JsonContent.Create(new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job()) }));
            Assert.Equal(200, (int)created.StatusCode);
            first.Terminate();
            Assert.Equal(0, await first.WaitForExitAsync(Patience));
        }

        using (var second = ChildProcess.Start(Dll, args))
        {
            using var http = new HttpClient { BaseAddress = await BaseUriAsync(second) };
            await WaitReadyAsync(http);
            Assert.DoesNotContain(second.Lines, l => l.Contains("Initialized a new dev log", StringComparison.Ordinal));
            Assert.Equal(200, (int)(await http.GetAsync("api/jobs/www-data/prod/hello")).StatusCode);
            using var killed = await http.PostAsync("api/jobs/www-data/prod/hello/kill", JsonContent.Create(new JsonObject { ["instances"] = new JsonArray(0) }));
            Assert.Equal(200, (int)killed.StatusCode);
            second.Kill();
            await second.WaitForExitAsync(Patience);
        }

        using var third = ChildProcess.Start(Dll, args);
        using var client = new HttpClient { BaseAddress = await BaseUriAsync(third) };
        await WaitReadyAsync(client);
        var job = JsonNode.Parse(await client.GetStringAsync("api/jobs/www-data/prod/hello"))!;
        Assert.Equal([1], job["tasks"]!.AsArray().Select(t => t!["instance"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Every_write_acknowledged_before_kill_9_is_there_after_a_restart()
    {
        using var directory = new TempDirectory();
        string[] args = ["-dev", $"-dev_dir={directory.Sub("dev")}", "-http_port=0", "-dev_agent=false"];
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        using (var victim = ChildProcess.Start(Dll, args))
        {
            using var http = new HttpClient { BaseAddress = await BaseUriAsync(victim) };
            await WaitReadyAsync(http);
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 4).Select(writer => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var name = $"w{writer}n{i}";
                    try
                    {
                        using var response = await http.PostAsync("api/jobs", JsonContent.Create(new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job(name, instances: 1)) }));
                        if ((int)response.StatusCode == 200)
                        {
                            acknowledged.Add(name);
                        }
                    }
                    catch (HttpRequestException)
                    {
                        // The process died under this request: not acknowledged, so it may or may not exist.
                        return;
                    }
                }
            })).ToList();

            // Writes are in flight on every writer when the process dies.
            while (acknowledged.Count < 40)
            {
                await Task.Delay(10);
            }

            victim.Kill();
            await victim.WaitForExitAsync(Patience);
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        using var restarted = ChildProcess.Start(Dll, args);
        using var client = new HttpClient { BaseAddress = await BaseUriAsync(restarted) };
        await WaitReadyAsync(client);
        var jobs = JsonNode.Parse(await client.GetStringAsync("api/jobs?role=www-data"))!["jobs"]!.AsArray()
            .Select(j => j!["job"]!["name"]!.GetValue<string>())
            .ToHashSet(StringComparer.Ordinal);
        var lost = acknowledged.Where(name => !jobs.Contains(name)).ToList();
        Assert.True(lost.Count == 0, $"acknowledged but lost: {string.Join(", ", lost)}");
    }

    private static async Task<Uri> BaseUriAsync(ChildProcess process)
    {
        var match = await process.WaitForLineAsync(Listening(), Patience);
        return new Uri(match.Groups["url"].Value.TrimEnd('/') + "/");
    }

    private static async Task WaitReadyAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            using var response = await http.GetAsync("leaderhealth");
            if ((int)response.StatusCode == 200)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "the scheduler did not become leader");
            await Task.Delay(100);
        }
    }

    [GeneratedRegex(@"listening on (?<url>http://\S+)")]
    private static partial Regex Listening();

    [GeneratedRegex("Replicated log not initialized")]
    private static partial Regex ReplicaEmpty();
}
