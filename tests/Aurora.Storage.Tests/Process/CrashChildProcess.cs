using System.Diagnostics;
using System.Text;
using Aurora.Storage.CrashChild;
using OsProcess = System.Diagnostics.Process;

namespace Aurora.Storage.Tests.Process;

/// <summary>A running crash child (<c>dotnet Aurora.Storage.CrashChild.dll</c>): its stdout as parsed lines, its stderr, and SIGKILL.</summary>
/// <remarks>
/// Driven by one test at a time. <see cref="Dispose"/> kills the child if it still runs, and the
/// child exits by itself when its stdin (held open here) closes, so no child outlives its test,
/// not even one whose test process died. Timeouts here are safety nets, never synchronization.
/// </remarks>
internal sealed class CrashChildProcess : IDisposable
{
    /// <summary>What <see cref="OsProcess.ExitCode"/> reports on Linux for a child ended by SIGKILL (128 + 9).</summary>
    public const int KilledExitCode = 137;

    private static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(60);

    private readonly OsProcess _process;
    private readonly StringBuilder _stderr = new();

    private CrashChildProcess(OsProcess process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    /// <summary>Everything the child wrote to stderr so far (all of it once <see cref="WaitForExitAsync"/> returned).</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static CrashChildProcess Start(CrashChildArguments arguments, string workingDirectory)
    {
        // The test project references the child project, so its dll and runtimeconfig are copied here.
        var childDll = typeof(CrashWorkload).Assembly.Location;
        var runtimeConfig = Path.ChangeExtension(childDll, ".runtimeconfig.json");
        if (!File.Exists(runtimeConfig))
        {
            throw new InvalidOperationException($"{runtimeConfig} is missing: the crash child cannot be started with 'dotnet {childDll}'");
        }

        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,

            // A core file, if the system writes one for FailFast's SIGABRT, lands in the test's temp dir.
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(childDll);
        foreach (var argument in arguments.ToArgs())
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        var process = OsProcess.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName} {childDll}");
        return new CrashChildProcess(process);
    }

    /// <summary>
    /// The next line from the child's stdout, or null at its end. A line cut short by the kill is
    /// only accepted as the very last one (see <see cref="ChildLine"/>); it is dropped, which at worst
    /// forgets an acknowledgement and so weakens, never falsifies, the checks.
    /// </summary>
    public async Task<ChildLine?> ReadLineAsync()
    {
        var line = await ReadRawLineAsync();
        if (line is null)
        {
            return null;
        }

        if (ChildLine.TryParse(line, out var parsed))
        {
            return parsed;
        }

        var next = await ReadRawLineAsync();
        return next is null
            ? null
            : throw new InvalidDataException($"crash child {Id} wrote a malformed line '{line}' followed by '{next}'; stderr: {Stderr}");
    }

    /// <summary>SIGKILL (on Linux, <see cref="OsProcess.Kill(bool)"/> sends SIGKILL).</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited; the caller's exit code check tells whether that was expected.
        }
    }

    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"crash child {Id} did not exit within {SafetyTimeout}; stderr: {Stderr}");
        }

        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(SafetyTimeout);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }

        _process.Dispose();
    }

    private async Task<string?> ReadRawLineAsync()
    {
        try
        {
            return await _process.StandardOutput.ReadLineAsync().WaitAsync(SafetyTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"crash child {Id} wrote no line within {SafetyTimeout}; stderr: {Stderr}");
        }
    }

    /// <summary>The dotnet host running these tests, so the child runs on the same runtime.</summary>
    private static string DotnetHost()
    {
        var fromCli = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromCli) && File.Exists(fromCli))
        {
            return fromCli;
        }

        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
    }
}
