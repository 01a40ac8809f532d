using System.Collections.Concurrent;
using Aurora.Agent.Executor;
using Aurora.Agent.Protocol;

namespace Aurora.Agent.Tests.Support;

/// <summary>An executor that runs nothing: it records what the agent asks of it and reports what the test puts in it.</summary>
internal sealed class FakeExecutor : ITaskExecutor
{
    private readonly ConcurrentDictionary<string, TaskReport> _tasks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _sandboxes = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _calls = new();

    public event Action? Changed;

    public ExecutorOptions? Options { get; init; }

    /// <summary>Every call in order: "recover", "inventory", "launch t1", "kill t2 reason 7s", "forget t3", "killall".</summary>
    public IReadOnlyList<string> Calls => [.. _calls];

    public ConcurrentQueue<TaskLaunch> Launched { get; } = new();

    public bool Disposed { get; private set; }

    public static TaskReport Report(string taskId, AgentTaskState state, string message = "") =>
        new(taskId, [new TaskTransition(state, 1_700_000_000_000, message)]);

    public void Hold(TaskReport report) => _tasks[report.TaskId] = report;

    public void SetSandbox(string taskId, string directory) => _sandboxes[taskId] = directory;

    public void RaiseChanged() => Changed?.Invoke();

    public IReadOnlyList<TaskReport> Recover()
    {
        _calls.Enqueue("recover");
        return [.. _tasks.Values];
    }

    public bool Launch(TaskLaunch launch)
    {
        _calls.Enqueue($"launch {launch.TaskId}");
        Launched.Enqueue(launch);
        return _tasks.TryAdd(launch.TaskId, Report(launch.TaskId, AgentTaskState.Starting));
    }

    public bool Kill(string taskId, string reason, TimeSpan gracePeriod)
    {
        _calls.Enqueue($"kill {taskId} {reason} {gracePeriod.TotalSeconds}s");
        if (_tasks.TryGetValue(taskId, out var report) && !AgentTaskStates.IsTerminal(report.Current.State))
        {
            _tasks[taskId] = report with { History = [.. report.History, new TaskTransition(AgentTaskState.Killed, 1_700_000_000_001, reason)] };
            return true;
        }

        return false;
    }

    public IReadOnlyList<TaskReport> Inventory()
    {
        _calls.Enqueue("inventory");
        return [.. _tasks.Values.OrderBy(t => t.TaskId, StringComparer.Ordinal)];
    }

    public bool Forget(string taskId)
    {
        _calls.Enqueue($"forget {taskId}");
        return _tasks.TryRemove(taskId, out _);
    }

    public string? SandboxOf(string taskId) => _sandboxes.GetValueOrDefault(taskId);

    /// <summary>What <see cref="Usage"/> answers; empty, as an executor without isolation.</summary>
    public Dictionary<string, TaskUsage> UsageByTask { get; } = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, TaskUsage> Usage() => UsageByTask;

    public string Isolation { get; init; } = "none";

    public IReadOnlyList<string> CollectSandboxes(DateTimeOffset before) => [];

    public Task KillAllAsync(TimeSpan gracePeriod)
    {
        _calls.Enqueue("killall");
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}
