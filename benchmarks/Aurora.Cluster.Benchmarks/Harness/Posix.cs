using System.Runtime.InteropServices;

namespace Aurora.Cluster.Benchmarks.Harness;

/// <summary>
/// Signals by kill(2) itself (Process.Kill only sends SIGKILL, and going through the kill command
/// would put a fork between the timestamp of a failover trial and the signal).
/// </summary>
internal static partial class Posix
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    /// <summary>Sends <paramref name="signal"/> to the process <paramref name="pid"/>; false when it is already gone.</summary>
    public static bool Signal(int pid, int signal) => kill(pid, signal) == 0;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);
}
