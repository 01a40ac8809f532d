using Aurora.Agent.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Agent.Executor;

/// <summary>
/// Thermos's job on an agent: runs each task's processes as process groups in
/// <c>{WorkDir}/sandboxes/{taskId}/sandbox</c>, checkpoints every task in
/// <c>{WorkDir}/checkpoints/{taskId}.json</c> before reporting a state, and picks its tasks up again
/// after an agent restart (<see cref="Recover"/>).
/// </summary>
/// <remarks>
/// One monitor loop ticks every <see cref="ExecutorOptions.PollInterval"/> (and at once after a launch
/// or kill): it reaps ended runs, starts ready ones, escalates kills, rotates logs, harvests health
/// checks and raises <see cref="Changed"/> from its own thread after new transitions are durable.
/// All state sits behind one lock, taken by every API call and by the loop for one task at a time, so
/// an API call waits at most for one task's tick; the API never waits for processes (a kill only
/// sends SIGTERM and leaves the rest to the loop).
/// Disposing stops the loop but not the processes, as an agent restart must.
/// </remarks>
public sealed class TaskExecutor : ITaskExecutor
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, TaskSupervisor> _tasks = new(StringComparer.Ordinal);
    private readonly ExecutorContext _context;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Task _diskWatch;

    /// <summary>How many refused task ids are remembered, so that a launch repeated by the scheduler is logged once.</summary>
    private const int MaxRefusedRemembered = 1024;

    /// <summary>Ids of launches refused because the protocol cannot carry them; bounded by <see cref="MaxRefusedRemembered"/>.</summary>
    private readonly HashSet<string> _refused = new(StringComparer.Ordinal);

    /// <summary>Tasks launched since the loop last raised <see cref="Changed"/>: announced (STARTING) before their first tick.</summary>
    private readonly HashSet<string> _unannounced = new(StringComparer.Ordinal);
    private bool _changePending;
    private int _disposed;

    public TaskExecutor(ExecutorOptions options, ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.WorkDir))
        {
            throw new ArgumentException("The executor needs a work dir (ExecutorOptions.WorkDir is empty).", nameof(options));
        }

        if (options.PollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"ExecutorOptions.PollInterval must be positive, got {options.PollInterval}.", nameof(options));
        }

        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The executor runs tasks with Linux process groups and /proc; it needs Linux.");
        }

        options = options with { WorkDir = Path.GetFullPath(options.WorkDir) };
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false });
        var store = new CheckpointStore(Path.Combine(options.WorkDir, "checkpoints"));
        var launcher = new ProcessLauncher(switchesUsers: options.RunAsRoleUser);
        _context = new ExecutorContext(options, time ?? TimeProvider.System, logger ?? NullLogger.Instance, store, launcher, new HealthChecker(_http, launcher));
        Directory.CreateDirectory(_context.SandboxesDirectory);
        _loop = Task.Run(LoopAsync);
        _diskWatch = options.Isolation is { } isolation ? Task.Run(() => DiskWatchLoopAsync(isolation.DiskWatchInterval)) : Task.CompletedTask;
    }

    /// <inheritdoc/>
    public event Action? Changed;

    /// <inheritdoc/>
    public IReadOnlyList<TaskReport> Recover()
    {
        ThrowIfDisposed();
        lock (_lock)
        {
            foreach (var stored in _context.Store.LoadAll())
            {
                if (_tasks.ContainsKey(stored.TaskId))
                {
                    continue;
                }

                if (ProtocolLimits.TaskIdProblem(stored.TaskId) is { } problem)
                {
                    DropUnreportable(stored, problem);
                    continue;
                }

                _tasks[stored.TaskId] = stored.Checkpoint is { } checkpoint
                    ? TaskSupervisor.Recover(_context, checkpoint)
                    : RecoverUnreadable(stored);
            }

            RemoveLeftoverCgroups();
            _changePending = true;
            Wake();
            return InventoryLocked();
        }
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, TaskUsage> Usage()
    {
        lock (_lock)
        {
            return _tasks.Values.Where(t => t.Usage is not null).ToDictionary(t => t.TaskId, t => t.Usage!, StringComparer.Ordinal);
        }
    }

    /// <inheritdoc/>
    public string Isolation => _context.Options.Isolation?.Describe() ?? "none";

    /// <inheritdoc/>
    public bool Launch(TaskLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        ThrowIfDisposed();
        lock (_lock)
        {
            if (_tasks.ContainsKey(launch.TaskId))
            {
                return false;
            }

            if (ProtocolLimits.TaskIdProblem(launch.TaskId) is { } problem)
            {
                if (_refused.Count >= MaxRefusedRemembered)
                {
                    _refused.Clear();
                }

                if (_refused.Add(launch.TaskId))
                {
                    ExecutorLog.LaunchRefused(_context.Logger, problem);
                }

                return false;
            }

            _tasks[launch.TaskId] = TaskSupervisor.Launch(_context, launch);
            _unannounced.Add(launch.TaskId);
            _changePending = true;
        }

        Wake();
        return true;
    }

    /// <inheritdoc/>
    public bool Kill(string taskId, string reason, TimeSpan gracePeriod)
    {
        ThrowIfDisposed();
        lock (_lock)
        {
            if (!_tasks.TryGetValue(taskId, out var task) || !task.RequestKill(reason, gracePeriod))
            {
                return false;
            }

            _changePending = true;
        }

        Wake();
        return true;
    }

    /// <inheritdoc/>
    public IReadOnlyList<TaskReport> Inventory()
    {
        lock (_lock)
        {
            return InventoryLocked();
        }
    }

    /// <inheritdoc/>
    public bool Forget(string taskId)
    {
        lock (_lock)
        {
            if (!_tasks.TryGetValue(taskId, out var task) || !task.IsTerminal)
            {
                return false;
            }

            try
            {
                if (task.IsPersistent)
                {
                    _context.Store.Delete(taskId);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Kept: the scheduler acknowledges it again and the next Forget retries.
                ExecutorLog.CheckpointFailed(_context.Logger, e, taskId, $"could not delete the checkpoint of a forgotten task: {e.Message}");
                return false;
            }

            task.Release();
            _tasks.Remove(taskId);
            TouchSandboxRoot(taskId);
            return true;
        }
    }

    /// <inheritdoc/>
    public IReadOnlyList<string> CollectSandboxes(DateTimeOffset before)
    {
        List<(string TaskId, string Root)> expired = [];
        lock (_lock)
        {
            if (!Directory.Exists(_context.SandboxesDirectory))
            {
                return [];
            }

            foreach (var root in Directory.EnumerateDirectories(_context.SandboxesDirectory))
            {
                var taskId = Path.GetFileName(root);
                if (!_tasks.ContainsKey(taskId) && Directory.GetLastWriteTimeUtc(root) < before.UtcDateTime)
                {
                    expired.Add((taskId, root));
                }
            }
        }

        var collected = new List<string>(expired.Count);
        foreach (var (taskId, root) in expired)
        {
            try
            {
                Directory.Delete(root, recursive: true);
                collected.Add(taskId);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Tried again at the next collection; a sandbox that cannot be deleted must not stop the others.
                ExecutorLog.CheckpointFailed(_context.Logger, e, taskId, $"could not delete the sandbox of a forgotten task: {e.Message}");
            }
        }

        return collected;
    }

    /// <summary>Marks when the task was forgotten: the sandbox root's time is what <see cref="CollectSandboxes"/> ages.</summary>
    private void TouchSandboxRoot(string taskId)
    {
        var root = Path.Combine(_context.SandboxesDirectory, taskId);
        try
        {
            if (ProtocolLimits.TaskIdProblem(taskId) is null && Directory.Exists(root))
            {
                Directory.SetLastWriteTimeUtc(root, _context.Time.GetUtcNow().UtcDateTime);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only the collection's timing depends on it: the sandbox is then aged from its creation.
            ExecutorLog.CheckpointFailed(_context.Logger, e, taskId, $"could not mark the sandbox of a forgotten task: {e.Message}");
        }
    }

    /// <inheritdoc/>
    public string? SandboxOf(string taskId)
    {
        lock (_lock)
        {
            if (ProtocolLimits.TaskIdProblem(taskId) is not null)
            {
                return null;
            }

            if (_tasks.TryGetValue(taskId, out var task))
            {
                return task.Sandbox;
            }

            // A forgotten task's sandbox stays on disk, and its logs stay browsable, until the operator removes it.
            var kept = Path.Combine(_context.SandboxesDirectory, taskId, "sandbox");
            return Directory.Exists(kept) ? kept : null;
        }
    }

    /// <inheritdoc/>
    public async Task KillAllAsync(TimeSpan gracePeriod)
    {
        ThrowIfDisposed();
        lock (_lock)
        {
            foreach (var task in _tasks.Values)
            {
                task.RequestKill("Killed: the agent is shutting down and kills its tasks", gracePeriod);
            }

            _changePending = true;
        }

        Wake();
        while (true)
        {
            lock (_lock)
            {
                if (_tasks.Values.All(t => t.IsTerminal))
                {
                    return;
                }
            }

            ThrowIfDisposed();
            await Task.Delay(_context.Options.PollInterval).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the monitor loop and health checks; the tasks' processes keep running for the next executor to <see cref="Recover"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await _diskWatch.ConfigureAwait(false);
        lock (_lock)
        {
            foreach (var task in _tasks.Values)
            {
                task.StopMonitoring();
                task.ReleaseCgroupIfEnded();
            }
        }

        _http.Dispose();
        _stop.Dispose();
        _wake.Dispose();
    }

    /// <summary>
    /// A checkpoint whose task id the protocol cannot carry (an older agent accepted ids up to 250
    /// characters; a stray file may name anything): reporting the task would get every heartbeat
    /// refused, and holding it unreported would leave its processes running for good. Its processes
    /// are killed and its checkpoint removed; the scheduler finds the task missing and makes it LOST.
    /// </summary>
    private void DropUnreportable(StoredCheckpoint stored, string problem)
    {
        var name = stored.TaskId;
        var sandbox = name.Length is > 0 and <= 255 && name is not ("." or "..") ? Path.Combine(_context.SandboxesDirectory, name, "sandbox") : null;
        var killed = TaskSupervisor.KillOrphans(sandbox, stored.RawText);
        try
        {
            File.Delete(stored.Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ExecutorLog.CheckpointFailed(_context.Logger, e, "(unreportable)", $"could not remove checkpoint {stored.Path}: {e.Message}");
        }

        ExecutorLog.UnreportableCheckpoint(_context.Logger, stored.Path, problem, killed);
    }

    private TaskSupervisor RecoverUnreadable(StoredCheckpoint stored)
    {
        var sandbox = Path.Combine(_context.SandboxesDirectory, stored.TaskId, "sandbox");
        var killed = TaskSupervisor.KillOrphans(sandbox, stored.RawText);
        ExecutorLog.UnreadableCheckpoint(_context.Logger, stored.Path, stored.Problem ?? "is unreadable", killed);
        try
        {
            _context.Store.SetAside(stored.Path);
        }
        catch (IOException e)
        {
            ExecutorLog.CheckpointFailed(_context.Logger, e, stored.TaskId, $"could not move the unreadable checkpoint aside: {e.Message}");
        }

        return TaskSupervisor.Lost(_context, stored.TaskId,
            $"The checkpoint of task {stored.TaskId} {stored.Problem ?? "is unreadable"}; its processes were killed ({killed} process group(s))");
    }

    /// <summary>
    /// Cgroups under the agent's root that no checkpointed task owns (a task forgotten, or set aside as
    /// unreadable, while an earlier agent could not remove its cgroup): what runs in them is killed
    /// and they are removed. Only those whose task had a sandbox in this work dir: another agent on
    /// the same machine (tests, a dev cluster) may share the cgroup root, and its tasks are not ours.
    /// </summary>
    private void RemoveLeftoverCgroups()
    {
        if (_context.Options.Isolation is not { } isolation)
        {
            return;
        }

        var removed = 0;
        try
        {
            foreach (var taskId in isolation.Cgroups.ExistingTaskIds())
            {
                if ((!_tasks.TryGetValue(taskId, out var task) || !task.IsPersistent)
                    && Directory.Exists(Path.Combine(_context.SandboxesDirectory, taskId))
                    && isolation.Cgroups.For(taskId).TryRemove())
                {
                    removed++;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ExecutorLog.CgroupFailed(_context.Logger, "(leftover)", $"sweep failed: {e.Message}");
        }

        if (removed > 0)
        {
            ExecutorLog.LeftoverCgroupsRemoved(_context.Logger, removed);
        }
    }

    /// <summary>
    /// Measures every active task's sandbox each <paramref name="interval"/>, outside the lock (a big
    /// sandbox takes a while to walk), and hands the result to its supervisor, which stops the task on
    /// its next tick when it is over its disk quota (Mesos' disk/du isolator).
    /// </summary>
    private async Task DiskWatchLoopAsync(TimeSpan interval)
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            TaskSupervisor[] watched;
            lock (_lock)
            {
                watched = [.. _tasks.Values.Where(t => t.WantsDiskWatch)];
            }

            var over = false;
            foreach (var task in watched)
            {
                long bytes;
                try
                {
                    bytes = SandboxBytes(task.Sandbox);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    ExecutorLog.DiskWatchFailed(_context.Logger, task.TaskId, e.Message);
                    continue;
                }

                lock (_lock)
                {
                    task.RecordDiskUsage(bytes);
                }

                over |= task.DiskQuotaBytes > 0 && bytes > task.DiskQuotaBytes;
            }

            if (over)
            {
                Wake();
            }
        }
    }

    /// <summary>The apparent size of every regular file below <paramref name="sandbox"/>; symbolic links are neither followed nor counted.</summary>
    internal static long SandboxBytes(string sandbox)
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            IgnoreInaccessible = true,
            AttributesToSkip = FileAttributes.ReparsePoint,
            ReturnSpecialDirectories = false,
        };
        return Directory.Exists(sandbox) ? new DirectoryInfo(sandbox).EnumerateFiles("*", options).Sum(f => f.Length) : 0;
    }

    private List<TaskReport> InventoryLocked() =>
        [.. _tasks.Values.Select(t => t.Report()).OfType<TaskReport>()];

    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (ObjectDisposedException)
        {
            // Disposed meanwhile: no loop to wake.
        }
    }

    private async Task LoopAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            // A new task is announced before its first tick moves it on, so that handlers see STARTING too.
            bool announce;
            lock (_lock)
            {
                announce = _changePending;
                _changePending = false;
                _unannounced.Clear();
            }

            if (announce)
            {
                RaiseChanged();
            }

            var changed = false;
            try
            {
                // One task at a time under the lock, so that a tick over hundreds of busy tasks never
                // keeps heartbeats (Inventory), launches and kills waiting for all of them.
                TaskSupervisor[] tasks;
                lock (_lock)
                {
                    tasks = [.. _tasks.Values];
                }

                foreach (var task in tasks)
                {
                    if (token.IsCancellationRequested)
                    {
                        break;
                    }

                    lock (_lock)
                    {
                        if (_tasks.TryGetValue(task.TaskId, out var current) && ReferenceEquals(current, task) && !_unannounced.Contains(task.TaskId))
                        {
                            changed |= TickOne(task);
                        }
                    }
                }
            }
            catch (Exception e)
            {
                ExecutorLog.LoopFailed(_context.Logger, e, e.Message);
            }

            if (changed)
            {
                RaiseChanged();
            }

            try
            {
                await _wake.WaitAsync(_context.Options.PollInterval, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private bool TickOne(TaskSupervisor task)
    {
        try
        {
            return task.Tick();
        }
        catch (Exception e)
        {
            // One task's trouble must not stop the others; it is retried on the next tick.
            ExecutorLog.TickFailed(_context.Logger, e, task.TaskId, e.Message);
            return false;
        }
    }

    private void RaiseChanged()
    {
        try
        {
            Changed?.Invoke();
        }
        catch (Exception e)
        {
            ExecutorLog.ChangedHandlerFailed(_context.Logger, e, e.Message);
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
}
