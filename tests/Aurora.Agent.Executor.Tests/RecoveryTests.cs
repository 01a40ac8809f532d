using System.Globalization;
using static Aurora.Agent.Executor.Tests.ExecutorHarness;

namespace Aurora.Agent.Executor.Tests;

public sealed class RecoveryTests : IAsyncLifetime
{
    private readonly ExecutorHarness _harness = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private string RunDir(string taskId, string process, int run = 0) =>
        Path.Combine(_harness.WorkDir, "sandboxes", taskId, "sandbox", ".logs", process, run.ToString(CultureInfo.InvariantCulture));

    /// <summary>The process group of the process's current run, as checkpointed (the pid of its wrapper).</summary>
    private int WrapperPid(string taskId, string process)
    {
        using var checkpoint = _harness.ReadCheckpoint(taskId);
        var entry = checkpoint.RootElement.GetProperty("processes").EnumerateArray().Single(p => p.GetProperty("name").GetString() == process);
        return entry.GetProperty("current").GetProperty("pid").GetInt32();
    }

    [Fact]
    public async Task A_restarted_executor_reattaches_to_running_processes_and_can_kill_them()
    {
        var first = _harness.Start();
        first.Launch(Launches.Task("t1", Launches.Process("server", "exec sleep 1000")));
        await WaitForStateAsync(first, "t1", AgentTaskState.Running);
        await _harness.StopAsync(first);
        var pid = WrapperPid("t1", "server");
        Assert.True(LeftoverProcesses.IsRunning(pid), "the process died with its executor");

        var second = _harness.Start();
        var recovered = second.Recover();

        Assert.Equal(AgentTaskState.Running, Assert.Single(recovered).Current.State);
        second.Kill("t1", "Killed after restart", TimeSpan.FromSeconds(5));
        var report = await WaitForStateAsync(second, "t1", AgentTaskState.Killed);
        Assert.Equal([AgentTaskState.Starting, AgentTaskState.Running, AgentTaskState.Killed], report.History.Select(t => t.State));
        await WaitUntilAsync(() => !LeftoverProcesses.IsRunning(pid), "the reattached process to die");
    }

    [Fact]
    public async Task A_process_that_ended_while_the_agent_was_down_is_judged_by_its_exit_file()
    {
        var first = _harness.Start();
        first.Launch(Launches.Task("t1", Launches.Process("job", "while [ ! -f go ]; do sleep 0.02; done; echo done")));
        await WaitForStateAsync(first, "t1", AgentTaskState.Running);
        await _harness.StopAsync(first);

        await File.WriteAllTextAsync(Path.Combine(_harness.WorkDir, "sandboxes", "t1", "sandbox", "go"), "");
        await WaitUntilAsync(() => File.Exists(Path.Combine(RunDir("t1", "job"), "exit")), "the process to end while no executor watches");

        var second = _harness.Start();
        second.Recover();
        await WaitForStateAsync(second, "t1", AgentTaskState.Finished);
    }

    [Fact]
    public async Task A_run_that_failed_while_the_agent_was_down_is_retried_per_max_failures()
    {
        var first = _harness.Start();
        first.Launch(Launches.Task("t1", Launches.Process("job",
            "if [ -f first-done ]; then echo second run; else touch first-done; while [ ! -f go ]; do sleep 0.02; done; exit 1; fi", maxFailures: 2)));
        await WaitForStateAsync(first, "t1", AgentTaskState.Running);
        await _harness.StopAsync(first);
        await File.WriteAllTextAsync(Path.Combine(_harness.WorkDir, "sandboxes", "t1", "sandbox", "go"), "");
        await WaitUntilAsync(() => File.Exists(Path.Combine(RunDir("t1", "job"), "exit")), "the first run to fail");

        var second = _harness.Start();
        second.Recover();
        await WaitForStateAsync(second, "t1", AgentTaskState.Finished);

        Assert.Equal("1", File.ReadAllText(Path.Combine(RunDir("t1", "job", 0), "exit")).Trim());
        Assert.Equal("second run\n", File.ReadAllText(Path.Combine(RunDir("t1", "job", 1), "stdout")));
    }

    [Fact]
    public async Task Processes_that_vanished_without_an_exit_status_make_the_task_LOST()
    {
        var first = _harness.Start();
        first.Launch(Launches.Task("t1", Launches.Process("server", "exec sleep 1000")));
        await WaitForStateAsync(first, "t1", AgentTaskState.Running);
        await _harness.StopAsync(first);
        var pid = WrapperPid("t1", "server");
        NativeMethods.SignalGroup(pid, NativeMethods.SigKill);
        await WaitUntilAsync(() => !LeftoverProcesses.IsRunning(pid), "the process group to die");

        var second = _harness.Start();
        var report = Assert.Single(second.Recover());

        Assert.Equal(AgentTaskState.Lost, report.Current.State);
        Assert.StartsWith("Processes of task t1 disappeared while the agent was down", report.Current.Message);
        Assert.Equal("LOST", _harness.ReadCheckpoint("t1").RootElement.GetProperty("history")[2].GetProperty("state").GetString());
    }

    [Fact]
    public async Task An_unreadable_checkpoint_leaves_no_process_behind_and_the_task_is_LOST()
    {
        var first = _harness.Start();
        first.Launch(Launches.Task("t1", Launches.Process("server", "exec sleep 1000")));
        await WaitForStateAsync(first, "t1", AgentTaskState.Running);
        await _harness.StopAsync(first);
        var pid = WrapperPid("t1", "server");
        await File.WriteAllTextAsync(_harness.CheckpointPath("t1"), "{ torn");

        var second = _harness.Start();
        var report = Assert.Single(second.Recover());

        Assert.Equal(AgentTaskState.Lost, report.Current.State);
        Assert.Contains("is not valid JSON", report.Current.Message);
        await WaitUntilAsync(() => !LeftoverProcesses.IsRunning(pid), "the orphaned process to be killed");
        Assert.True(File.Exists(_harness.CheckpointPath("t1") + ".unreadable"));
    }

    [Fact]
    public async Task Terminal_tasks_are_recovered_and_held_until_forgotten()
    {
        var first = _harness.Start();
        first.Launch(Launches.Task("t1", Launches.Process("hello", "echo hello")));
        await WaitForStateAsync(first, "t1", AgentTaskState.Finished);
        await _harness.StopAsync(first);

        var second = _harness.Start();
        Assert.Equal(AgentTaskState.Finished, Assert.Single(second.Recover()).Current.State);

        second.Forget("t1");

        Assert.Empty(second.Inventory());
        Assert.False(File.Exists(_harness.CheckpointPath("t1")));
        var sandbox = Path.Combine(_harness.WorkDir, "sandboxes", "t1", "sandbox");
        Assert.True(Directory.Exists(sandbox));
        Assert.Equal(sandbox, second.SandboxOf("t1"));
    }

    [Fact]
    public async Task A_kill_in_progress_is_finished_by_the_restarted_executor()
    {
        var first = _harness.Start();
        first.Launch(Launches.Task("t1", Launches.Process("stubborn", "trap '' TERM; echo ready > ready; while :; do sleep 0.05; done")));
        var sandbox = Path.Combine(_harness.WorkDir, "sandboxes", "t1", "sandbox");
        await WaitUntilAsync(() => File.Exists(Path.Combine(sandbox, "ready")), "the process to ignore SIGTERM");
        first.Kill("t1", "Killed before the restart", TimeSpan.FromSeconds(1));
        await _harness.StopAsync(first);

        var second = _harness.Start();
        second.Recover();
        var report = await WaitForStateAsync(second, "t1", AgentTaskState.Killed);

        Assert.Equal("Killed before the restart", report.Current.Message);
    }

    [Fact]
    public async Task A_checkpoint_an_older_agent_wrote_for_an_id_the_protocol_cannot_carry_is_dropped_and_its_processes_killed()
    {
        // An older agent accepted ids up to 250 characters; reporting one would get every heartbeat refused.
        var first = _harness.Start();
        first.Launch(Launches.Task("t1", Launches.Process("server", "exec sleep 1000")));
        await WaitForStateAsync(first, "t1", AgentTaskState.Running);
        await _harness.StopAsync(first);
        var pid = WrapperPid("t1", "server");
        var longId = "t" + new string('x', 244);
        var text = (await File.ReadAllTextAsync(_harness.CheckpointPath("t1"))).Replace("\"t1\"", $"\"{longId}\"", StringComparison.Ordinal);
        await File.WriteAllTextAsync(_harness.CheckpointPath(longId), text);
        File.Delete(_harness.CheckpointPath("t1"));

        var second = _harness.Start();

        Assert.Empty(second.Recover());
        await WaitUntilAsync(() => !LeftoverProcesses.IsRunning(pid), "the unreportable task's process to be killed");
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_harness.WorkDir, "checkpoints")));
    }
}
