using System.Globalization;
using System.Text.RegularExpressions;
using Aurora.Agent.Protocol;

namespace Aurora.Agent.Executor;

/// <summary>Picking a task up again after an agent restart, from its checkpoint and what /proc and the run directories say.</summary>
internal sealed partial class TaskSupervisor
{
    /// <summary>
    /// Resumes a checkpointed task. Runs whose wrapper still lives are reattached; runs that ended are
    /// judged by their exit file on the next tick; a run the agent started but could not checkpoint
    /// is found by the pid file its wrapper wrote. If nothing of the task runs any more and some run
    /// left no exit status, the task is LOST.
    /// </summary>
    public static TaskSupervisor Recover(ExecutorContext context, TaskCheckpoint checkpoint)
    {
        var supervisor = new TaskSupervisor(context, checkpoint, persistent: true);
        supervisor._durableHistory = checkpoint.History.Count;
        supervisor._launchError = supervisor.Prepare();
        supervisor.FindCgroup();
        if (checkpoint.Phase != TaskPhase.Terminal)
        {
            supervisor.Reattach();
            supervisor.Flush();
        }

        return supervisor;
    }

    /// <summary>A task known only by the name of its unreadable checkpoint: LOST, held in memory until forgotten.</summary>
    public static TaskSupervisor Lost(ExecutorContext context, string taskId, string message)
    {
        var launch = new TaskLaunch(taskId, "", "", "", 0, 0, 0, 0, new Dictionary<string, int>(), [], [], 0, null, null, null, []);
        var supervisor = new TaskSupervisor(context, new TaskCheckpoint { Launch = launch, Phase = TaskPhase.Terminal }, persistent: false);
        supervisor.Transition(AgentTaskState.Lost, message);
        supervisor.Flush();
        return supervisor;
    }

    /// <summary>
    /// Kills what an unreadable checkpoint may have left running: the process groups whose pid and
    /// start time can still be read from its text, and the runs of the task's sandbox whose wrapper
    /// wrote a pid file, recorded no exit and still runs in that sandbox. Returns how many were killed.
    /// </summary>
    /// <param name="sandbox">Null when the task id cannot name a sandbox: only the checkpoint's text is looked at.</param>
    public static int KillOrphans(string? sandbox, string? checkpointText)
    {
        var groups = new HashSet<int>();
        foreach (Match match in PidAndStartTime().Matches(checkpointText ?? ""))
        {
            var pid = int.Parse(match.Groups["pid"].Value, CultureInfo.InvariantCulture);
            var start = long.Parse(match.Groups["start"].Value, CultureInfo.InvariantCulture);
            if (ProcFs.IsAlive(pid, start))
            {
                groups.Add(pid);
            }
        }

        if (sandbox is not null && Path.Combine(sandbox, ".logs") is var logs && Directory.Exists(logs))
        {
            foreach (var runDir in Directory.EnumerateDirectories(logs).SelectMany(Directory.EnumerateDirectories))
            {
                if (!File.Exists(Path.Combine(runDir, ProcessLauncher.ExitFile))
                    && ProcessLauncher.ReadPid(runDir, sandbox) is int pid
                    && ProcFs.ReadStat(pid) is { IsRunning: true }
                    && IsSameDirectory(ProcFs.WorkingDirectory(pid), sandbox))
                {
                    groups.Add(pid);
                }
            }
        }

        var killed = 0;
        foreach (var pgid in groups.Where(g => g > 1))
        {
            try
            {
                if (NativeMethods.SignalGroup(pgid, NativeMethods.SigKill))
                {
                    killed++;
                }
            }
            catch (IOException)
            {
                // Not ours to kill after all (EPERM): nothing more can be done from here.
            }
        }

        return killed;
    }

    private void Reattach()
    {
        var now = Now;
        var vanished = new List<string>();
        var anyAlive = false;
        foreach (var process in State.Processes)
        {
            if (process.Current is null)
            {
                AdoptUnrecordedRun(process, now);
            }

            if (process.Current is not { } run)
            {
                continue;
            }

            if (ProcFs.IsAlive(run.Pid, run.StartTime))
            {
                anyAlive = true;
                ExecutorLog.Reattached(_context.Logger, TaskId, process.Name, run.Run, run.Pid);
            }
            else if (ProcessLauncher.ReadExitStatus(RunDirectory(process.Name, run.Run), Sandbox) is null)
            {
                vanished.Add(process.Name);
            }
        }

        if (vanished.Count == 0 || anyAlive)
        {
            // Ended runs (with or without a status) are judged by the next tick, as if the agent had never stopped.
            return;
        }

        foreach (var process in State.Processes)
        {
            if (process.Current is { } run)
            {
                KillLeftovers(run.Pid);
                process.Current = null;
                process.Status = ProcessStatus.Killed;
            }
        }

        StopHealthChecks();
        State.Phase = TaskPhase.Terminal;
        State.Outcome = AgentTaskState.Lost;
        State.OutcomeMessage = $"Processes of task {TaskId} disappeared while the agent was down (no exit status from {string.Join(", ", vanished.Select(n => $"'{n}'"))})";
        Transition(AgentTaskState.Lost, State.OutcomeMessage);
    }

    /// <summary>The agent may have started run N and stopped before checkpointing it: its wrapper's pid file tells.</summary>
    private void AdoptUnrecordedRun(ProcessCheckpoint process, long now)
    {
        var runDir = RunDirectory(process.Name, process.Runs);
        if (!Directory.Exists(runDir) || ProcessLauncher.ReadPid(runDir, Sandbox) is not int pid)
        {
            return;
        }

        var stat = ProcFs.ReadStat(pid);
        var running = stat is { IsRunning: true } && IsSameDirectory(ProcFs.WorkingDirectory(pid), Sandbox);
        if (!running && ProcessLauncher.ReadExitStatus(runDir, Sandbox) is null)
        {
            // Neither running nor ended with a status: nothing to adopt; the run number is reused.
            return;
        }

        process.Current = new ProcessRun(process.Runs, pid, running ? stat!.Value.StartTime : -1, now);
        process.Runs++;
        process.LastStartedAtMs = now;
        process.Status = ProcessStatus.Running;
        _dirty = true;
    }

    private static bool IsSameDirectory(string? a, string b) =>
        a is not null && string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(Path.GetFullPath(b)), StringComparison.Ordinal);

    [GeneratedRegex(@"""pid""\s*:\s*(?<pid>\d+)\s*,\s*""startTime""\s*:\s*(?<start>\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex PidAndStartTime();
}
