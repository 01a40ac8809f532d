using static Aurora.Agent.Executor.Tests.ExecutorHarness;

namespace Aurora.Agent.Executor.Tests;

public sealed class LogRotationTests : IAsyncLifetime
{
    // 200 lines of 501 bytes, over about a second: roughly 100 KB.
    private const string Writer = "for i in $(seq 1 200); do printf '%0500d\\n' $i; if (( i % 20 == 0 )); then sleep 0.1; fi; done";

    private readonly ExecutorHarness _harness = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public void Rotation_shifts_backups_copies_the_current_file_and_truncates_it()
    {
        var dir = _harness.Temp.Sub("run");
        Directory.CreateDirectory(dir);
        var stdout = Path.Combine(dir, "stdout");
        File.WriteAllText(stdout, new string('c', 3000));
        File.WriteAllText(stdout + ".1", "one");
        File.WriteAllText(stdout + ".2", "two");
        File.WriteAllText(Path.Combine(dir, "stderr"), "small");

        var rotated = LogRotation.RotateIfNeeded(dir, _harness.Temp.Path, new LoggerSpec(LoggerSpec.Rotate, 2, 2), bytesPerMb: 1000);

        Assert.Equal(1, rotated);
        Assert.Equal("", File.ReadAllText(stdout));
        Assert.Equal(new string('c', 3000), File.ReadAllText(stdout + ".1"));
        Assert.Equal("one", File.ReadAllText(stdout + ".2"));
        Assert.False(File.Exists(stdout + ".3"));
        Assert.Equal("small", File.ReadAllText(Path.Combine(dir, "stderr")));
    }

    [Fact]
    public async Task A_rotate_logger_keeps_the_logs_of_a_running_process_within_its_backups()
    {
        var executor = _harness.Start(options => options with { RotateBytesPerMb = 1024 });
        executor.Launch(Launches.Task("t1", Launches.Process("chatty", Writer) with { Logger = new LoggerSpec(LoggerSpec.Rotate, 4, 2) }));

        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);

        var run = Path.Combine(executor.SandboxOf("t1")!, ".logs", "chatty", "0");
        Assert.True(File.Exists(Path.Combine(run, "stdout.1")));
        Assert.True(File.Exists(Path.Combine(run, "stdout.2")));
        Assert.False(File.Exists(Path.Combine(run, "stdout.3")));
        Assert.True(new FileInfo(Path.Combine(run, "stdout")).Length < 100_000);
    }

    [Fact]
    public async Task The_launch_default_logger_applies_and_standard_never_rotates()
    {
        var executor = _harness.Start(options => options with { RotateBytesPerMb = 1024 });
        executor.Launch(Launches.Task("t1",
            Launches.Process("plain", Writer) with { Logger = new LoggerSpec(LoggerSpec.Standard, 1, 1) },
            Launches.Process("defaulted", Writer)) with
        { DefaultLogger = new LoggerSpec(LoggerSpec.Rotate, 4, 1) });

        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);

        var logs = Path.Combine(executor.SandboxOf("t1")!, ".logs");
        Assert.Equal(200 * 501, new FileInfo(Path.Combine(logs, "plain", "0", "stdout")).Length);
        Assert.False(File.Exists(Path.Combine(logs, "plain", "0", "stdout.1")));
        Assert.True(File.Exists(Path.Combine(logs, "defaulted", "0", "stdout.1")));
        Assert.False(File.Exists(Path.Combine(logs, "defaulted", "0", "stdout.2")));
    }

    [Fact]
    public async Task Unset_logger_fields_fall_back_to_the_tasks_default_then_to_the_agents()
    {
        // The agent keeps 3 backups of 4 MB; the task's default says rotate but nothing else; the
        // process asks only for 1 backup.
        var executor = _harness.Start(options => options with { RotateBytesPerMb = 1024, DefaultLogger = new LoggerSpec(LoggerSpec.Standard, 4, 3) });
        executor.Launch(Launches.Task("t1",
            Launches.Process("one_backup", Writer) with { Logger = new LoggerSpec(string.Empty, 0, 1) },
            Launches.Process("agent_backups", Writer)) with
        { DefaultLogger = new LoggerSpec(LoggerSpec.Rotate, 0, 0) });

        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);

        var logs = Path.Combine(executor.SandboxOf("t1")!, ".logs");
        Assert.True(File.Exists(Path.Combine(logs, "one_backup", "0", "stdout.1")));
        Assert.False(File.Exists(Path.Combine(logs, "one_backup", "0", "stdout.2")));
        Assert.True(File.Exists(Path.Combine(logs, "agent_backups", "0", "stdout.3")));
        Assert.False(File.Exists(Path.Combine(logs, "agent_backups", "0", "stdout.4")));
    }

    [Fact]
    public void Over_fills_only_the_unset_fields()
    {
        var fallback = new LoggerSpec(LoggerSpec.Rotate, 100, 10);
        Assert.Same(fallback, LoggerSpec.Over(null, fallback));
        Assert.Equal(new LoggerSpec(LoggerSpec.Standard, 100, 10), LoggerSpec.Over(new LoggerSpec(LoggerSpec.Standard, 0, 0), fallback));
        Assert.Equal(new LoggerSpec(LoggerSpec.Rotate, 7, 2), LoggerSpec.Over(new LoggerSpec(string.Empty, 7, 2), fallback));
    }
}
