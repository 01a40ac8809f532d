using static Aurora.Agent.Executor.Tests.ExecutorHarness;

namespace Aurora.Agent.Executor.Tests;

public sealed class ProcessLifecycleTests : IAsyncLifetime
{
    private readonly ExecutorHarness _harness = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    [Fact]
    public async Task A_task_finishes_with_its_output_in_the_sandbox_logs()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("hello", "echo hello; echo to-stderr >&2; pwd")));

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);

        Assert.Equal([AgentTaskState.Starting, AgentTaskState.Running, AgentTaskState.Finished], report.History.Select(t => t.State));
        var sandbox = executor.SandboxOf("t1")!;
        Assert.Equal(Path.Combine(_harness.WorkDir, "sandboxes", "t1", "sandbox"), sandbox);
        Assert.Equal($"hello\n{sandbox}\n", ReadLog(sandbox, "hello"));
        Assert.Equal("to-stderr\n", ReadLog(sandbox, "hello", file: "stderr"));
        Assert.Equal("0", ReadLog(sandbox, "hello", file: "exit").Trim());
    }

    [Fact]
    public async Task Ordered_processes_run_one_after_the_other()
    {
        var executor = _harness.Start();
        var launch = Launches.Task("t1",
            Launches.Process("second", "cat first.out"),
            Launches.Process("first", "sleep 0.3; echo from-first > first.out")) with
        { ProcessOrder = [["first", "second"]] };
        executor.Launch(launch);

        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);

        Assert.Equal("from-first\n", ReadLog(executor.SandboxOf("t1")!, "second"));
    }

    [Fact]
    public async Task A_process_is_retried_up_to_max_failures_then_the_task_fails_with_its_stderr()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("flaky", "echo attempt >> attempts; echo broken pipe dream >&2; exit 3", maxFailures: 3)));

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Failed);

        Assert.Equal("Process 'flaky' failed (exit status 3 after 3 attempts): broken pipe dream", report.Current.Message);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(executor.SandboxOf("t1")!, "attempts")).Length);
    }

    [Fact]
    public async Task A_missing_command_fails_the_task_saying_command_not_found()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("hello", "nosuchcmd-for-aurora --version")));

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Failed);

        Assert.StartsWith("Process 'hello' failed (exit status 127 after 1 attempt): ", report.Current.Message);
        Assert.Contains("nosuchcmd-for-aurora: command not found", report.Current.Message);
    }

    [Fact]
    public async Task A_daemon_runs_again_after_succeeding()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("daemon", "echo run >> runs") with { Daemon = true }));
        var runs = Path.Combine(_harness.WorkDir, "sandboxes", "t1", "sandbox", "runs");

        await WaitUntilAsync(() => File.Exists(runs) && File.ReadAllLines(runs).Length >= 3, "three daemon runs");

        Assert.Equal(AgentTaskState.Running, executor.Inventory().Single().Current.State);
        executor.Kill("t1", "enough", TimeSpan.FromSeconds(5));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Killed);
    }

    [Fact]
    public async Task Min_duration_holds_back_the_next_run_until_the_clock_passes_it()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var executor = _harness.Start(time: clock);
        executor.Launch(Launches.Task("t1", Launches.Process("daemon", "echo run >> runs") with { Daemon = true, MinDurationSecs = 60 }));
        var sandbox = Path.Combine(_harness.WorkDir, "sandboxes", "t1", "sandbox");
        await WaitUntilAsync(() => File.Exists(Path.Combine(sandbox, ".logs", "daemon", "0", "exit")), "the first run to end");
        await WaitUntilAsync(() => _harness.ReadCheckpoint("t1").RootElement.GetProperty("processes")[0].GetProperty("status").GetString() == "WAITING", "the first run to be reaped");

        await Task.Delay(300);
        Assert.False(Directory.Exists(Path.Combine(sandbox, ".logs", "daemon", "1")), "a second run started before min_duration passed");

        clock.Advance(TimeSpan.FromSeconds(60));
        await WaitUntilAsync(() => File.Exists(Path.Combine(sandbox, ".logs", "daemon", "1", "exit")), "the second run after min_duration");
        executor.Kill("t1", "enough", TimeSpan.FromSeconds(5));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Killed);
    }

    /// <summary>
    /// Found by the API fuzzer: hundreds of tasks whose process exits at once, with min_duration 0,
    /// restarted every tick and left the agent no time to answer. Runs start at least 1 s apart.
    /// </summary>
    [Fact]
    public async Task A_process_that_exits_at_once_is_restarted_no_sooner_than_a_second_even_with_min_duration_zero()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var executor = _harness.Start(time: clock);
        executor.Launch(Launches.Task("t1", Launches.Process("crash", "echo run >> runs; exit 1", maxFailures: 0) with { MinDurationSecs = 0 }));
        var sandbox = Path.Combine(_harness.WorkDir, "sandboxes", "t1", "sandbox");
        await WaitUntilAsync(
            () => _harness.ReadCheckpoint("t1").RootElement.GetProperty("processes")[0] is var process
                && process.GetProperty("status").GetString() == "WAITING" && process.GetProperty("runs").GetInt32() == 1,
            "the first run to fail and be reaped");

        // A second task that starts, runs and finishes proves the loop went round many times meanwhile.
        executor.Launch(Launches.Task("witness", Launches.Process("main", "true")));
        await WaitForStateAsync(executor, "witness", AgentTaskState.Finished);
        Assert.False(Directory.Exists(Path.Combine(sandbox, ".logs", "crash", "1")), "the crashed process was restarted within a second");

        clock.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => Directory.Exists(Path.Combine(sandbox, ".logs", "crash", "1")), "the restart a second later");
        executor.Kill("t1", "enough", TimeSpan.FromSeconds(5));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Killed);
    }

    [Fact]
    public async Task An_ephemeral_process_does_not_keep_the_task_from_finishing_and_is_killed_with_it()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1",
            Launches.Process("sidecar", "echo $$ > sidecar.pid; exec sleep 1000") with { Ephemeral = true },
            Launches.Process("main", "while [ ! -f sidecar.pid ]; do sleep 0.02; done; echo main done")));

        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);

        await WaitUntilAsync(() => LeftoverProcesses.Under(_harness.Temp.Path).Count == 0, "every process of the task to be gone");
    }

    [Fact]
    public async Task A_final_process_runs_after_the_regular_ones()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1",
            Launches.Process("cleanup", "echo final >> order") with { Final = true },
            Launches.Process("main", "sleep 0.2; echo main >> order")));

        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);

        Assert.Equal(["main", "final"], File.ReadAllLines(Path.Combine(executor.SandboxOf("t1")!, "order")));
    }

    [Fact]
    public async Task A_final_process_runs_when_the_task_is_killed()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1",
            Launches.Process("cleanup", "echo cleaned > cleaned") with { Final = true },
            Launches.Process("main", "exec sleep 1000")));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Running);

        executor.Kill("t1", "Killed by www-data", TimeSpan.FromSeconds(5));
        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Killed);

        Assert.Equal("Killed by www-data", report.Current.Message);
        Assert.True(File.Exists(Path.Combine(executor.SandboxOf("t1")!, "cleaned")));
    }

    [Fact]
    public async Task A_process_that_survives_SIGTERM_is_SIGKILLed_after_the_grace_period()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("stubborn", "trap 'echo got-term >> trapped' TERM; echo ready > ready; while :; do sleep 0.05; done")));
        var sandbox = Path.Combine(_harness.WorkDir, "sandboxes", "t1", "sandbox");
        await WaitUntilAsync(() => File.Exists(Path.Combine(sandbox, "ready")), "the process to set its trap");

        executor.Kill("t1", "stop", TimeSpan.FromSeconds(1));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Killed);

        Assert.Contains("got-term", File.ReadAllText(Path.Combine(sandbox, "trapped")));
        await WaitUntilAsync(() => LeftoverProcesses.Under(_harness.Temp.Path).Count == 0, "every process of the task to be gone");
    }

    [Fact]
    public async Task Killing_a_task_kills_the_processes_its_processes_started()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("parent", "bash -c 'sleep 1000 & echo $! > grandchild.pid; wait'")));
        var pidFile = Path.Combine(_harness.WorkDir, "sandboxes", "t1", "sandbox", "grandchild.pid");
        await WaitUntilAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).EndsWith('\n'), "the grandchild to start");
        var grandchild = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(LeftoverProcesses.IsRunning(grandchild));

        executor.Kill("t1", "stop", TimeSpan.FromSeconds(5));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Killed);

        await WaitUntilAsync(() => !LeftoverProcesses.IsRunning(grandchild), "the grandchild to die");
    }

    [Fact]
    public async Task What_a_finished_process_left_running_in_its_group_is_killed()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("forker", "sleep 1000 & echo $! > background.pid")));

        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);

        var background = int.Parse(File.ReadAllText(Path.Combine(executor.SandboxOf("t1")!, "background.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await WaitUntilAsync(() => !LeftoverProcesses.IsRunning(background), "the background process to die");
    }

    [Fact]
    public async Task Ports_and_template_variables_reach_the_command_line_and_the_environment()
    {
        var executor = _harness.Start();
        var launch = Launches.Task("t1", Launches.Process("show",
            "echo {{thermos.ports[http]}} {{ thermos.task_id }} {{mesos.instance}} {{mesos.hostname}} {{thermos.user}} {{role}}/{{environment}}; "
            + "echo $PORT_HTTP $THERMOS_PORT_HTTP $AURORA_JOB $AURORA_TASK_ID $THERMOS_TASK_ID $AURORA_INSTANCE $MESOS_SANDBOX")) with
        { Ports = new Dictionary<string, int> { ["http"] = 31337 } };
        executor.Launch(launch);

        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);

        var sandbox = executor.SandboxOf("t1")!;
        Assert.Equal(
            $"31337 t1 3 agent-host-1 {Environment.UserName} www-data/prod\n31337 31337 www-data/prod/hello t1 t1 3 {sandbox}\n",
            ReadLog(sandbox, "show"));
    }

    [Fact]
    public async Task An_unknown_template_variable_fails_the_task_naming_it_and_runs_nothing()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("show", "echo {{cluster}} > ran")));

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Failed);

        Assert.Contains("Process 'show' uses {{cluster}}, an unknown template variable", report.Current.Message);
        Assert.False(File.Exists(Path.Combine(executor.SandboxOf("t1")!, "ran")));
    }

    [Fact]
    public async Task A_port_the_task_does_not_have_fails_the_task_naming_it()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("show", "echo {{thermos.ports[admin]}}")) with { Ports = new Dictionary<string, int> { ["http"] = 1 } });

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Failed);

        Assert.Equal("Process 'show' uses {{thermos.ports[admin]}}, but the task has no port named 'admin' (it has http)", report.Current.Message);
    }
}
