using System.Diagnostics;
using System.Net.Sockets;

namespace Aurora.Testing;

/// <summary>
/// Files that are not regular files, made for real on the test's own disk (mkfifo(1), a bound
/// Unix socket, a symbolic link), and a bound for code that used to hang on them.
/// </summary>
public static class SpecialFiles
{
    /// <summary>How long code that meets a FIFO may take before a test calls it hung; generous, as it is a hang detector, not a timing assertion.</summary>
    public static readonly TimeSpan HangBound = TimeSpan.FromSeconds(30);

    /// <summary>Creates a FIFO at <paramref name="path"/> with mkfifo(1).</summary>
    public static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false, RedirectStandardError = true })
            ?? throw new InvalidOperationException("could not start mkfifo");
        var error = mkfifo.StandardError.ReadToEnd();
        mkfifo.WaitForExit();
        if (mkfifo.ExitCode != 0)
        {
            throw new InvalidOperationException($"mkfifo {path} failed ({mkfifo.ExitCode}): {error}");
        }
    }

    /// <summary>
    /// Creates a Unix socket file at <paramref name="path"/>: a bound socket. Keep it until the test
    /// ends; disposing it removes the file (the BCL unlinks what it bound).
    /// </summary>
    public static IDisposable MakeSocket(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the thread pool and returns its result, or fails with
    /// <see cref="TimeoutException"/> when it has not finished within <see cref="HangBound"/>: a test
    /// of a former hang fails instead of hanging the run (the stuck thread is left behind).
    /// </summary>
    public static async Task<T> WithinBoundAsync<T>(string what, Func<T> action)
    {
        var run = Task.Run(action);
        try
        {
            return await run.WaitAsync(HangBound).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{what} did not finish within {HangBound}: it hangs");
        }
    }

    /// <summary>As <see cref="WithinBoundAsync{T}(string, Func{T})"/>, for an action expected to throw: returns what it threw.</summary>
    public static async Task<Exception> ThrowsWithinBoundAsync(string what, Action action) =>
        await WithinBoundAsync<Exception?>(what, () =>
        {
            try
            {
                action();
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        }).ConfigureAwait(false) ?? throw new InvalidOperationException($"{what} did not throw");
}
