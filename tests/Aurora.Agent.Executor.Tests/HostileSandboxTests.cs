using System.Diagnostics;
using static Aurora.Agent.Executor.Tests.ExecutorHarness;

namespace Aurora.Agent.Executor.Tests;

/// <summary>
/// A task owns every name in its sandbox, its run directories included: what the executor reads or
/// rotates there may have been replaced by a FIFO (whose open blocks until a writer comes, under
/// the executor's lock) or by a link to a file outside. The executor must neither block nor reach out.
/// </summary>
public sealed class HostileSandboxTests : IAsyncLifetime
{
    private readonly ExecutorHarness _harness = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task A_fifo_planted_as_a_runs_stderr_is_not_read_and_the_executor_goes_on()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("main", "rm .logs/main/0/stderr && mkfifo .logs/main/0/stderr && exit 3")));

        var report = await WaitUnblockedAsync(executor, "t1", AgentTaskState.Failed);

        Assert.Equal("Process 'main' failed (exit status 3 after 1 attempt)", report.Current.Message);
        executor.Launch(Launches.Task("t2", Launches.Process("main", "echo still served")));
        await WaitUnblockedAsync(executor, "t2", AgentTaskState.Finished);
    }

    [Fact]
    public async Task A_fifo_planted_as_a_runs_exit_file_is_not_read_and_the_executor_goes_on()
    {
        var executor = _harness.Start();

        // The wrapper (the command's parent) is killed so that it never replaces the FIFO with the real exit file.
        executor.Launch(Launches.Task("t1", Launches.Process("main", "mkfifo .logs/main/0/exit && kill -9 $PPID; exit 0")));

        var report = await WaitUnblockedAsync(executor, "t1", AgentTaskState.Failed);

        Assert.Equal("Process 'main' failed (no exit status recorded (killed by a signal?) after 1 attempt)", report.Current.Message);
        executor.Launch(Launches.Task("t2", Launches.Process("main", "echo still served")));
        await WaitUnblockedAsync(executor, "t2", AgentTaskState.Finished);
    }

    [Theory]
    [InlineData("symlink")]
    [InlineData("hardlink")]
    [InlineData("fifo")]
    public void A_log_that_is_not_a_regular_file_of_its_own_is_neither_rotated_nor_truncated(string kind)
    {
        var sandbox = _harness.Temp.Sub("sandbox");
        var run = Path.Combine(sandbox, ".logs", "main", "0");
        Directory.CreateDirectory(run);
        var outside = _harness.Temp.Sub("outside.log");
        File.WriteAllText(outside, new string('o', 3000));
        var stdout = Path.Combine(run, "stdout");
        switch (kind)
        {
            case "symlink":
                File.CreateSymbolicLink(stdout, outside);
                break;
            case "hardlink":
                Run("ln", outside, stdout);
                break;
            default:
                Run("mkfifo", stdout);
                break;
        }

        var rotated = LogRotation.RotateIfNeeded(run, sandbox, new LoggerSpec(LoggerSpec.Rotate, 1, 2), bytesPerMb: 1000);

        Assert.Equal(0, rotated);
        Assert.Equal(new string('o', 3000), File.ReadAllText(outside));
        Assert.False(Path.Exists(stdout + ".1"));
    }

    [Fact]
    public void Exit_and_pid_files_are_read_only_when_they_are_regular_files_inside_the_sandbox()
    {
        var sandbox = _harness.Temp.Sub("sandbox");
        var run = Path.Combine(sandbox, ".logs", "main", "0");
        Directory.CreateDirectory(run);
        File.WriteAllText(_harness.Temp.Sub("outside-exit"), "7\n");
        File.CreateSymbolicLink(Path.Combine(run, "exit"), _harness.Temp.Sub("outside-exit"));
        Run("mkfifo", Path.Combine(run, "pid"));

        Assert.Null(ProcessLauncher.ReadExitStatus(run, sandbox));
        Assert.Null(ProcessLauncher.ReadPid(run, sandbox));

        File.Delete(Path.Combine(run, "exit"));
        File.WriteAllText(Path.Combine(run, "exit"), "7\n");
        Assert.Equal(7, ProcessLauncher.ReadExitStatus(run, sandbox));
    }

    /// <summary>Waits on another thread, so that an executor frozen under its lock fails the test instead of hanging it.</summary>
    private static Task<TaskReport> WaitUnblockedAsync(ITaskExecutor executor, string taskId, AgentTaskState state) =>
        Task.Run(() => WaitForStateAsync(executor, taskId, state)).WaitAsync(Patience + Patience);

    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { UseShellExecute = false }) ?? throw new InvalidOperationException($"cannot run {program}");
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
    }
}
