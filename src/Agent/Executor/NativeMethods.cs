using System.Runtime.InteropServices;

namespace Aurora.Agent.Executor;

/// <summary>kill(2) on a process group, which the BCL does not expose; the file calls are <see cref="Syscalls"/>'s.</summary>
internal static partial class NativeMethods
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    private const int NoSuchProcess = 3; // ESRCH

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>Sends <paramref name="signal"/> to one process (a cgroup member that may have left its group); false when it is gone or not ours to signal.</summary>
    public static bool KillProcess(int pid, int signal) => pid > 1 && Kill(pid, signal) == 0;

    /// <summary>Sends <paramref name="signal"/> to every process of the group; false when the group has no process left.</summary>
    public static bool SignalGroup(int pgid, int signal)
    {
        // kill(0) and kill(-1) would hit the agent's own group or every process we may signal: never.
        if (pgid <= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(pgid), pgid, "A process group id must be greater than 1.");
        }

        if (Kill(-pgid, signal) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == NoSuchProcess)
        {
            return false;
        }

        throw new IOException($"kill(-{pgid}, {signal}): {Errno.Describe(errno)}");
    }
}
