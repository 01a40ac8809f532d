using System.Diagnostics;
using System.Globalization;
using Aurora.Agent.Protocol;

namespace Aurora.Agent.Executor;

/// <summary>
/// Drives one task through Thermos's life: regular processes in order with retries, then (on
/// success, failure or kill) SIGTERM/SIGKILL of what still runs, then the final processes, then the
/// terminal state. Every decision is checkpointed before it becomes visible in <see cref="Report"/>.
/// </summary>
/// <remarks>
/// Not thread-safe: the executor calls every member under its lock, from its monitor loop and from
/// the API. Health checks run on the thread pool and are only looked at from <see cref="Tick"/>.
/// </remarks>
internal sealed partial class TaskSupervisor
{
    /// <summary>How long a process group may survive SIGKILL before the task ends without it (a process stuck in the kernel).</summary>
    private const long KillSurvivalMs = 10_000;

    /// <summary>The least time between two starts of one process, whatever its min_duration (<see cref="RestartSpacingMs"/>).</summary>
    private const long MinRestartSpacingMs = 1_000;

    private readonly ExecutorContext _context;
    private readonly bool _persistent;
    private readonly Dictionary<string, ProcessSpec> _specs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _predecessors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _commands = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Process> _handles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _environment = new(StringComparer.Ordinal);
    private string? _launchError;
    private string? _pendingFailure;
    private int _durableHistory;
    private bool _dirty;

    private TaskSupervisor(ExecutorContext context, TaskCheckpoint state, bool persistent)
    {
        _context = context;
        _persistent = persistent;
        State = state;
        Root = Path.Combine(context.SandboxesDirectory, state.Launch.TaskId);
        Sandbox = Path.Combine(Root, "sandbox");
    }

    public TaskCheckpoint State { get; }

    public string TaskId => State.Launch.TaskId;

    /// <summary>{WorkDir}/sandboxes/{taskId}: the sandbox's parent, kept for executor files beside it.</summary>
    public string Root { get; }

    /// <summary>The processes' working directory; logs are under its .logs.</summary>
    public string Sandbox { get; }

    /// <summary>The reported (checkpointed) state is terminal: nothing of the task runs any more.</summary>
    public bool IsTerminal => _durableHistory > 0 && AgentTaskStates.IsTerminal(State.History[_durableHistory - 1].State);

    private long Now => _context.NowMs;

    /// <summary>
    /// A new task, materialised at once: its sandbox created and its checkpoint written as STARTING;
    /// it is validated and started by the next <see cref="Tick"/>. A launch that cannot be
    /// materialised (the sandbox cannot be created, the checkpoint cannot be written: ENOSPC, EACCES,
    /// ENAMETOOLONG...) comes back as a task that is FAILED with the reason and held in memory only,
    /// which is enough since nothing of it ran: it is reported once, and a repeated launch of the
    /// same id changes nothing while it is held.
    /// </summary>
    /// <remarks>The caller has checked the id with <see cref="ProtocolLimits.TaskIdProblem"/>.</remarks>
    public static TaskSupervisor Launch(ExecutorContext context, TaskLaunch launch)
    {
        var state = new TaskCheckpoint
        {
            Launch = launch,
            Processes = [.. launch.Processes.Select(p => p.Name).Distinct(StringComparer.Ordinal).Select(name => new ProcessCheckpoint { Name = name })],
        };
        var supervisor = new TaskSupervisor(context, state, persistent: true);
        supervisor._launchError = supervisor.Prepare();
        if (supervisor.Materialise() is not { } failure)
        {
            return supervisor;
        }

        ExecutorLog.LaunchFailed(context.Logger, failure.Cause, launch.TaskId, failure.Reason);
        var unlaunchable = new TaskCheckpoint { Launch = launch, Phase = TaskPhase.Terminal, Outcome = AgentTaskState.Failed, OutcomeMessage = failure.Reason };
        var failed = new TaskSupervisor(context, unlaunchable, persistent: false);
        failed.Transition(AgentTaskState.Failed, failure.Reason);
        failed.Flush();
        return failed;
    }

    /// <summary>The task as the scheduler may see it: its checkpointed transitions; null until the first is durable.</summary>
    /// <remarks>Messages are fitted to the protocol here too: a checkpoint written by an older agent may hold long or multi-line ones.</remarks>
    public TaskReport? Report() => _durableHistory == 0 ? null : new TaskReport(TaskId, [.. State.History.Take(_durableHistory).Select(FitToProtocol)]);

    /// <summary>Whether the task is checkpointed; a task whose launch could not be materialised, or known only by an unreadable checkpoint, lives in memory only.</summary>
    public bool IsPersistent => _persistent;

    /// <summary>Looks at the processes, moves the task on and checkpoints; true when a new transition became visible.</summary>
    public bool Tick()
    {
        if (_durableHistory == 0 || State.Phase == TaskPhase.Terminal)
        {
            // Nothing may run before STARTING is durable: a crash would leave processes no checkpoint names.
            var changed = Flush();
            if (State.Phase == TaskPhase.Terminal && IsTerminal)
            {
                ReleaseCgroup();
            }

            return changed;
        }

        var now = Now;
        EnforceLimits(now);
        Reap();

        // Again after the reaping: a run the OOM killer ended is a memory limitation, not a failed process.
        EnforceLimits(now);
        SampleUsage(now);
        for (var step = 0; step < 4; step++)
        {
            var phase = State.Phase;
            Advance(now);
            if (State.Phase == phase)
            {
                break;
            }
        }

        RotateLogs();
        return Flush();
    }

    /// <summary>Starts a kill: SIGTERM now, SIGKILL after <paramref name="gracePeriod"/>, then finalizers, then KILLED; false when the task is already ending.</summary>
    public bool RequestKill(string reason, TimeSpan gracePeriod)
    {
        if (State.Phase != TaskPhase.Active || _durableHistory == 0)
        {
            // Already ending (the outcome is decided) or not yet started: a launch error fails it on the next tick.
            return false;
        }

        BeginStop(AgentTaskState.Killed, string.IsNullOrWhiteSpace(reason) ? "Killed" : ProtocolLimits.FitMessage(reason), gracePeriod, Now);
        Flush();
        return true;
    }

    /// <summary>The agent stops: health checks end, processes keep running for the next agent to reattach.</summary>
    public void StopMonitoring() => StopHealthChecks();

    /// <summary>The task is forgotten: drop the process handles (the processes are gone by now).</summary>
    public void Release()
    {
        StopHealthChecks();
        ReleaseCgroup();
        foreach (var handle in _handles.Values)
        {
            handle.Dispose();
        }

        _handles.Clear();
    }

    private void Advance(long now)
    {
        switch (State.Phase)
        {
            case TaskPhase.Active:
                AdvanceActive(now);
                break;
            case TaskPhase.Stopping:
                AdvanceStopping(now);
                break;
            case TaskPhase.Finalizing:
                AdvanceFinalizing(now);
                break;
            case TaskPhase.Terminal:
                break;
        }
    }

    private void AdvanceActive(long now)
    {
        if (_launchError is not null)
        {
            BeginStop(AgentTaskState.Failed, _launchError, _context.Options.StopGracePeriod, now);
            return;
        }

        HarvestHealthCheck(now);
        if (State.Phase != TaskPhase.Active)
        {
            return;
        }

        if (_pendingFailure is not null || State.Processes.Any(p => p.Status == ProcessStatus.Failed))
        {
            BeginStop(AgentTaskState.Failed, _pendingFailure ?? "A process failed", _context.Options.StopGracePeriod, now);
            return;
        }

        if (Regular().Where(p => !_specs[p.Name].Ephemeral).All(p => p.Status == ProcessStatus.Succeeded))
        {
            BeginStop(AgentTaskState.Finished, "All processes finished", _context.Options.StopGracePeriod, now);
            return;
        }

        StartReady(final: false, now);
        MaybeReportRunning();
        StartHealthCheckIfDue(now);
    }

    private void AdvanceStopping(long now)
    {
        if (!State.Processes.Any(p => p.Current is not null))
        {
            State.Phase = TaskPhase.Finalizing;
            State.Escalated = false;
            State.PhaseDeadlineMs = now + (Math.Max(0, State.Launch.FinalizationWaitSecs) * 1000L);
            _dirty = true;
            return;
        }

        EscalateAtDeadline(now, State.Processes.Where(p => p.Current is not null));
    }

    private void AdvanceFinalizing(long now)
    {
        if (_launchError is not null)
        {
            SkipWaiting(Final());
        }
        else if (!State.Escalated)
        {
            StartReady(final: true, now);
        }

        if (Final().All(p => p.Status is not (ProcessStatus.Waiting or ProcessStatus.Running)))
        {
            State.Phase = TaskPhase.Terminal;
            Transition(State.Outcome ?? AgentTaskState.Failed, State.OutcomeMessage ?? "The task ended");
            return;
        }

        if (!State.Escalated && now >= State.PhaseDeadlineMs)
        {
            SkipWaiting(Final());
        }

        EscalateAtDeadline(now, Final().Where(p => p.Current is not null));
    }

    /// <summary>At the phase deadline SIGKILL goes to every group still running; a group that survives it for long is given up on.</summary>
    private void EscalateAtDeadline(long now, IEnumerable<ProcessCheckpoint> running)
    {
        if (now < State.PhaseDeadlineMs)
        {
            return;
        }

        if (!State.Escalated)
        {
            foreach (var process in running)
            {
                Signal(process.Current!.Pid, NativeMethods.SigKill);
            }

            State.Escalated = true;
            _dirty = true;
            return;
        }

        if (now >= State.PhaseDeadlineMs + KillSurvivalMs)
        {
            foreach (var process in running.ToList())
            {
                ExecutorLog.GroupSurvivedKill(_context.Logger, TaskId, process.Current!.Pid, (int)(KillSurvivalMs / 1000));
                process.Current = null;
                process.Status = ProcessStatus.Killed;
                _dirty = true;
            }
        }
    }

    /// <summary>Decides the outcome and stops whatever regular process still runs; finalizers follow once they are gone.</summary>
    private void BeginStop(AgentTaskState outcome, string message, TimeSpan gracePeriod, long now)
    {
        StopHealthChecks();
        State.Outcome = outcome;
        State.OutcomeMessage = message;
        State.Phase = TaskPhase.Stopping;
        State.Escalated = false;
        State.PhaseDeadlineMs = now + (long)Math.Max(0, gracePeriod.TotalMilliseconds);
        foreach (var process in Regular())
        {
            if (process.Current is { } run)
            {
                Signal(run.Pid, NativeMethods.SigTerm);
            }
        }

        SkipWaiting(Regular());
        _dirty = true;
    }

    private void SkipWaiting(IEnumerable<ProcessCheckpoint> processes)
    {
        foreach (var process in processes.Where(p => p.Status == ProcessStatus.Waiting))
        {
            process.Status = process.Runs == 0 ? ProcessStatus.Skipped : ProcessStatus.Killed;
            _dirty = true;
        }
    }

    /// <summary>Starts every waiting process of the kind whose order predecessors all succeeded and whose min_duration has passed.</summary>
    private void StartReady(bool final, long now)
    {
        foreach (var process in State.Processes)
        {
            var spec = _specs[process.Name];
            if (spec.Final != final || process.Status != ProcessStatus.Waiting)
            {
                continue;
            }

            var predecessors = _predecessors[process.Name].Select(name => State.Processes.First(p => p.Name == name)).ToList();
            if (final && predecessors.Any(p => p.Status is ProcessStatus.Failed or ProcessStatus.Killed or ProcessStatus.Skipped))
            {
                process.Status = ProcessStatus.Skipped;
                _dirty = true;
                continue;
            }

            if (!predecessors.All(p => p.Status == ProcessStatus.Succeeded)
                || (process.Runs > 0 && now < process.LastStartedAtMs + RestartSpacingMs(spec)))
            {
                continue;
            }

            StartRun(process, spec, now);
        }
    }

    /// <summary>
    /// How long after a run started the next may start: the process's min_duration, and never less
    /// than <see cref="MinRestartSpacingMs"/>. Thermos runs one executor per task; this agent runs
    /// every task, so a process that exits at once with min_duration 0 must not spin the agent.
    /// </summary>
    private static long RestartSpacingMs(ProcessSpec spec) => Math.Max(MinRestartSpacingMs, Math.Max(0, spec.MinDurationSecs) * 1000L);

    private void StartRun(ProcessCheckpoint process, ProcessSpec spec, long now)
    {
        var run = process.Runs;
        var runDir = RunDirectory(process.Name, run);
        process.Runs = run + 1;
        process.LastStartedAtMs = now;
        _dirty = true;
        try
        {
            var started = _context.Launcher.Start(Sandbox, runDir, _commands[process.Name], _environment, Confinement());
            process.Current = new ProcessRun(run, started.Pid, started.StartTime, now);
            process.Status = ProcessStatus.Running;
            _handles[process.Name] = started.Process;
            ExecutorLog.ProcessStarted(_context.Logger, TaskId, process.Name, run, started.Pid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            ExecutorLog.ProcessEnded(_context.Logger, TaskId, process.Name, run, $"could not be started: {e.Message}");
            RecordFailure(process, spec, $"could not be started: {e.Message}", reason: null);
        }
    }

    /// <summary>Finds runs that ended (the wrapper is gone) and judges them by the exit status they recorded.</summary>
    private void Reap()
    {
        foreach (var process in State.Processes)
        {
            if (process.Current is not { } run || ProcFs.IsAlive(run.Pid, run.StartTime))
            {
                continue;
            }

            // Liveness first, then the exit file: the wrapper writes the file before it exits.
            var exitStatus = ProcessLauncher.ReadExitStatus(RunDirectory(process.Name, run.Run), Sandbox);
            KillLeftovers(run.Pid);
            if (_handles.Remove(process.Name, out var handle))
            {
                handle.Dispose();
            }

            process.Current = null;
            process.LastExitStatus = exitStatus ?? process.LastExitStatus;
            _dirty = true;
            OnRunEnded(process, run, exitStatus);
        }
    }

    private void OnRunEnded(ProcessCheckpoint process, ProcessRun run, int? exitStatus)
    {
        var spec = _specs[process.Name];
        var ended = exitStatus is int status ? $"exit status {status}" : "no exit status recorded (killed by a signal?)";
        ExecutorLog.ProcessEnded(_context.Logger, TaskId, process.Name, run.Run, ended);
        if (State.Phase == TaskPhase.Stopping || (State.Phase == TaskPhase.Finalizing && (!spec.Final || State.Escalated)))
        {
            process.Status = exitStatus == 0 && !spec.Daemon ? ProcessStatus.Succeeded : ProcessStatus.Killed;
            return;
        }

        if (spec.Final)
        {
            process.Status = exitStatus == 0 ? ProcessStatus.Succeeded : ProcessStatus.Failed;
            return;
        }

        if (exitStatus == 0)
        {
            process.Status = spec.Daemon ? ProcessStatus.Waiting : ProcessStatus.Succeeded;
            return;
        }

        var stderr = HealthChecker.LastLine(ReadTail(Path.Combine(RunDirectory(process.Name, run.Run), ProcessLauncher.StderrFile), Sandbox));
        RecordFailure(process, spec, ended, stderr);
    }

    /// <summary>Counts a failed run; the process fails (and with it the task) once it failed max_failures times (0: never).</summary>
    /// <param name="ended">How the run ended (exit status 127).</param>
    /// <param name="reason">The last line the run wrote to stderr, which usually says why.</param>
    private void RecordFailure(ProcessCheckpoint process, ProcessSpec spec, string ended, string? reason)
    {
        process.Failures++;
        process.Current = null;
        _dirty = true;
        if (spec.MaxFailures > 0 && process.Failures >= spec.MaxFailures)
        {
            process.Status = ProcessStatus.Failed;
            var attempts = process.Runs == 1 ? "1 attempt" : $"{process.Runs} attempts";
            _pendingFailure ??= $"Process '{process.Name}' failed ({ended} after {attempts}){(reason is null ? "" : ": " + reason)}";
        }
        else
        {
            process.Status = ProcessStatus.Waiting;
        }
    }

    private void MaybeReportRunning()
    {
        if (State.State != AgentTaskState.Starting)
        {
            return;
        }

        var initial = Regular().Where(p => _predecessors[p.Name].Count == 0);
        if (!initial.All(p => p.Runs > 0))
        {
            return;
        }

        if (State.Launch.HealthCheck is null)
        {
            Transition(AgentTaskState.Running, "All initial processes started");
        }
        else if (_health is { Healthy: true } health)
        {
            Transition(AgentTaskState.Running, $"Healthy: {health.LastDetail}");
        }
    }

    private void RotateLogs()
    {
        foreach (var process in State.Processes)
        {
            if (process.Current is not { } run)
            {
                continue;
            }

            var logger = LoggerSpec.Over(_specs[process.Name].Logger, LoggerSpec.Over(State.Launch.DefaultLogger, _context.Options.DefaultLogger));
            try
            {
                var rotated = LogRotation.RotateIfNeeded(RunDirectory(process.Name, run.Run), Sandbox, logger, _context.Options.RotateBytesPerMb);
                if (rotated > 0)
                {
                    ExecutorLog.LogsRotated(_context.Logger, TaskId, process.Name, run.Run, rotated);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                ExecutorLog.TickFailed(_context.Logger, e, TaskId, $"rotating the logs of '{process.Name}': {e.Message}");
            }
        }
    }

    /// <summary>Records a transition; its message as the protocol carries it (<see cref="ProtocolLimits.FitMessage"/>): a process's last stderr line or a kill reason may be long or hold control characters.</summary>
    private void Transition(AgentTaskState state, string message)
    {
        State.History.Add(new TaskTransition(state, Now, ProtocolLimits.FitMessage(message)));
        _dirty = true;
    }

    private static TaskTransition FitToProtocol(TaskTransition transition)
    {
        var message = ProtocolLimits.FitMessage(transition.Message);
        return ReferenceEquals(message, transition.Message) ? transition : transition with { Message = message };
    }

    /// <summary>Creates the sandbox and makes STARTING durable; null when both worked, otherwise why not.</summary>
    private (string Reason, Exception Cause)? Materialise()
    {
        var host = _context.Options.Hostname;
        try
        {
            Directory.CreateDirectory(Sandbox);
            if (_launchError is null)
            {
                GiveSandboxToTaskUser();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ($"Cannot launch task {TaskId} on {host}: its sandbox cannot be created: {e.Message}", e);
        }

        if (_launchError is null && CreateCgroup() is { } cgroupError)
        {
            return ($"Cannot launch task {TaskId} on {host}: its cgroup cannot be created: {cgroupError.Message}", cgroupError);
        }

        Transition(AgentTaskState.Starting, $"Launched on {host}");
        if (WriteCheckpoint() is { } error)
        {
            // A rename that went through before the directory's fsync failed must not bring the task back after a restart.
            _context.Store.TryDelete(TaskId);
            ReleaseCgroup();
            return ($"Cannot launch task {TaskId} on {host}: its checkpoint cannot be written: {error.Message}", error);
        }

        MarkDurable();
        return null;
    }

    /// <summary>Writes the checkpoint (no-op for a task held in memory only); the error when it failed.</summary>
    private Exception? WriteCheckpoint()
    {
        if (!_persistent)
        {
            return null;
        }

        try
        {
            Directory.CreateDirectory(_context.Store.Directory);
            _context.Store.Write(State);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e;
        }
    }

    /// <summary>Writes the checkpoint if anything changed; only then do new transitions become part of <see cref="Report"/>.</summary>
    private bool Flush()
    {
        if (!_dirty)
        {
            return false;
        }

        if (WriteCheckpoint() is { } error)
        {
            ExecutorLog.CheckpointFailed(_context.Logger, error, TaskId, error.Message);
            return false;
        }

        return MarkDurable();
    }

    /// <summary>The checkpoint holds the state: new transitions become part of <see cref="Report"/> (and the log); true when there were any.</summary>
    private bool MarkDurable()
    {
        _dirty = false;
        if (State.History.Count == _durableHistory)
        {
            return false;
        }

        foreach (var transition in State.History.Skip(_durableHistory))
        {
            ExecutorLog.Transition(_context.Logger, TaskId, transition.State.ToString().ToUpperInvariant(), transition.Message);
        }

        _durableHistory = State.History.Count;
        return true;
    }

    private void Signal(int pgid, int signal)
    {
        try
        {
            NativeMethods.SignalGroup(pgid, signal);
        }
        catch (Exception e) when (e is IOException or ArgumentOutOfRangeException)
        {
            ExecutorLog.SignalFailed(_context.Logger, TaskId, pgid, e.Message);
        }
    }

    /// <summary>A run is over once its wrapper is: whatever it left running in its group goes too.</summary>
    private void KillLeftovers(int pgid)
    {
        if (pgid > 1 && ProcFs.RunningGroupMembers(pgid).Count > 0)
        {
            Signal(pgid, NativeMethods.SigKill);
        }
    }

    private IEnumerable<ProcessCheckpoint> Regular() => State.Processes.Where(p => !_specs[p.Name].Final);

    private IEnumerable<ProcessCheckpoint> Final() => State.Processes.Where(p => _specs[p.Name].Final);

    private string RunDirectory(string process, int run) =>
        Path.Combine(Sandbox, ".logs", process, run.ToString(CultureInfo.InvariantCulture));

    /// <summary>The last 8 KiB of a run's log, read only if it is a regular file inside the sandbox (the task may have put a FIFO in its place).</summary>
    private static string ReadTail(string path, string sandbox)
    {
        using var file = UntrustedFiles.OpenRegular(path, sandbox);
        if (file is null)
        {
            return "";
        }

        try
        {
            var length = RandomAccess.GetLength(file);
            var buffer = new byte[(int)Math.Min(length, 8192)];
            var read = UntrustedFiles.ReadAt(file, buffer, length - buffer.Length);
            return System.Text.Encoding.UTF8.GetString(buffer, 0, read);
        }
        catch (IOException)
        {
            return "";
        }
    }
}
