using System.Diagnostics;
using System.Text.Json;

namespace Aurora.Agent.Executor.Tests;

/// <summary>
/// A work dir of its own and the executors a test starts on it. Disposing stops the executors and
/// then fails the test if any process still runs with its current directory under the test's temp
/// dir (after killing it): every test must leave nothing behind.
/// </summary>
internal sealed class ExecutorHarness : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly List<TaskExecutor> _executors = [];

    public TempDirectory Temp { get; } = new();

    public string WorkDir => Temp.Sub("work");

    public string CheckpointPath(string taskId) => Path.Combine(WorkDir, "checkpoints", taskId + ".json");

    public TaskExecutor Start(Func<ExecutorOptions, ExecutorOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new ExecutorOptions(WorkDir, "agent-host-1", "agent-1")
        {
            PollInterval = TimeSpan.FromMilliseconds(20),
            StopGracePeriod = TimeSpan.FromSeconds(2),
        };
        var executor = new TaskExecutor(configure?.Invoke(options) ?? options, logger: null, time);
        _executors.Add(executor);
        return executor;
    }

    public static async Task<TaskReport> WaitForStateAsync(ITaskExecutor executor, string taskId, AgentTaskState state)
    {
        TaskReport? last = null;
        await WaitUntilAsync(() =>
        {
            last = executor.Inventory().SingleOrDefault(r => r.TaskId == taskId);
            if (last is not null && last.Current.State != state && AgentTaskStates.IsTerminal(last.Current.State))
            {
                Assert.Fail($"Task {taskId} ended {last.Current.State} while waiting for {state}: {Describe(last)}");
            }

            return last?.Current.State == state;
        }, $"task {taskId} to be {state} (last: {(last is null ? "unknown" : Describe(last))})");
        return last!;
    }

    public static Task WaitUntilAsync(Func<bool> condition, string what) =>
        Eventually.HoldsAsync(what, condition, Patience, poll: TimeSpan.FromMilliseconds(20));

    public static string Describe(TaskReport report) =>
        string.Join(" -> ", report.History.Select(t => $"{t.State} ({t.Message})"));

    public static string ReadLog(string sandbox, string process, int run = 0, string file = "stdout") =>
        File.ReadAllText(Path.Combine(sandbox, ".logs", process, run.ToString(System.Globalization.CultureInfo.InvariantCulture), file));

    public JsonDocument ReadCheckpoint(string taskId) => JsonDocument.Parse(File.ReadAllText(CheckpointPath(taskId)));

    /// <summary>Disposes the executor early (an agent restart): its processes keep running.</summary>
    public async Task StopAsync(TaskExecutor executor)
    {
        await executor.DisposeAsync();
        _executors.Remove(executor);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var executor in _executors)
        {
            await executor.DisposeAsync();
        }

        var leftovers = await LeftoverProcesses.KillUnderAsync(Temp.Path);
        Temp.Dispose();
        if (leftovers.Count > 0)
        {
            Assert.Fail($"The test left {leftovers.Count} process(es) running under its temp dir (now killed): {string.Join("; ", leftovers)}");
        }
    }
}

/// <summary>Finds processes by their current directory, which for task processes is the sandbox.</summary>
internal static class LeftoverProcesses
{
    public static List<string> Under(string directory)
    {
        var found = new List<string>();
        var prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        foreach (var pid in ProcFs.AllPids())
        {
            var cwd = ProcFs.WorkingDirectory(pid);
            if (cwd is null || !(cwd == prefix || cwd.StartsWith(prefix + "/", StringComparison.Ordinal)))
            {
                continue;
            }

            if (ProcFs.ReadStat(pid) is { IsRunning: true })
            {
                found.Add($"{pid} {CommandLine(pid)}");
            }
        }

        return found;
    }

    /// <summary>Kills what runs under <paramref name="directory"/>; processes that are just exiting get a moment first.</summary>
    public static async Task<List<string>> KillUnderAsync(string directory)
    {
        var clock = Stopwatch.StartNew();
        var found = Under(directory);
        while (found.Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(2))
        {
            await Task.Delay(50);
            found = Under(directory);
        }

        foreach (var entry in found)
        {
            var pid = int.Parse(entry.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Gone already.
            }
        }

        return found;
    }

    public static bool IsRunning(int pid) => ProcFs.ReadStat(pid) is { IsRunning: true };

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            return "?";
        }
    }
}

/// <summary>Launches with test defaults: one role/env/job, no ports, no health check, finalization wait 10 s.</summary>
internal static class Launches
{
    public static ProcessSpec Process(string name, string cmdline, int maxFailures = 1) =>
        new(name, cmdline, maxFailures, Daemon: false, Ephemeral: false, MinDurationSecs: 0, Final: false, Logger: null);

    public static TaskLaunch Task(string taskId, params ProcessSpec[] processes) =>
        new(taskId, "www-data", "prod", "hello", InstanceId: 3, Cpus: 0.1, RamMb: 64, DiskMb: 64,
            Ports: new Dictionary<string, int>(), Processes: processes, ProcessOrder: [], FinalizationWaitSecs: 10,
            HealthCheck: null, Container: null, DefaultLogger: null, GlobalMounts: []);
}
