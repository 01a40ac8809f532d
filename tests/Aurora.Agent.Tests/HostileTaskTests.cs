using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Aurora.Agent.Node;
using Aurora.Agent.Protocol;
using Aurora.Agent.Tests.Support;

namespace Aurora.Agent.Tests;

/// <summary>Regressions from a hostile probe of a dev cluster, each against a real agent running a real task.</summary>
public sealed class HostileTaskTests
{
    private const int RequestFailed = 4111;

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
}
