using System.Runtime.InteropServices;

namespace Aurora.Benchmarks.Shared;

/// <summary>
/// A fresh directory for one harness run, deleted on dispose (kept when the environment sets
/// <c>AURORA_BENCH_KEEP=1</c>, to profile the tools on what the run wrote). SIGINT and SIGTERM cancel
/// <see cref="Interrupted"/> instead of ending the process at once, so the run stops at its next
/// check and unwinds through this dispose: gigabytes of segment files are not left behind in /tmp.
/// A second signal ends the process the usual way.
/// </summary>
internal sealed class ScratchDirectory : IDisposable
{
    private readonly PosixSignalRegistration[] _signals;
    private readonly CancellationTokenSource _interrupted = new();

    public ScratchDirectory(string? parent)
    {
        parent = System.IO.Path.GetFullPath(parent ?? System.IO.Path.GetTempPath());
        if (!Directory.Exists(parent))
        {
            throw new ArgumentException($"--dir {parent} does not exist");
        }

        Path = System.IO.Path.Combine(parent, $"aurora-bench-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);

        _signals =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
        ];
    }

    public string Path { get; }

    public CancellationToken Interrupted => _interrupted.Token;

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        foreach (var signal in _signals)
        {
            signal.Dispose();
        }

        // _interrupted is not disposed: a signal handler already running may still cancel it.
        Delete();
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (_interrupted.IsCancellationRequested)
        {
            return;
        }

        context.Cancel = true;
        Console.Error.WriteLine($"interrupted ({context.Signal}): stopping and deleting {Path}");
        _interrupted.Cancel();
    }

    private void Delete()
    {
        if (Environment.GetEnvironmentVariable("AURORA_BENCH_KEEP") == "1")
        {
            Console.Error.WriteLine($"AURORA_BENCH_KEEP=1: kept {Path}");
            return;
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"warning: could not delete {Path}: {e.Message}");
        }
    }
}
