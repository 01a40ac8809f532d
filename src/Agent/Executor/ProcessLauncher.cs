using System.Diagnostics;
using System.Globalization;

namespace Aurora.Agent.Executor;

/// <summary>A process group just started for one run.</summary>
/// <param name="StartTime">-1 when the wrapper was gone before its start time could be read; it is then judged by its exit file alone.</param>
internal sealed record StartedRun(Process Process, int Pid, long StartTime);

/// <summary>What a task's processes are confined to: the user they run as and the cgroups they join.</summary>
/// <param name="SwitchTo">The role's user, when the agent switches to it (setuid, setgid, initgroups); null runs as the agent's user.</param>
/// <param name="CgroupProcsFiles">The <c>cgroup.procs</c> files of the task's cgroups: the process joins them before it runs anything.</param>
internal sealed record ProcessConfinement(UnixUser? SwitchTo, IReadOnlyList<string> CgroupProcsFiles)
{
    public static ProcessConfinement None { get; } = new(null, []);
}

/// <summary>
/// Starts a process run as <c>setsid bash -c JOIN</c>: its own session and process group, in the
/// task's cgroups, as the task's user, output appended to files in the run's log directory, exit
/// status written next to them.
/// </summary>
/// <remarks>
/// Nothing flows through the agent: the wrapper opens stdout/stderr itself (O_APPEND), so the
/// processes outlive an agent crash, and it records the exit status in a file (temp + mv) because a
/// restarted agent cannot wait() for a process it did not start. setsid execs in place (the .NET
/// child is never a group leader), so the pid we get is the process group id.
/// The first stage (JOIN) runs as the agent: it writes its own pid to each cgroup.procs file, so that
/// nothing it starts can run outside the cgroups, then execs (same pid) <c>setpriv --reuid --regid
/// --init-groups</c> into the wrapper when the task has a user of its own. The wrapper therefore runs
/// as the task's user from its first line: it creates the run directory, the pid, exit and log files
/// itself, so the agent never writes by name into a sandbox the task owns (where a planted symbolic
/// link would turn a write as root into a write anywhere).
/// The wrapper traps SIGTERM with a no-op handler (handlers, unlike ignored signals, are reset in the
/// child), so on a kill the command gets SIGTERM while the wrapper lives on to record its status.
/// </remarks>
internal sealed class ProcessLauncher
{
    public const string StdoutFile = "stdout";
    public const string StderrFile = "stderr";
    public const string ExitFile = "exit";
    public const string PidFile = "pid";

    /// <summary>The most read of a pid or exit file: a number and a newline fit many times over.</summary>
    private const int SmallFileBytes = 64;

    // $1 how many cgroup.procs files follow, then the files, then the command to exec.
    private const string Join = """
        n=$1; shift
        while [ "$n" -gt 0 ]; do
          echo $$ > "$1" || { echo "aurora: cannot join cgroup $1" >&2; exit 125; }
          shift; n=$((n-1))
        done
        exec "$@"
        """;

    // $1 command line, $2 stdout, $3 stderr, $4 run dir, $5 mv, $6 mkdir.
    private const string Wrapper = """
        "$6" -p "$4" || exit 126
        echo $$ > "$4/pid.tmp" && "$5" -f "$4/pid.tmp" "$4/pid"
        exec </dev/null >>"$2" 2>>"$3"
        trap : TERM
        /bin/bash -c "$1" bash
        rc=$?
        echo $rc > "$4/exit.tmp" && "$5" -f "$4/exit.tmp" "$4/exit"
        exit $rc
        """;

    private readonly string _setsid;
    private readonly string _mv;
    private readonly string _mkdir;
    private readonly string? _setpriv;

    /// <param name="switchesUsers">Whether tasks run as their role's user: setpriv (util-linux) is then required.</param>
    public ProcessLauncher(bool switchesUsers = false)
    {
        _setsid = FindTool("setsid", "/usr/bin/setsid", "/bin/setsid");
        _mv = FindTool("mv", "/usr/bin/mv", "/bin/mv");
        _mkdir = FindTool("mkdir", "/usr/bin/mkdir", "/bin/mkdir");
        _setpriv = switchesUsers ? FindTool("setpriv", "/usr/bin/setpriv", "/bin/setpriv") : null;
    }

    /// <summary>Starts <paramref name="cmdline"/> with bash in <paramref name="workingDirectory"/>, its logs and exit file in <paramref name="runDir"/>.</summary>
    public StartedRun Start(string workingDirectory, string runDir, string cmdline, IReadOnlyDictionary<string, string> environment, ProcessConfinement confinement)
    {
        if (confinement.SwitchTo is null)
        {
            // The agent's own user creates it; for a task user the wrapper does, as that user.
            Directory.CreateDirectory(runDir);
        }

        var process = StartDetached(workingDirectory, environment, redirectOutput: false, confinement,
            "-c", Wrapper, "aurora-process", cmdline, Path.Combine(runDir, StdoutFile), Path.Combine(runDir, StderrFile), runDir, _mv, _mkdir);
        var startTime = ProcFs.ReadStat(process.Id)?.StartTime ?? -1;
        return new StartedRun(process, process.Id, startTime);
    }

    /// <summary>Starts <c>bash -c <paramref name="command"/></c> in a session of its own, confined like the task, with stdout/stderr piped to the caller (health checks).</summary>
    public Process StartCaptured(string workingDirectory, IReadOnlyDictionary<string, string> environment, string command, ProcessConfinement confinement) =>
        StartDetached(workingDirectory, environment, redirectOutput: true, confinement, "-c", command, "bash");

    private Process StartDetached(string workingDirectory, IReadOnlyDictionary<string, string> environment, bool redirectOutput, ProcessConfinement confinement, params string[] bashArguments)
    {
        var info = new ProcessStartInfo(_setsid)
        {
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = redirectOutput,
            RedirectStandardOutput = redirectOutput,
            RedirectStandardError = redirectOutput,
        };
        info.ArgumentList.Add("/bin/bash");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Join);
        info.ArgumentList.Add("aurora-join");
        info.ArgumentList.Add(confinement.CgroupProcsFiles.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var procs in confinement.CgroupProcsFiles)
        {
            info.ArgumentList.Add(procs);
        }

        if (confinement.SwitchTo is { } user)
        {
            info.ArgumentList.Add(_setpriv ?? throw new InvalidOperationException("Tasks run as their role's user only when the launcher was made to switch users."));
            info.ArgumentList.Add("--reuid=" + user.Uid.ToString(CultureInfo.InvariantCulture));
            info.ArgumentList.Add("--regid=" + user.Gid.ToString(CultureInfo.InvariantCulture));
            info.ArgumentList.Add("--init-groups");
            info.ArgumentList.Add("--");
        }

        info.ArgumentList.Add("/bin/bash");
        foreach (var argument in bashArguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment.Clear();
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"{_setsid} did not start");
    }

    /// <summary>The exit status the wrapper recorded for the run, or null when it recorded none (still running, or killed before it could).</summary>
    /// <param name="sandbox">The task's sandbox: the file is read only if it is a regular file inside it (a task may plant a FIFO there).</param>
    public static int? ReadExitStatus(string runDir, string sandbox)
    {
        var text = UntrustedFiles.ReadText(Path.Combine(runDir, ExitFile), sandbox, SmallFileBytes)?.Trim();
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var status) ? status : null;
    }

    /// <summary>The pid the wrapper wrote for itself, for a run the agent started but could not checkpoint before it stopped.</summary>
    public static int? ReadPid(string runDir, string sandbox)
    {
        var text = UntrustedFiles.ReadText(Path.Combine(runDir, PidFile), sandbox, SmallFileBytes)?.Trim();
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 1 ? pid : null;
    }

    private static string FindTool(string name, params string[] candidates) =>
        candidates.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException($"The executor needs {name}, looked for it at {string.Join(", ", candidates)}; install util-linux/coreutils.");
}
