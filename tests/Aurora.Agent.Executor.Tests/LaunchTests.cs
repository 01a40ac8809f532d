using System.Text.Json;
using static Aurora.Agent.Executor.Tests.ExecutorHarness;

namespace Aurora.Agent.Executor.Tests;

public sealed class LaunchTests : IAsyncLifetime
{
    private readonly ExecutorHarness _harness = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private static readonly ContainerSpec Docker = new(ContainerSpec.Docker, "busybox:1.36", [], new Dictionary<string, string>());

    [Fact]
    public async Task A_container_task_fails_at_once_when_no_engine_is_available()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("hello", "echo hi > ran")) with { Container = Docker });

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Failed);

        Assert.Equal("Task needs a docker container (image busybox:1.36) but no container engine is available on agent agent-host-1", report.Current.Message);
        Assert.False(File.Exists(Path.Combine(executor.SandboxOf("t1")!, "ran")));
    }

    [Fact]
    public async Task A_container_task_fails_clearly_even_with_an_engine_since_this_build_runs_none()
    {
        var executor = _harness.Start(options => options with { ContainerEngineAvailable = true });
        executor.Launch(Launches.Task("t1", Launches.Process("hello", "echo hi")) with { Container = Docker });

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Failed);

        Assert.Contains("cannot run containers yet", report.Current.Message);
    }

    [Fact]
    public async Task A_relative_global_mount_fails_a_container_task_naming_it()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("hello", "echo hi")) with
        { Container = Docker, GlobalMounts = [new MountSpec("etc/ssl", "/etc/ssl", ReadOnly: true)] });

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Failed);

        Assert.Equal("Mount 'etc/ssl:/etc/ssl' must name absolute paths on both sides", report.Current.Message);
        Assert.Equal("etc/ssl", _harness.ReadCheckpoint("t1").RootElement.GetProperty("launch").GetProperty("globalMounts")[0].GetProperty("hostPath").GetString());
    }

    [Theory]
    [InlineData("dup", "Two processes are named 'a'")]
    [InlineData("cycle", "The order constraints form a cycle through 'a', 'b'")]
    [InlineData("unknown-order", "An order constraint names process 'zzz', which the task does not have")]
    [InlineData("final-first", "Regular process 'a' is ordered after final process 'f'; final processes run last")]
    [InlineData("bad-name", "Process name 'a/b' cannot name a log directory (use letters, digits, '.', '_', '-')")]
    [InlineData("bad-logger", "Process 'a' has logger mode 'verbose'; expected 'standard' or 'rotate'")]
    public async Task An_unrunnable_launch_fails_with_the_reason(string kind, string message)
    {
        var a = Launches.Process("a", "echo a");
        var b = Launches.Process("b", "echo b");
        var launch = kind switch
        {
            "dup" => Launches.Task("t1", a, a),
            "cycle" => Launches.Task("t1", a, b) with { ProcessOrder = [["a", "b"], ["b", "a"]] },
            "unknown-order" => Launches.Task("t1", a) with { ProcessOrder = [["a", "zzz"]] },
            "final-first" => Launches.Task("t1", a, Launches.Process("f", "true") with { Final = true }) with { ProcessOrder = [["f", "a"]] },
            "bad-name" => Launches.Task("t1", Launches.Process("a/b", "true")),
            _ => Launches.Task("t1", a with { Logger = new LoggerSpec("verbose", 1, 1) }),
        };
        var executor = _harness.Start();
        executor.Launch(launch);

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Failed);

        Assert.Equal(message, report.Current.Message);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a b")]
    [InlineData("..")]
    [InlineData(240)]
    [InlineData(251)]
    public void A_launch_whose_id_the_protocol_cannot_carry_is_refused_without_touching_the_disk(object id)
    {
        var taskId = id as string ?? "t" + new string('x', (int)id - 1);
        var executor = _harness.Start();

        Assert.False(executor.Launch(Launches.Task(taskId, Launches.Process("a", "echo a"))));
        Assert.False(executor.Launch(Launches.Task(taskId, Launches.Process("a", "echo a"))));

        // Not held, so never reported: a heartbeat carrying this id would be refused whole.
        Assert.Empty(executor.Inventory());
        Assert.Null(executor.SandboxOf(taskId));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_harness.WorkDir, "checkpoints")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(_harness.WorkDir, "sandboxes")));
    }

    [Fact]
    public async Task The_longest_id_the_protocol_allows_runs_and_every_file_named_after_it_fits()
    {
        Assert.Equal(255, ProtocolLimits.MaxTaskIdLength + CheckpointStore.UnreadableExtension.Length);
        var taskId = "t" + new string('x', ProtocolLimits.MaxTaskIdLength - 1);
        var executor = _harness.Start();

        Assert.True(executor.Launch(Launches.Task(taskId, Launches.Process("a", "echo a"))));

        await WaitForStateAsync(executor, taskId, AgentTaskState.Finished);
        Assert.True(File.Exists(_harness.CheckpointPath(taskId)));
    }

    [Fact]
    public async Task Bug_a_checkpoint_that_could_not_be_written_looped_the_launch__the_task_fails_once_from_memory()
    {
        // Root ignores file modes: a directory where the temp checkpoint goes fails the write for anyone.
        Directory.CreateDirectory(Path.Combine(_harness.WorkDir, "checkpoints", "t1.json.tmp"));
        var executor = _harness.Start();
        var launch = Launches.Task("t1", Launches.Process("a", "echo ran > ran"));

        Assert.True(executor.Launch(launch));

        var report = Assert.Single(executor.Inventory());
        var failed = Assert.Single(report.History);
        Assert.Equal(AgentTaskState.Failed, failed.State);
        Assert.StartsWith("Cannot launch task t1 on agent-host-1: its checkpoint cannot be written: ", failed.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_harness.CheckpointPath("t1")));
        Assert.False(executor.Launch(launch), "a repeated launch of a held task changes nothing");

        // Another task running to its end proves the monitor has ticked past t1 many times: t1 never ran.
        executor.Launch(Launches.Task("t2", Launches.Process("a", "echo a")));
        await WaitForStateAsync(executor, "t2", AgentTaskState.Finished);
        Assert.False(File.Exists(Path.Combine(executor.SandboxOf("t1")!, "ran")));
        Assert.Equal([AgentTaskState.Failed], executor.Inventory().Single(r => r.TaskId == "t1").History.Select(t => t.State));

        // Acknowledged, it is forgotten without touching the broken checkpoint store.
        Assert.True(executor.Forget("t1"));
        Assert.DoesNotContain(executor.Inventory(), r => r.TaskId == "t1");
    }

    [Fact]
    public void A_launch_whose_sandbox_cannot_be_created_fails_once_with_the_reason_and_writes_no_checkpoint()
    {
        Directory.CreateDirectory(Path.Combine(_harness.WorkDir, "sandboxes"));
        File.WriteAllText(Path.Combine(_harness.WorkDir, "sandboxes", "t1"), "a file where the sandbox's parent goes");
        var executor = _harness.Start();

        Assert.True(executor.Launch(Launches.Task("t1", Launches.Process("a", "echo a"))));

        var failed = Assert.Single(Assert.Single(executor.Inventory()).History);
        Assert.Equal(AgentTaskState.Failed, failed.State);
        Assert.StartsWith("Cannot launch task t1 on agent-host-1: its sandbox cannot be created: ", failed.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_harness.CheckpointPath("t1")));
    }

    [Fact]
    public async Task Launching_a_held_task_again_changes_nothing_and_unknown_ids_are_ignored()
    {
        var executor = _harness.Start();
        var launch = Launches.Task("t1", Launches.Process("a", "echo run >> runs"));
        Assert.True(executor.Launch(launch));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);

        Assert.False(executor.Launch(launch));
        Assert.False(executor.Kill("nope", "x", TimeSpan.Zero));
        Assert.False(executor.Kill("t1", "x", TimeSpan.Zero));
        Assert.False(executor.Forget("nope"));

        Assert.Equal(AgentTaskState.Finished, Assert.Single(executor.Inventory()).Current.State);
        Assert.Single(File.ReadAllLines(Path.Combine(executor.SandboxOf("t1")!, "runs")));
        Assert.Null(executor.SandboxOf("nope"));
        Assert.True(executor.Forget("t1"));
        Assert.False(executor.Forget("t1"));
    }

    [Fact]
    public async Task A_forgotten_tasks_sandbox_stays_browsable_while_it_is_on_disk()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("a", "echo done > out")));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);
        var sandbox = executor.SandboxOf("t1")!;

        executor.Forget("t1");

        Assert.Empty(executor.Inventory());
        Assert.Equal(sandbox, executor.SandboxOf("t1"));
        Directory.Delete(Path.GetDirectoryName(sandbox)!, recursive: true);
        Assert.Null(executor.SandboxOf("t1"));
    }

    [Fact]
    public async Task Sandboxes_of_forgotten_tasks_are_collected_once_old_enough_and_held_ones_never()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("done", Launches.Process("a", "echo done")));
        executor.Launch(Launches.Task("busy", Launches.Process("a", "exec sleep 1000")));
        await WaitForStateAsync(executor, "done", AgentTaskState.Finished);
        await WaitForStateAsync(executor, "busy", AgentTaskState.Running);
        executor.Forget("done");
        var forgottenAt = DateTimeOffset.UtcNow;

        Assert.Empty(executor.CollectSandboxes(forgottenAt - TimeSpan.FromHours(1)));
        Assert.NotNull(executor.SandboxOf("done"));

        Assert.Equal(["done"], executor.CollectSandboxes(forgottenAt + TimeSpan.FromDays(365)));
        Assert.Null(executor.SandboxOf("done"));
        Assert.False(Directory.Exists(Path.Combine(_harness.WorkDir, "sandboxes", "done")));
        Assert.True(Directory.Exists(executor.SandboxOf("busy")));
        await executor.KillAllAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_running_task_is_not_forgotten()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("a", "exec sleep 1000")));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Running);

        executor.Forget("t1");

        Assert.Single(executor.Inventory());
        await executor.KillAllAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(AgentTaskState.Killed, Assert.Single(executor.Inventory()).Current.State);
    }

    [Fact]
    public async Task Every_reported_state_is_in_the_checkpoint_before_Changed_fires()
    {
        var executor = _harness.Start();
        var violations = new List<string>();
        var seen = new List<AgentTaskState>();
        executor.Changed += () =>
        {
            foreach (var report in executor.Inventory())
            {
                using var checkpoint = JsonDocument.Parse(File.ReadAllText(_harness.CheckpointPath(report.TaskId)));
                var durable = checkpoint.RootElement.GetProperty("history").GetArrayLength();
                lock (seen)
                {
                    seen.Add(report.Current.State);
                    if (durable < report.History.Count)
                    {
                        violations.Add($"{report.Current.State}: checkpoint has {durable} transitions, the report {report.History.Count}");
                    }
                }
            }
        };

        executor.Launch(Launches.Task("t1", Launches.Process("a", "echo a")));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);
        await WaitUntilAsync(() => { lock (seen) { return seen.Contains(AgentTaskState.Finished); } }, "Changed to report FINISHED");

        lock (seen)
        {
            Assert.Empty(violations);
            Assert.Contains(AgentTaskState.Starting, seen);
        }
    }
}
