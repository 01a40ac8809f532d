using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Aurora.Agent.Node;
using Aurora.Agent.Protocol;
using Aurora.Agent.Tests.Support;

namespace Aurora.Agent.Tests;

/// <summary>Regressions from a hostile probe of a dev cluster, each against a real agent running a real task.</summary>
public sealed class HostileTaskTests
{
    private const int RequestFailed = 4111;
    private const int LaunchRefused = 4013;
    private const int LaunchFailed = 4014;
    private const int TookOn = 4106;

    /// <summary>Long polls the repeating scheduler answers before the test counts heartbeats.</summary>
    private const int LongPolls = 5;

    /// <summary>Heartbeats a well-behaved agent may send besides the long polls: the first ones after start and after the launch, one in flight.</summary>
    private const int Slack = 10;

    /// <summary>
    /// The probe's two reads of files the task may not hand out: a symbolic link swapped to /etc/shadow in a
    /// loop while reads run (check, then open), and a hard link to /etc/passwd. The task itself makes them.
    /// </summary>
    [Fact]
    public async Task Bug_a_task_swapping_links_to_etc_shadow_while_thousands_of_reads_run_never_leaks_a_byte_and_a_hard_link_to_etc_passwd_is_refused()
    {
        var shadow = File.ReadAllLines("/etc/shadow").Where(line => line.Length > 0).ToList();
        Assert.NotEmpty(shadow);
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        const string Swapper =
            "mkdir -p real && echo safe > real/shadow && echo safe > plain && ln -s /etc/shadow abs && ln -s ../../../../../../../../etc/shadow rel "
            + "&& ln /etc/passwd passwd && touch ready "
            + "&& while :; do ln -sfn /etc/shadow f.tmp && mv -T f.tmp race; cp plain f.tmp && mv -T f.tmp race; "
            + "ln -sfn /etc d.tmp && mv -T d.tmp dir; ln -sfn real d.tmp && mv -T d.tmp dir; done";
        var launch = Agents.Launch("t-swap") with { Processes = [new ProcessSpec("main", Swapper, 1, false, false, 0, false, null)] };
        await using var scheduler = await FakeScheduler.StartAsync((request, n, s, http) =>
            n == 0 ? FakeScheduler.WriteAsync(http, new HeartbeatResponse([launch], [], [], 10_000))
            : request.WaitMs > 0 ? s.HoldAsync(request, http)
            : FakeScheduler.WriteAsync(http, FakeScheduler.Empty()));
        var node = await AgentNode.StartAsync(Agents.Options(directory.Path, scheduler.BaseUri), logs.Factory);
        string? hardLink = null;
        try
        {
            await scheduler.WaitForAsync(r => r.Tasks.Any(t => t.TaskId == "t-swap" && t.Current.State == AgentTaskState.Running));
            var sandbox = node.Executor.SandboxOf("t-swap")!;
            hardLink = Path.Combine(sandbox, "passwd");
            await Eventually.HoldsAsync("the task to make its links", () => File.Exists(Path.Combine(sandbox, "ready")), TimeSpan.FromSeconds(30), poll: TimeSpan.FromMilliseconds(20));
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = node.SandboxUri, Timeout = TimeSpan.FromSeconds(60) };

            // The hard link, first: it makes /etc/passwd a file with two names only for as long as it must.
            foreach (var url in new[] { "tasks/t-swap/read?path=passwd", "tasks/t-swap/tail?path=passwd" })
            {
                using var refused = await http.GetAsync(url);
                var body = await refused.Content.ReadAsStringAsync();
                Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{url}: expected 400, got {(int)refused.StatusCode}: {body}");
                Assert.Contains("HARD_LINKED", body, StringComparison.Ordinal);
                Assert.DoesNotContain("root:", body, StringComparison.Ordinal);
            }

            File.Delete(hardLink);
            hardLink = null;

            foreach (var path in new[] { "abs", "rel" })
            {
                using var refused = await http.GetAsync($"tasks/t-swap/read?path={path}");
                var body = await refused.Content.ReadAsStringAsync();
                Assert.True(refused.StatusCode == HttpStatusCode.BadRequest && body.Contains("resolves outside the sandbox", StringComparison.Ordinal), $"{path}: {(int)refused.StatusCode} {body}");
            }

            const int Reads = 3000;
            var outcomes = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
            var leaks = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var urls = new[] { "read?path=race", "tail?path=race", "read?path=dir%2Fshadow", "tail?path=dir%2Fshadow", "browse?path=dir" };
            await Parallel.ForEachAsync(Enumerable.Range(0, Reads), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, cancel) =>
            {
                using var response = await http.GetAsync($"tasks/t-swap/{urls[i % urls.Length]}", cancel);
                var body = await response.Content.ReadAsStringAsync(cancel);
                outcomes.AddOrUpdate($"{(int)response.StatusCode}", 1, (_, n) => n + 1);
                if (shadow.Any(line => body.Contains(line, StringComparison.Ordinal)) || body.Contains("root:", StringComparison.Ordinal))
                {
                    leaks.Enqueue($"{urls[i % urls.Length]}: {body}");
                }
            });

            var histogram = string.Join(", ", outcomes.Select(o => $"{o.Key}: {o.Value}"));
            Assert.True(leaks.IsEmpty, $"{leaks.Count} answers held /etc/shadow, e.g. {leaks.FirstOrDefault()} ({histogram})");
            Assert.Equal(Reads, outcomes.Values.Sum());
            Assert.True(outcomes.GetValueOrDefault("200") > 0, $"no read was served, so nothing was tried ({histogram})");
            Assert.True(outcomes.Keys.All(k => k is "200" or "400" or "404"), histogram);
            Assert.Equal(0, logs.Count(RequestFailed));
        }
        finally
        {
            if (hardLink is not null)
            {
                File.Delete(hardLink);
            }

            await node.StopAndKillTasksAsync(TimeSpan.FromSeconds(2));
        }
    }

    [Fact]
    public async Task Bug_a_fifo_in_a_sandbox_froze_the_agent__parallel_reads_of_it_answer_400_at_once_while_health_and_state_keep_answering()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        var launch = Agents.Launch("t-fifo") with { Processes = [new ProcessSpec("main", "mkfifo pipe && exec sleep 600", 1, false, false, 0, false, null)] };
        await using var scheduler = await FakeScheduler.StartAsync((request, n, s, http) =>
            n == 0 ? FakeScheduler.WriteAsync(http, new HeartbeatResponse([launch], [], [], 10_000))
            : request.WaitMs > 0 ? s.HoldAsync(request, http)
            : FakeScheduler.WriteAsync(http, FakeScheduler.Empty()));
        var node = await AgentNode.StartAsync(Agents.Options(directory.Path, scheduler.BaseUri), logs.Factory);
        try
        {
            await scheduler.WaitForAsync(r => r.Tasks.Any(t => t.TaskId == "t-fifo" && t.Current.State == AgentTaskState.Running));
            var pipe = Path.Combine(node.Executor.SandboxOf("t-fifo")!, "pipe");
            await Eventually.HoldsAsync("the task to make its FIFO", () => File.Exists(pipe), TimeSpan.FromSeconds(30), poll: TimeSpan.FromMilliseconds(20));

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = node.SandboxUri, Timeout = TimeSpan.FromSeconds(60) };
            var clock = Stopwatch.StartNew();
            var reads = Enumerable.Range(0, 200)
                .Select(i => http.GetAsync(i % 2 == 0 ? "tasks/t-fifo/read?path=pipe" : "tasks/t-fifo/tail?path=pipe"))
                .ToList();
            var health = Enumerable.Range(0, 10).Select(_ => http.GetStringAsync("health")).ToList();
            var state = http.GetStringAsync("state");

            foreach (var response in await Task.WhenAll(reads))
            {
                using (response)
                {
                    var body = await response.Content.ReadAsStringAsync();
                    Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"expected 400, got {(int)response.StatusCode}: {body}");
                    using var error = JsonDocument.Parse(body);
                    Assert.Equal("NOT_A_FILE", error.RootElement.GetProperty("error").GetProperty("code").GetString());
                    Assert.Equal("'pipe' is a FIFO (named pipe); only regular files are served", error.RootElement.GetProperty("error").GetProperty("message").GetString());
                }
            }

            Assert.All(await Task.WhenAll(health), text => Assert.Equal("OK\n", text));
            Assert.Contains("\"t-fifo\"", await state, StringComparison.Ordinal);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"200 refusals took {clock.Elapsed}");

            // No request holds the FIFO open: a writer finds no reader (the probe's write woke 200 blocked
            // reads, which then threw), and the agent answers as before.
            Assert.False(SpecialFiles.FifoHasReader(pipe), "a request left the FIFO open for reading");
            using var again = await http.GetAsync("tasks/t-fifo/read?path=pipe");
            Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
            using var browse = JsonDocument.Parse(await http.GetStringAsync("tasks/t-fifo/browse"));
            Assert.Equal("fifo", browse.RootElement.EnumerateArray().Single(e => e.GetProperty("name").GetString() == "pipe").GetProperty("kind").GetString());
            Assert.Equal(0, logs.Count(RequestFailed));
        }
        finally
        {
            await node.StopAndKillTasksAsync(TimeSpan.FromSeconds(2));
        }
    }

    [Fact]
    public async Task Bug_a_launch_with_a_too_long_id_looped_thousands_of_times_a_second__it_is_refused_once_and_heartbeats_keep_their_pace()
    {
        // A 200-character job name gave ids of 251 characters: a sandbox directory fits, {id}.json.tmp does not.
        var taskId = $"www-data-prod-{new string('j', 198)}-0-{Guid.NewGuid()}";
        Assert.Equal(251, taskId.Length);
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        var longPolls = new StrongBox<int>();
        await using var scheduler = await RepeatingLaunchAsync(Agents.Launch(taskId), longPolls);
        var node = await AgentNode.StartAsync(Agents.Options(directory.Path, scheduler.BaseUri), logs.Factory);
        try
        {
            var heartbeats = await CountHeartbeatsAfterLongPollsAsync(scheduler, longPolls);

            Assert.True(heartbeats <= LongPolls + Slack, $"{heartbeats} heartbeats for {LongPolls} long polls: the repeated launch drives a busy loop");
            Assert.Equal(1, logs.Count(LaunchRefused));
            Assert.Contains("has 251 characters; at most 239 fit", logs.Entries.Single(e => e.EventId == LaunchRefused).Message, StringComparison.Ordinal);
            Assert.Equal(0, logs.Count(TookOn));
            Assert.Empty(node.Executor.Inventory());
            Assert.All(scheduler.Received, r => Assert.Empty(r.Tasks));
            Assert.All(scheduler.Received, r => Assert.Null(ProtocolLimits.Problem(r)));
        }
        finally
        {
            await node.StopAndKillTasksAsync(TimeSpan.FromSeconds(2));
        }
    }

    [Fact]
    public async Task Bug_a_launch_whose_checkpoint_cannot_be_written_looped__it_fails_once_with_the_reason_and_heartbeats_keep_their_pace()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();

        // Tests run as root, whom file modes do not stop: a directory where the temp checkpoint goes fails the write for anyone.
        Directory.CreateDirectory(Path.Combine(directory.Path, "checkpoints", "t-nockpt.json.tmp"));
        var longPolls = new StrongBox<int>();
        var launch = Agents.Launch("t-nockpt") with { Processes = [new ProcessSpec("main", "echo ran > ran; exec sleep 60", 1, false, false, 0, false, null)] };
        await using var scheduler = await RepeatingLaunchAsync(launch, longPolls);
        var node = await AgentNode.StartAsync(Agents.Options(directory.Path, scheduler.BaseUri), logs.Factory);
        try
        {
            var heartbeats = await CountHeartbeatsAfterLongPollsAsync(scheduler, longPolls);

            Assert.True(heartbeats <= LongPolls + Slack, $"{heartbeats} heartbeats for {LongPolls} long polls: the repeated launch drives a busy loop");
            var reports = scheduler.Received.SelectMany(r => r.Tasks).Where(t => t.TaskId == "t-nockpt").ToList();
            Assert.NotEmpty(reports);
            var failed = Assert.Single(reports[^1].History);
            Assert.Equal(AgentTaskState.Failed, failed.State);
            Assert.StartsWith("Cannot launch task t-nockpt on agent-host: its checkpoint cannot be written: ", failed.Message, StringComparison.Ordinal);
            Assert.All(reports, r => Assert.Equal([AgentTaskState.Failed], r.History.Select(t => t.State)));
            Assert.Equal(1, logs.Count(LaunchFailed));
            Assert.Equal(1, logs.Count(TookOn));
            Assert.All(scheduler.Received, r => Assert.Null(ProtocolLimits.Problem(r)));

            // Five long polls (1.5 s and more) after the launch, nothing of the task ran.
            Assert.False(File.Exists(Path.Combine(node.Executor.SandboxOf("t-nockpt")!, "ran")));
        }
        finally
        {
            await node.StopAndKillTasksAsync(TimeSpan.FromSeconds(2));
        }
    }

    /// <summary>
    /// A scheduler that answers every heartbeat with the same launch, as one would that never
    /// learns the task started: at once when the agent asks not to be held, after 300 ms when it
    /// long-polls (counted in <paramref name="longPolls"/>), with a 100 ms heartbeat interval.
    /// </summary>
    private static Task<FakeScheduler> RepeatingLaunchAsync(TaskLaunch launch, StrongBox<int> longPolls) =>
        FakeScheduler.StartAsync(async (request, n, s, http) =>
        {
            if (request.WaitMs > 0)
            {
                try
                {
                    await Task.Delay(300, http.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            await FakeScheduler.WriteAsync(http, new HeartbeatResponse([launch], [], [], 100));
            if (request.WaitMs > 0)
            {
                Interlocked.Increment(ref longPolls.Value);
            }
        });

    /// <summary>Heartbeats received once <see cref="LongPolls"/> long polls were answered, or as soon as a busy loop shows (more than 500).</summary>
    private static async Task<int> CountHeartbeatsAfterLongPollsAsync(FakeScheduler scheduler, StrongBox<int> longPolls)
    {
        await Eventually.HoldsAsync(
            $"{LongPolls} answered long polls (or a busy loop)",
            () => Volatile.Read(ref longPolls.Value) >= LongPolls || scheduler.Received.Count > 500,
            TimeSpan.FromSeconds(60),
            poll: TimeSpan.FromMilliseconds(10));
        return scheduler.Received.Count;
    }
}
