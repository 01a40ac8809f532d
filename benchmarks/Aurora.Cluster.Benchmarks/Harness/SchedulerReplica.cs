using System.Diagnostics;
using System.Globalization;

namespace Aurora.Cluster.Benchmarks.Harness;

/// <summary>
/// One <c>aurora-scheduler</c> process: started with its flags and waited on until it prints
/// <c>Storage is READY</c>, stopped with SIGTERM (SIGKILL after a timeout) or killed with SIGKILL,
/// and restarted with the same flags. Its output is read line by line (a pipe nobody reads would
/// block it): the last lines are kept for error messages, warnings and errors for the report, and
/// an exit nobody asked for is reported at once.
/// </summary>
internal sealed class SchedulerReplica : IAsyncDisposable
{
    public const string ReadyLine = "Storage is READY";

    private const int TailLines = 40;
    private const int NotableLinesKept = 100;
    private const int NotableLineLength = 400;
    private static readonly TimeSpan StopPatience = TimeSpan.FromSeconds(15);

    private readonly string _program;
    private readonly IReadOnlyList<string> _flags;
    private readonly Lock _lock = new();
    private readonly Queue<string> _tail = new();
    private readonly List<string> _notable = [];
    private readonly List<string> _exits = [];
    private Process? _process;
    private int _notableCount;
    private bool _exitExpected;

    public SchedulerReplica(string name, string program, int httpPort, int replicationPort, string directory, IReadOnlyList<string> flags)
    {
        Name = name;
        _program = program;
        HttpPort = httpPort;
        ReplicationPort = replicationPort;
        Directory = directory;
        _flags = flags;
        Url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{httpPort}/"));
    }

    public string Name { get; }

    public int HttpPort { get; }

    public int ReplicationPort { get; }

    public string Directory { get; }

    public Uri Url { get; }

    public int Starts { get; private set; }

    public bool Running => _process is { HasExited: false };

    public int? ProcessId => _process?.Id;

    /// <summary>The command line, for the report.</summary>
    public string CommandLine => $"{_program} {string.Join(' ', _flags)}";

    /// <summary>Lines with <c>warn:</c>, <c>fail:</c> or <c>crit:</c>, and anything on standard error, since the first start.</summary>
    public int NotableCount
    {
        get
        {
            lock (_lock)
            {
                return _notableCount;
            }
        }
    }

    /// <summary>The first <see cref="NotableLinesKept"/> of those lines.</summary>
    public IReadOnlyList<string> NotableLines
    {
        get
        {
            lock (_lock)
            {
                return [.. _notable];
            }
        }
    }

    /// <summary>Every exit, expected or not, with its exit code.</summary>
    public IReadOnlyList<string> Exits
    {
        get
        {
            lock (_lock)
            {
                return [.. _exits];
            }
        }
    }

    /// <summary>CPU time (user + system) of the running process so far; 0 when it is not running.</summary>
    public double CpuSeconds()
    {
        try
        {
            return _process is { } process ? process.TotalProcessorTime.TotalSeconds : 0;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return 0;
        }
    }

    /// <summary>Starts the process and waits until it prints <see cref="ReadyLine"/>.</summary>
    public async Task StartAsync(TimeSpan patience, CancellationToken cancellationToken)
    {
        if (Running)
        {
            throw new InvalidOperationException($"{Name} is already running");
        }

        _process?.Dispose();
        _process = null;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var start = new ProcessStartInfo(_program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var flag in _flags)
        {
            start.ArgumentList.Add(flag);
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine(e.Data, ready, standardError: false);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, ready, standardError: true);
        process.Exited += (_, _) => OnExited(process, ready);
        lock (_lock)
        {
            _exitExpected = false;
        }

        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {_program}");
        }

        _process = process;
        Starts++;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(patience, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name} did not print '{ReadyLine}' within {patience.TotalSeconds} s; its last lines:\n{Tail()}");
        }
    }

    /// <summary>SIGKILL, as a crash of the machine would stop it; returns at once (see <see cref="WaitForExitAsync"/>).</summary>
    public void Kill()
    {
        if (_process is { } process)
        {
            lock (_lock)
            {
                _exitExpected = true;
            }

            Posix.Signal(process.Id, Posix.SigKill);
        }
    }

    public async Task WaitForExitAsync(TimeSpan patience)
    {
        if (_process is { } process)
        {
            using var timeout = new CancellationTokenSource(patience);
            await process.WaitForExitAsync(timeout.Token);
        }
    }

    /// <summary>SIGTERM (a supervisor's stop: the scheduler finishes what is in flight and closes its log), SIGKILL after a timeout.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        lock (_lock)
        {
            _exitExpected = true;
        }

        Posix.Signal(process.Id, Posix.SigTerm);
        using var timeout = new CancellationTokenSource(StopPatience);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"warning: {Name} did not exit within {StopPatience.TotalSeconds} s of SIGTERM; SIGKILL");
            Posix.Signal(process.Id, Posix.SigKill);
            await process.WaitForExitAsync(CancellationToken.None);
        }
    }

    /// <summary>The last lines the process printed, for error messages.</summary>
    public string Tail()
    {
        lock (_lock)
        {
            return string.Join('\n', _tail.Select(l => $"    {Name}| {l}"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        _process = null;
    }

    private void OnLine(string? line, TaskCompletionSource ready, bool standardError)
    {
        if (line is null)
        {
            return;
        }

        lock (_lock)
        {
            _tail.Enqueue(line);
            if (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }

            if (standardError || line.Contains(" warn: ", StringComparison.Ordinal) || line.Contains(" fail: ", StringComparison.Ordinal) || line.Contains(" crit: ", StringComparison.Ordinal))
            {
                _notableCount++;
                if (_notable.Count < NotableLinesKept)
                {
                    // A stack trace is one long line in the scheduler's single-line format; its start says enough.
                    _notable.Add($"{Name}{(standardError ? " (stderr)" : string.Empty)}: {(line.Length > NotableLineLength ? line[..NotableLineLength] + " ..." : line)}");
                }
            }
        }

        if (line.Contains(ReadyLine, StringComparison.Ordinal))
        {
            ready.TrySetResult();
        }
    }

    private void OnExited(Process process, TaskCompletionSource ready)
    {
        int code;
        try
        {
            code = process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            code = -1;
        }

        bool expected;
        lock (_lock)
        {
            expected = _exitExpected;
            _exits.Add(string.Create(CultureInfo.InvariantCulture, $"{Name} pid {process.Id} exited with code {code}{(expected ? string.Empty : " UNEXPECTEDLY")}"));
        }

        if (!expected)
        {
            Console.Error.WriteLine($"warning: {Name} (pid {process.Id}) exited with code {code} while nobody stopped it; its last lines:\n{Tail()}");
        }

        ready.TrySetException(new InvalidOperationException($"{Name} exited with code {code} before it was READY; its last lines:\n{Tail()}"));
    }
}
