using static Aurora.Agent.Executor.Tests.ExecutorHarness;

namespace Aurora.Agent.Executor.Tests;

/// <summary>Tasks run as their role's Unix user, as Thermos runs them: real processes, as root.</summary>
public sealed class RoleUserTests(TestRoleUser role) : IClassFixture<TestRoleUser>, IAsyncLifetime
{
    private readonly ExecutorHarness _harness = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private UnixUser User => role.User ?? throw new InvalidOperationException("the role user was not created");

    private TaskExecutor StartSwitching(bool allowRoot = false) =>
        _harness.Start(options => options with { RunAsRoleUser = true, AllowRootRole = allowRoot });

    private static TaskLaunch AsRole(string role, string taskId, params ProcessSpec[] processes) =>
        Launches.Task(taskId, processes) with { Role = role };

    private static uint OwnerOf(string path) => TestRoleUser.OwnerOf(path);

    [RootFact]
    public async Task A_task_runs_as_its_role_user_with_its_groups_and_home_and_owns_its_files()
    {
        var executor = StartSwitching();
        executor.Launch(AsRole(TestRoleUser.Name, "t1", Launches.Process("main", "id; echo \"home=$HOME user={{thermos.user}}\"; echo data > written")));

        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);

        var sandbox = executor.SandboxOf("t1")!;
        var stdout = ReadLog(sandbox, "main");
        Assert.Contains($"uid={User.Uid}({TestRoleUser.Name})", stdout, StringComparison.Ordinal);
        Assert.Contains($"gid={User.Gid}", stdout, StringComparison.Ordinal);
        Assert.Contains($"({TestRoleUser.ExtraGroup})", stdout, StringComparison.Ordinal);
        Assert.Contains($"home={TestRoleUser.Home} user={TestRoleUser.Name}", stdout, StringComparison.Ordinal);
        Assert.Equal(User.Uid, OwnerOf(sandbox));
        Assert.Equal(User.Uid, OwnerOf(Path.Combine(sandbox, "written")));
        Assert.Equal(User.Uid, OwnerOf(Path.Combine(sandbox, ".logs", "main", "0", "stdout")));
        Assert.Equal(User.Uid, OwnerOf(Path.Combine(sandbox, ".logs", "main", "0", "exit")));
    }

    [RootFact]
    public async Task A_role_without_a_unix_user_fails_the_task_with_a_message_and_runs_nothing()
    {
        var executor = StartSwitching();
        executor.Launch(AsRole("aurora-no-such-role", "t1", Launches.Process("main", "echo ran > ran")));

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Failed);

        Assert.Equal("Role user 'aurora-no-such-role' does not exist on host agent-host-1: create the user there, or run the agent with -nosetuid", report.Current.Message);
        Assert.False(File.Exists(Path.Combine(executor.SandboxOf("t1")!, "ran")));
    }

    [RootFact]
    public async Task A_root_role_is_refused_unless_the_agent_allows_it()
    {
        var refusing = StartSwitching();
        refusing.Launch(AsRole("root", "t1", Launches.Process("main", "echo ran > ran")));
        var report = await WaitForStateAsync(refusing, "t1", AgentTaskState.Failed);
        Assert.Equal("Role 'root' runs as uid 0 (root) on host agent-host-1; this agent refuses to run tasks as root unless it is started with -allow_root_role", report.Current.Message);
        Assert.False(File.Exists(Path.Combine(refusing.SandboxOf("t1")!, "ran")));
        await _harness.StopAsync(refusing);

        var allowing = StartSwitching(allowRoot: true);
        allowing.Launch(AsRole("root", "t2", Launches.Process("main", "id -u")));
        await WaitForStateAsync(allowing, "t2", AgentTaskState.Finished);
        Assert.Equal("0\n", ReadLog(allowing.SandboxOf("t2")!, "main"));
    }

    [RootFact]
    public async Task With_nosetuid_a_task_runs_as_the_agents_user_whatever_its_role()
    {
        var executor = _harness.Start(options => options with { RunAsRoleUser = false });
        executor.Launch(AsRole("aurora-no-such-role", "t1", Launches.Process("main", "id -u")));

        await WaitForStateAsync(executor, "t1", AgentTaskState.Finished);

        Assert.Equal($"{UserAccounts.EffectiveUid()}\n", ReadLog(executor.SandboxOf("t1")!, "main"));
    }

    [RootFact]
    public async Task After_an_agent_restart_the_task_goes_on_as_its_role_user()
    {
        var first = StartSwitching();
        var launch = AsRole(TestRoleUser.Name, "t1",
            Launches.Process("first", "while [ ! -e go ]; do sleep 0.05; done"),
            Launches.Process("second", "id -un > who")) with
        { ProcessOrder = [["first", "second"]] };
        first.Launch(launch);
        await WaitForStateAsync(first, "t1", AgentTaskState.Running);
        var sandbox = first.SandboxOf("t1")!;
        await _harness.StopAsync(first);

        var second = StartSwitching();
        Assert.Equal(AgentTaskState.Running, Assert.Single(second.Recover()).Current.State);
        await File.WriteAllTextAsync(Path.Combine(sandbox, "go"), "");
        await WaitForStateAsync(second, "t1", AgentTaskState.Finished);

        Assert.Equal(TestRoleUser.Name + "\n", await File.ReadAllTextAsync(Path.Combine(sandbox, "who")));
        Assert.Equal(User.Uid, OwnerOf(Path.Combine(sandbox, "who")));
    }

    [RootFact]
    public async Task A_shell_health_check_runs_as_the_role_user()
    {
        var executor = StartSwitching();
        var check = new HealthCheckSpec(HealthCheckSpec.Shell, null, null, 0, "[ \"$(id -un)\" = " + TestRoleUser.Name + " ]", 0.05, 0.05, 5, 1, 1);
        executor.Launch(AsRole(TestRoleUser.Name, "t1", Launches.Process("main", "exec sleep 1000")) with { HealthCheck = check });

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Running);

        Assert.StartsWith("Healthy", report.Current.Message, StringComparison.Ordinal);
        executor.Kill("t1", "done", TimeSpan.FromSeconds(1));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Killed);
    }
}
