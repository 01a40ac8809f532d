using static Aurora.Agent.Executor.Tests.ExecutorHarness;

namespace Aurora.Agent.Executor.Tests;

/// <summary>A [Fact] that needs root and a cgroup memory controller; it says which is missing otherwise.</summary>
public sealed class CgroupFactAttribute : FactAttribute
{
    public CgroupFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || UserAccounts.EffectiveUid() != 0)
        {
            Skip = "Needs root on Linux: only root may make cgroups.";
        }
        else if (CgroupHierarchy.DetectLocal("aurora-probe", out var problem) is null)
        {
            Skip = $"Needs cgroups: {problem}.";
        }
    }
}

/// <summary>Tasks held to their resources by cgroups and the disk watch: real processes, as root, on this machine's cgroups.</summary>
public sealed class CgroupIsolationTests : IAsyncLifetime
{
    private readonly ExecutorHarness _harness = new();
    private readonly string _root = "aurora-test-" + Guid.NewGuid().ToString("N")[..12];
    private CgroupHierarchy? _cgroups;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _harness.DisposeAsync();
        if (_cgroups is null)
        {
            return;
        }

        // Every task cgroup must be gone by now; the test's root goes with them.
        var left = _cgroups.ExistingTaskIds();
        foreach (var taskId in left)
        {
            await WaitUntilAsync(() => _cgroups.For(taskId).TryRemove(), $"leftover cgroup {taskId} to be removable");
        }

        foreach (var mount in _cgroups.Mounts.Values.Distinct(StringComparer.Ordinal))
        {
            var root = Path.Combine(mount, _root);
            if (Directory.Exists(root))
            {
                Directory.Delete(root);
            }
        }

        Assert.True(left.Count == 0, $"The test left cgroups behind: {string.Join(", ", left)}");
    }

    private TaskExecutor StartIsolated(long pidsMax = 4096)
    {
        _cgroups = CgroupHierarchy.DetectLocal(_root, out var problem) ?? throw new InvalidOperationException(problem);
        _cgroups.Prepare();
        var isolation = new TaskIsolation(_cgroups, pidsMax, EnableCfs: false, DiskWatchInterval: TimeSpan.FromMilliseconds(100));
        return _harness.Start(options => options with { Isolation = isolation });
    }

    private static TaskLaunch Sized(string taskId, long ramMb, long diskMb, params ProcessSpec[] processes) =>
        Launches.Task(taskId, processes) with { RamMb = ramMb, DiskMb = diskMb, Cpus = 0.5 };

    private static string ControlFile(TaskCgroup cgroup, string controller, string file) =>
        Path.Combine(cgroup.Directories.TryGetValue(controller, out var directory) ? directory : cgroup.Directories[""], file);

    [CgroupFact]
    public async Task A_task_gets_a_cgroup_sized_to_its_resources_its_usage_is_measured_and_the_cgroup_goes_with_it()
    {
        var executor = StartIsolated(pidsMax: 100);
        executor.Launch(Sized("t1", 64, 64, Launches.Process("main", "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; exec sleep 1000")));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Running);
        var cgroup = _cgroups!.For("t1");

        Assert.True(cgroup.Exists);
        if (_cgroups.Version == CgroupVersion.V1)
        {
            Assert.Equal("67108864", File.ReadAllText(ControlFile(cgroup, "memory", "memory.limit_in_bytes")).Trim());
            Assert.Equal("512", File.ReadAllText(ControlFile(cgroup, "cpu", "cpu.shares")).Trim());
            Assert.Equal("100", File.ReadAllText(ControlFile(cgroup, "pids", "pids.max")).Trim());
        }

        await WaitUntilAsync(() => executor.Usage().TryGetValue("t1", out var usage) && usage.CpuSeconds > 0 && usage.DiskBytes >= 0,
            "CPU time and disk use to be measured");
        var measured = executor.Usage()["t1"];
        Assert.Equal(64L << 20, measured.MemoryLimitBytes);
        Assert.Equal(64L << 20, measured.DiskQuotaBytes);
        Assert.NotEmpty(cgroup.Processes());

        executor.Kill("t1", "done", TimeSpan.FromSeconds(1));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Killed);
        await WaitUntilAsync(() => !cgroup.Exists, "the task's cgroup to be removed");
    }

    [CgroupFact]
    public async Task A_memory_hog_is_killed_with_Mesos_words_while_a_well_behaved_task_keeps_running()
    {
        var executor = StartIsolated();
        executor.Launch(Sized("good", 64, 64, Launches.Process("main", "exec sleep 1000")));
        await WaitForStateAsync(executor, "good", AgentTaskState.Running);
        executor.Launch(Sized("hog", 32, 64, Launches.Process("main", "tail /dev/zero")));

        var report = await WaitForStateAsync(executor, "hog", AgentTaskState.Failed);

        Assert.StartsWith("Memory limit exceeded: Requested: 32MB Maximum Used: ", report.Current.Message, StringComparison.Ordinal);
        Assert.Contains("MEMORY STATISTICS:", report.Current.Message, StringComparison.Ordinal);
        Assert.Equal(AgentTaskState.Running, executor.Inventory().Single(t => t.TaskId == "good").Current.State);
        await WaitUntilAsync(() => !_cgroups!.For("hog").Exists, "the hog's cgroup to be removed");
        executor.Kill("good", "done", TimeSpan.FromSeconds(1));
        await WaitForStateAsync(executor, "good", AgentTaskState.Killed);
        await WaitUntilAsync(() => !_cgroups!.For("good").Exists, "the good task's cgroup to be removed");
    }

    [CgroupFact]
    public async Task A_fork_bomb_stops_at_the_pids_limit_and_the_agent_and_other_tasks_go_on()
    {
        const int Limit = 24;
        var executor = StartIsolated(pidsMax: Limit);
        executor.Launch(Sized("bomb", 64, 64, Launches.Process("main", "bomb() { bomb | bomb & }; bomb; exec sleep 1000")));
        await WaitForStateAsync(executor, "bomb", AgentTaskState.Running);
        var cgroup = _cgroups!.For("bomb");

        await WaitUntilAsync(() => cgroup.Processes().Count >= Limit - 2, "the bomb to fill its pids limit");
        if (_cgroups.Version == CgroupVersion.V1)
        {
            await WaitUntilAsync(() => File.ReadAllText(ControlFile(cgroup, "pids", "pids.events")).Contains("max ", StringComparison.Ordinal)
                && !File.ReadAllText(ControlFile(cgroup, "pids", "pids.events")).Contains("max 0", StringComparison.Ordinal), "forks to be refused at pids.max");
        }

        Assert.True(cgroup.Processes().Count <= Limit, $"{cgroup.Processes().Count} processes in a cgroup limited to {Limit}");
        executor.Launch(Sized("neighbour", 64, 64, Launches.Process("main", "echo fine")));
        await WaitForStateAsync(executor, "neighbour", AgentTaskState.Finished);
        Assert.Equal("fine\n", ReadLog(executor.SandboxOf("neighbour")!, "main"));
        await WaitUntilAsync(() => !_cgroups.For("neighbour").Exists, "the neighbour's cgroup to be removed");

        executor.Kill("bomb", "defused", TimeSpan.FromSeconds(1));
        await WaitForStateAsync(executor, "bomb", AgentTaskState.Killed);
        await WaitUntilAsync(() => !cgroup.Exists, "the bomb's cgroup to be emptied and removed");
    }

    [CgroupFact]
    public async Task A_disk_filler_is_killed_at_its_quota_with_its_usage_and_limit()
    {
        var executor = StartIsolated();
        executor.Launch(Sized("filler", 64, 1, Launches.Process("main", "head -c 4194304 /dev/zero > fill; exec sleep 1000")));

        var report = await WaitForStateAsync(executor, "filler", AgentTaskState.Failed);

        Assert.Matches(@"^Disk usage \(\d+(B|KB|MB)\) exceeds quota \(1MB\)$", report.Current.Message);
        Assert.True(File.Exists(Path.Combine(executor.SandboxOf("filler")!, "fill")));
        await WaitUntilAsync(() => !_cgroups!.For("filler").Exists, "the filler's cgroup to be removed");
    }

    [CgroupFact]
    public async Task A_restarted_executor_finds_the_cgroup_of_a_running_task_and_removes_its_own_leftovers_only()
    {
        var first = StartIsolated();
        first.Launch(Sized("t1", 64, 64, Launches.Process("main", "exec sleep 1000")));
        await WaitForStateAsync(first, "t1", AgentTaskState.Running);
        await _harness.StopAsync(first);
        var stray = _cgroups!.Create("forgotten", CgroupLimits.For(0.1, 32, 10, capCpu: false));
        Directory.CreateDirectory(Path.Combine(_harness.WorkDir, "sandboxes", "forgotten", "sandbox"));
        var otherAgents = _cgroups.Create("of-another-agent", CgroupLimits.For(0.1, 32, 10, capCpu: false));

        var second = StartIsolated();
        Assert.Equal(AgentTaskState.Running, Assert.Single(second.Recover()).Current.State);

        Assert.False(stray.Exists);
        Assert.True(otherAgents.Exists, "a cgroup whose task has no sandbox here belongs to another agent on this machine");
        Assert.True(otherAgents.TryRemove());
        Assert.True(_cgroups.For("t1").Exists);
        Assert.NotEmpty(_cgroups.For("t1").Processes());
        await WaitUntilAsync(() => second.Usage().ContainsKey("t1"), "the recovered task's usage to be read from its cgroup");
        second.Kill("t1", "done", TimeSpan.FromSeconds(1));
        await WaitForStateAsync(second, "t1", AgentTaskState.Killed);
        await WaitUntilAsync(() => !_cgroups.For("t1").Exists, "the task's cgroup to be removed");
    }
}

/// <summary>Where the agent puts cgroups and what it writes, against a directory tree that only looks like /sys/fs/cgroup (v2 cannot be tried for real on a v1 machine).</summary>
public sealed class CgroupLayoutTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_unified_hierarchy_with_memory_is_v2_and_a_task_gets_its_limits_in_v2_files()
    {
        var mount = _temp.Sub("cgroup");
        Directory.CreateDirectory(mount);
        File.WriteAllText(Path.Combine(mount, "cgroup.controllers"), "cpuset cpu io memory pids\n");
        var hierarchy = CgroupHierarchy.Detect($"cgroup2 {mount} cgroup2 rw,nosuid 0 0\n", "aurora", out var problem)!;

        Assert.Null(problem);
        Assert.Equal(CgroupVersion.V2, hierarchy.Version);
        hierarchy.Prepare();
        Assert.Equal("+pids", File.ReadAllText(Path.Combine(mount, "cgroup.subtree_control")));
        var cgroup = hierarchy.Create("t1", CgroupLimits.For(cpus: 2, ramMb: 128, pidsMax: 500, capCpu: true));

        var directory = Path.Combine(mount, "aurora", "t1");
        Assert.Equal([Path.Combine(directory, "cgroup.procs")], cgroup.ProcsFiles);
        Assert.Equal("134217728", File.ReadAllText(Path.Combine(directory, "memory.max")));
        Assert.Equal("79", File.ReadAllText(Path.Combine(directory, "cpu.weight")));
        Assert.Equal("200000 100000", File.ReadAllText(Path.Combine(directory, "cpu.max")));
        Assert.Equal("500", File.ReadAllText(Path.Combine(directory, "pids.max")));
        Assert.Equal(["t1"], hierarchy.ExistingTaskIds());
    }

    [Fact]
    public void V2_usage_and_oom_kills_come_from_cpu_stat_memory_stat_and_memory_events()
    {
        var mount = _temp.Sub("cgroup");
        Directory.CreateDirectory(mount);
        File.WriteAllText(Path.Combine(mount, "cgroup.controllers"), "memory cpu pids");
        var hierarchy = CgroupHierarchy.Detect($"cgroup2 {mount} cgroup2 rw 0 0", "aurora", out _)!;
        var cgroup = hierarchy.Create("t1", CgroupLimits.For(1, 64, 100, capCpu: false));
        var directory = cgroup.Directories[""];
        File.WriteAllText(Path.Combine(directory, "cpu.stat"), "usage_usec 2500000\nuser_usec 2000000\n");
        File.WriteAllText(Path.Combine(directory, "memory.stat"), "anon 1048576\nfile 4096\n");
        File.WriteAllText(Path.Combine(directory, "memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
        File.WriteAllText(Path.Combine(directory, "memory.peak"), "67108864\n");

        Assert.Equal(new CgroupUsage(2.5, 1 << 20, 64 << 20, 1), cgroup.ReadUsage());
        Assert.Equal("max 100000", File.ReadAllText(Path.Combine(directory, "cpu.max")));
    }

    [Fact]
    public void A_v1_memory_hierarchy_wins_on_a_hybrid_machine_and_each_controller_gets_its_directory()
    {
        var unified = _temp.Sub("unified");
        Directory.CreateDirectory(unified);
        File.WriteAllText(Path.Combine(unified, "cgroup.controllers"), "");
        var table = string.Join('\n',
            $"cgroup {_temp.Sub("memory")} cgroup rw,relatime,memory 0 0",
            $"cgroup {_temp.Sub("cpu,cpuacct")} cgroup rw,relatime,cpu,cpuacct 0 0",
            $"cgroup {_temp.Sub("pids")} cgroup rw,relatime,pids 0 0",
            $"cgroup2 {unified} cgroup2 rw 0 0");

        var hierarchy = CgroupHierarchy.Detect(table, "aurora", out _)!;

        Assert.Equal(CgroupVersion.V1, hierarchy.Version);
        hierarchy.Prepare();
        var cgroup = hierarchy.Create("t1", CgroupLimits.For(0.25, 16, 64, capCpu: false));
        Assert.Equal(3, cgroup.ProcsFiles.Count);
        Assert.Equal("33554432", File.ReadAllText(Path.Combine(_temp.Sub("memory"), "aurora", "t1", "memory.limit_in_bytes")));
        Assert.Equal("256", File.ReadAllText(Path.Combine(_temp.Sub("cpu,cpuacct"), "aurora", "t1", "cpu.shares")));
        Assert.Equal("-1", File.ReadAllText(Path.Combine(_temp.Sub("cpu,cpuacct"), "aurora", "t1", "cpu.cfs_quota_us")));
        Assert.Equal("64", File.ReadAllText(Path.Combine(_temp.Sub("pids"), "aurora", "t1", "pids.max")));
    }

    [Fact]
    public void Without_a_memory_controller_there_is_no_hierarchy_and_the_reason_says_so()
    {
        Assert.Null(CgroupHierarchy.Detect("proc /proc proc rw 0 0\n", "aurora", out var problem));
        Assert.StartsWith("no cgroup memory controller is mounted", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(67108864, "64MB")]
    [InlineData(1572864, "1536KB")]
    [InlineData(100, "100B")]
    [InlineData(0, "0B")]
    [InlineData(1L << 30, "1GB")]
    public void Sizes_are_printed_as_Mesos_prints_them(long bytes, string text) => Assert.Equal(text, MesosBytes.Format(bytes));
}
