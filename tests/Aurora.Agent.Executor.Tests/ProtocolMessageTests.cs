using System.Text.Json.Nodes;
using static Aurora.Agent.Executor.Tests.ExecutorHarness;

namespace Aurora.Agent.Executor.Tests;

/// <summary>Every message the executor reports obeys the protocol (no control characters, at most 4096 characters), whatever it came from.</summary>
public sealed class ProtocolMessageTests : IAsyncLifetime
{
    private readonly ExecutorHarness _harness = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task A_last_stderr_line_that_is_long_and_holds_control_characters_is_fitted_into_the_failure_message()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("main", "printf 'why:\\t%s\\a\\n' \"$(head -c 6000 /dev/zero | tr '\\0' x)\" >&2; exit 2")));

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Failed);

        var message = report.Current.Message;
        Assert.Equal(message, ProtocolLimits.FitMessage(message));
        Assert.Equal(ProtocolLimits.MaxMessageLength, message.Length);
        Assert.StartsWith("Process 'main' failed (exit status 2 after 1 attempt): why: xxx", message, StringComparison.Ordinal);
        Assert.EndsWith("x...", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_kill_reason_that_is_long_and_multi_line_is_fitted_into_the_killed_message()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("main", "exec sleep 1000")));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Running);

        Assert.True(executor.Kill("t1", "Killed by\nwww-data\r\n" + new string('k', 5000), TimeSpan.FromSeconds(5)));

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Killed);
        Assert.Equal(report.Current.Message, ProtocolLimits.FitMessage(report.Current.Message));
        Assert.StartsWith("Killed by www-data  kkk", report.Current.Message, StringComparison.Ordinal);
        Assert.Equal(ProtocolLimits.MaxMessageLength, report.Current.Message.Length);
    }

    [Fact]
    public async Task Messages_an_older_agent_checkpointed_are_fitted_when_reported()
    {
        var first = _harness.Start();
        first.Launch(Launches.Task("t1", Launches.Process("main", "echo done")));
        await WaitForStateAsync(first, "t1", AgentTaskState.Finished);
        await _harness.StopAsync(first);
        var checkpoint = JsonNode.Parse(await File.ReadAllTextAsync(_harness.CheckpointPath("t1")))!;
        checkpoint["history"]![2]!["message"] = "line one\nline two\t" + new string('m', 9000);
        await File.WriteAllTextAsync(_harness.CheckpointPath("t1"), checkpoint.ToJsonString());

        var second = _harness.Start();
        var report = Assert.Single(second.Recover());

        Assert.All(report.History, t => Assert.Equal(t.Message, ProtocolLimits.FitMessage(t.Message)));
        Assert.StartsWith("line one line two mmm", report.Current.Message, StringComparison.Ordinal);
        Assert.Equal(report.Current, Assert.Single(second.Inventory()).Current);
    }
}
