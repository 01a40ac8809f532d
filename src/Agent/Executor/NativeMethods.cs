using System.Runtime.InteropServices;

namespace Aurora.Agent.Executor;

/// <summary>The POSIX calls the BCL does not expose: kill(2) on a process group, fsync(2) on a directory (and, in NativeMethods.Files.cs, the calls behind <see cref="UntrustedFiles"/>).</summary>
internal static partial class NativeMethods
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    private const int NoSuchProcess = 3; // ESRCH

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

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

        throw new IOException($"kill(-{pgid}, {signal}): {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    public static void SyncDirectory(string path)
    {
        var fd = Open(path, OpenReadOnly | OpenDirectoryOnly | OpenCloseOnExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"open directory {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }

        try
        {
            if (FSync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fsync directory {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }
}
