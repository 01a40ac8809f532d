using Aurora.Agent.Protocol;

namespace Aurora.Agent.Executor;

/// <summary>A task's cgroup: made at launch, found again after a restart, read for usage and limits, removed at the end.</summary>
internal sealed partial class TaskSupervisor
{
    /// <summary>How often a task's cgroup counters are read for <see cref="Usage"/>.</summary>
    private const long UsageSampleIntervalMs = 1_000;

    private TaskCgroup? _cgroup;
    private long _diskBytes = -1;
    private long _nextUsageSampleMs;

    /// <summary>What the task used at the last sample; null without isolation or before the first.</summary>
    public TaskUsage? Usage { get; private set; }

    /// <summary>The disk quota the disk watcher holds the sandbox to, in bytes; 0 when there is none.</summary>
    public long DiskQuotaBytes => Math.Max(0, State.Launch.DiskMb) << 20;

    /// <summary>Whether the disk watcher should measure this task's sandbox.</summary>
    public bool WantsDiskWatch => _context.Options.Isolation is not null && State.Phase == TaskPhase.Active && _durableHistory > 0;

    /// <summary>The disk watcher measured the sandbox: a use over the quota stops the task on its next tick.</summary>
    public void RecordDiskUsage(long bytes) => _diskBytes = bytes;

    private CgroupLimits Limits(TaskIsolation isolation) =>
        CgroupLimits.For(State.Launch.Cpus, State.Launch.RamMb, isolation.PidsMax, isolation.EnableCfs);

    /// <summary>Creates the task's cgroup at launch; the error when it cannot be made (the launch then fails).</summary>
    private Exception? CreateCgroup()
    {
        if (_context.Options.Isolation is not { } isolation)
        {
            return null;
        }

        try
        {
            _cgroup = isolation.Cgroups.Create(TaskId, Limits(isolation));
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _cgroup = isolation.Cgroups.For(TaskId);
            ReleaseCgroup();
            return e;
        }
    }

    /// <summary>After a restart: the cgroup the task's processes are in. A live task without one (isolation newly on) gets one for its next runs.</summary>
    private void FindCgroup()
    {
        if (_context.Options.Isolation is not { } isolation)
        {
            return;
        }

        var cgroup = isolation.Cgroups.For(TaskId);
        if (cgroup.Exists)
        {
            _cgroup = cgroup;
            return;
        }

        if (State.Phase != TaskPhase.Terminal && CreateCgroup() is { } error)
        {
            ExecutorLog.CgroupFailed(_context.Logger, TaskId, $"could not be made again after a restart: {error.Message}; its next runs run without limits");
        }
    }

    /// <summary>Stops the task when its cgroup saw the OOM killer or its sandbox outgrew its quota (Mesos' limitations).</summary>
    private void EnforceLimits(long now)
    {
        if (State.Phase != TaskPhase.Active || _context.Options.Isolation is not { } isolation)
        {
            return;
        }

        if (_cgroup is { } cgroup && cgroup.ReadUsage() is { OomKills: > 0 } usage)
        {
            var statistics = cgroup.MemoryStatistics();
            var message = $"Memory limit exceeded: Requested: {MesosBytes.Format(Limits(isolation).MemoryBytes)} Maximum Used: {MesosBytes.Format(usage.MemoryPeakBytes)}"
                + (statistics.Length > 0 ? $"\n\nMEMORY STATISTICS: \n{statistics}" : "");
            ExecutorLog.LimitExceeded(_context.Logger, TaskId, "memory", $"{usage.OomKills} process(es) OOM-killed, peak {MesosBytes.Format(usage.MemoryPeakBytes)}");
            BeginStop(AgentTaskState.Failed, message, TimeSpan.Zero, now);
            return;
        }

        if (DiskQuotaBytes > 0 && _diskBytes > DiskQuotaBytes)
        {
            var message = $"Disk usage ({MesosBytes.Format(_diskBytes)}) exceeds quota ({MesosBytes.Format(DiskQuotaBytes)})";
            ExecutorLog.LimitExceeded(_context.Logger, TaskId, "disk", message);
            BeginStop(AgentTaskState.Failed, message, TimeSpan.Zero, now);
        }
    }

    private void SampleUsage(long now)
    {
        if (_cgroup is not { } cgroup || now < _nextUsageSampleMs || _context.Options.Isolation is not { } isolation)
        {
            return;
        }

        _nextUsageSampleMs = now + UsageSampleIntervalMs;
        var usage = cgroup.ReadUsage();
        Usage = new TaskUsage(usage.CpuSeconds, usage.RssBytes, usage.MemoryPeakBytes, Limits(isolation).MemoryBytes, _diskBytes, DiskQuotaBytes);
    }

    /// <summary>The executor stops: a task that has ended gives its cgroup back now rather than on a tick that will not come.</summary>
    public void ReleaseCgroupIfEnded()
    {
        if (State.Phase == TaskPhase.Terminal && IsTerminal)
        {
            ReleaseCgroup();
        }
    }

    /// <summary>Once nothing of the task runs: kills what is left in its cgroup (also processes that left their group) and removes it; retried on later ticks while it is busy.</summary>
    private void ReleaseCgroup()
    {
        if (_cgroup is not { } cgroup)
        {
            return;
        }

        try
        {
            if (cgroup.TryRemove())
            {
                _cgroup = null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ExecutorLog.CgroupFailed(_context.Logger, TaskId, $"could not be removed yet: {e.Message}");
        }
    }
}
