using static Aurora.Agent.Executor.Tests.ExecutorHarness;

namespace Aurora.Agent.Executor.Tests;

public sealed class HealthCheckTests : IAsyncLifetime
{
    private readonly ExecutorHarness _harness = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private static HealthCheckSpec Shell(string command, double initialIntervalSecs = 30, int maxConsecutiveFailures = 0) =>
        new(HealthCheckSpec.Shell, Endpoint: null, ExpectedResponse: null, ExpectedResponseCode: 0, ShellCommand: command,
            InitialIntervalSecs: initialIntervalSecs, IntervalSecs: 0.05, TimeoutSecs: 5, MaxConsecutiveFailures: maxConsecutiveFailures, MinConsecutiveSuccesses: 1);

    [Fact]
    public async Task A_shell_health_check_keeps_the_task_STARTING_until_it_passes()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("server", "exec sleep 1000")) with
        { HealthCheck = Shell("echo check >> checks; test -f healthy") });
        var sandbox = Path.Combine(_harness.WorkDir, "sandboxes", "t1", "sandbox");
        await WaitUntilAsync(() => File.Exists(Path.Combine(sandbox, "checks")) && File.ReadAllLines(Path.Combine(sandbox, "checks")).Length >= 3, "three failed checks");

        Assert.Equal(AgentTaskState.Starting, executor.Inventory().Single().Current.State);

        await File.WriteAllTextAsync(Path.Combine(sandbox, "healthy"), "");
        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Running);
        Assert.Equal("Healthy: shell command exited 0", report.Current.Message);

        executor.Kill("t1", "done", TimeSpan.FromSeconds(5));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Killed);
    }

    [Fact]
    public async Task Failing_health_checks_after_RUNNING_fail_the_task_and_stop_its_processes()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("server", "touch healthy; exec sleep 1000")) with
        { HealthCheck = Shell("test -f healthy || { echo no healthy file >&2; exit 1; }", initialIntervalSecs: 0, maxConsecutiveFailures: 2) });
        await WaitForStateAsync(executor, "t1", AgentTaskState.Running);

        File.Delete(Path.Combine(executor.SandboxOf("t1")!, "healthy"));
        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Failed);

        Assert.Equal("Failed health check! shell command 'test -f healthy || { echo no healthy file >&2; exit 1; }' exited with status 1: no healthy file", report.Current.Message);
        await WaitUntilAsync(() => LeftoverProcesses.Under(_harness.Temp.Path).Count == 0, "the server to be stopped");
    }

    [Fact]
    public async Task An_http_health_check_passes_once_the_server_answers_on_the_health_port()
    {
        var port = DistClients.FreePort();
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1",
            Launches.Process("server", "sleep 0.3; echo ok > health; exec python3 -m http.server {{thermos.ports[health]}} --bind 127.0.0.1")) with
        {
            Ports = new Dictionary<string, int> { ["health"] = port },
            HealthCheck = new HealthCheckSpec(HealthCheckSpec.Http, "/health", "ok", 200, null,
                InitialIntervalSecs: 30, IntervalSecs: 0.1, TimeoutSecs: 2, MaxConsecutiveFailures: 0, MinConsecutiveSuccesses: 2),
        });

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Running);

        Assert.Equal($"Healthy: GET http://127.0.0.1:{port}/health answered 200", report.Current.Message);
        executor.Kill("t1", "done", TimeSpan.FromSeconds(5));
        await WaitForStateAsync(executor, "t1", AgentTaskState.Killed);
    }

    [Fact]
    public async Task An_http_health_check_without_a_health_port_fails_the_task()
    {
        var executor = _harness.Start();
        executor.Launch(Launches.Task("t1", Launches.Process("server", "exec sleep 1000")) with
        {
            Ports = new Dictionary<string, int> { ["http"] = 8080 },
            HealthCheck = new HealthCheckSpec(HealthCheckSpec.Http, "/health", "ok", 0, null, 0, 1, 1, 0, 1),
        });

        var report = await WaitForStateAsync(executor, "t1", AgentTaskState.Failed);

        Assert.Equal("The http health check needs a port named 'health', but the task has ports http", report.Current.Message);
    }
}
