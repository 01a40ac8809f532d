using System.Text.RegularExpressions;
using Aurora.Agent.Tests.Support;

namespace Aurora.Agent.Tests;

/// <summary>The aurora-agent executable as operators run it.</summary>
public sealed partial class ProcessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private static string Dll => Path.Combine(AppContext.BaseDirectory, "aurora-agent.dll");

    [Fact]
    public async Task Help_lists_every_flag_and_exits_zero()
    {
        using var process = ChildProcess.Start(Dll, ["-help"]);
        Assert.Equal(0, await process.WaitForExitAsync(Patience));
        foreach (var flag in Aurora.Agent.Node.AgentFlags.All)
        {
            Assert.Contains(process.Lines, l => l.Contains($"--{flag.Name}", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("-resources=cpus:four;mem:1024", "aurora-agent: -resources: \"cpus:four\": cpus must be a positive number")]
    [InlineData("-resources=ports:[31000-31999,31500-32000]", "aurora-agent: -resources: \"ports:[31000-31999,31500-32000]\": port ranges 31000-31999 and 31500-32000 overlap")]
    [InlineData("-attributes=rack:r1;zone", "aurora-agent: -attributes: \"zone\": expected name:value")]
    [InlineData("-http_prot=5051", "aurora-agent: unknown flag -http_prot for aurora-agent")]
    public async Task A_malformed_flag_is_one_line_on_stderr_and_exit_code_2(string flag, string line)
    {
        using var directory = new TempDirectory();
        using var process = ChildProcess.Start(Dll, [$"-work_dir={directory.Sub("work")}", flag]);
        Assert.Equal(2, await process.WaitForExitAsync(Patience));
        Assert.Equal(line + "\n", process.StandardError);
        Assert.Equal(string.Empty, process.StandardOutput);
    }

    [Fact]
    public async Task The_agent_heartbeats_serves_its_sandboxes_keeps_its_id_and_exits_zero_on_sigterm()
    {
        using var directory = new TempDirectory();
        await using var scheduler = await FakeScheduler.StartIdleAsync();
        string[] args = [$"-work_dir={directory.Sub("work")}", $"-scheduler={scheduler.BaseUri}", "-ip=127.0.0.1", "-http_port=0", "-hostname=proc-host", "-resources=cpus:1;mem:256;disk:512", "-isolation=none"];

        string firstId;
        using (var agent = ChildProcess.Start(Dll, args))
        {
            var sandbox = new Uri((await agent.WaitForLineAsync(Serving(), Patience)).Groups["uri"].Value);
            using var http = new HttpClient { BaseAddress = sandbox };
            Assert.Equal("OK\n", await http.GetStringAsync("health"));
            var heartbeat = await scheduler.WaitForAsync(r => r.Hostname == "proc-host");
            firstId = heartbeat.AgentId;
            Assert.StartsWith("proc-host-", firstId, StringComparison.Ordinal);
            Assert.Equal(sandbox.ToString().TrimEnd('/'), heartbeat.SandboxUrl);
            agent.Terminate();
            Assert.Equal(0, await agent.WaitForExitAsync(Patience));
        }

        var before = scheduler.Received.Count;
        using (var again = ChildProcess.Start(Dll, args))
        {
            await again.WaitForLineAsync(Serving(), Patience);
            await scheduler.WaitForAsync(_ => scheduler.Received.Count > before);
            Assert.Equal(firstId, scheduler.Received[before].AgentId);
            again.Terminate();
            Assert.Equal(0, await again.WaitForExitAsync(Patience));
        }

        Assert.Single(scheduler.Received.Select(r => r.AgentId).Distinct());
    }

    [GeneratedRegex(@"serving sandboxes at (?<uri>http://\S+); heartbeating")]
    private static partial Regex Serving();
}
