using System.Diagnostics;
using System.Globalization;

namespace Aurora.Agent.Executor;

/// <summary>A process group just started for one run.</summary>
/// <param name="StartTime">-1 when the wrapper was gone before its start time could be read; it is then judged by its exit file alone.</param>
internal sealed record StartedRun(Process Process, int Pid, long StartTime);

/// <summary>
/// Starts a process run as <c>setsid bash -c WRAPPER</c>: its own session and process group, output
/// appended to files in the run's log directory, exit status written next to them.
/// </summary>
/// <remarks>
/// Nothing flows through the agent: the wrapper opens stdout/stderr itself (O_APPEND), so the
/// processes outlive an agent crash, and it records the exit status in a file (temp + mv) because a
/// restarted agent cannot wait() for a process it did not start. setsid execs in place (the .NET
/// child is never a group leader), so the pid we get is the process group id.
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

    // $1 command line, $2 stdout, $3 stderr, $4 run dir, $5 mv.
    private const string Wrapper = """
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

    public ProcessLauncher()
    {
        _setsid = FindTool("setsid", "/usr/bin/setsid", "/bin/setsid");
        _mv = FindTool("mv", "/usr/bin/mv", "/bin/mv");
    }

    /// <summary>Starts <paramref name="cmdline"/> with bash in <paramref name="workingDirectory"/>, its logs and exit file in <paramref name="runDir"/>.</summary>
    public StartedRun Start(string workingDirectory, string runDir, string cmdline, IReadOnlyDictionary<string, string> environment)
    {
        Directory.CreateDirectory(runDir);
        var process = StartDetached(workingDirectory, environment, redirectOutput: false, "-c", Wrapper, "aurora-process", cmdline,
            Path.Combine(runDir, StdoutFile), Path.Combine(runDir, StderrFile), runDir, _mv);
        var startTime = ProcFs.ReadStat(process.Id)?.StartTime ?? -1;
        return new StartedRun(process, process.Id, startTime);
    }

    /// <summary>Starts <c>bash -c <paramref name="command"/></c> in a session of its own with stdout/stderr piped to the caller (health checks).</summary>
    public Process StartCaptured(string workingDirectory, IReadOnlyDictionary<string, string> environment, string command) =>
        StartDetached(workingDirectory, environment, redirectOutput: true, "-c", command, "bash");

    private Process StartDetached(string workingDirectory, IReadOnlyDictionary<string, string> environment, bool redirectOutput, params string[] bashArguments)
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
