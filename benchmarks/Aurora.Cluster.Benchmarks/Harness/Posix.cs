using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Aurora.Cluster.Benchmarks.Harness;

/// <summary>
/// Signals by kill(2) itself (Process.Kill only sends SIGKILL, and going through the kill command
/// would put a fork between the timestamp of a failover trial and the signal), and free loopback ports.
/// </summary>
internal static partial class Posix
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    /// <summary>Sends <paramref name="signal"/> to the process <paramref name="pid"/>; false when it is already gone.</summary>
    public static bool Signal(int pid, int signal) => kill(pid, signal) == 0;

    /// <summary>
    /// <paramref name="count"/> distinct ports on 127.0.0.1 that were free a moment ago: each bound
    /// to port 0 (the kernel's choice), all held until every one is chosen, then released.
    /// </summary>
    public static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
                listener.Dispose();
            }
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
