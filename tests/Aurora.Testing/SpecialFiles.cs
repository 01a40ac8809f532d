using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Aurora.Testing;

/// <summary>
/// Files that are not regular files, made for real on the test's own disk (FIFOs, Unix sockets,
/// device nodes, hard links, atomically swapped names: what a hostile task or a careless operator
/// leaves behind), and a bound for code that used to hang on them.
/// </summary>
public static partial class SpecialFiles
{
    /// <summary>How long code that meets a FIFO may take before a test calls it hung; generous, as it is a hang detector, not a timing assertion.</summary>
    public static readonly TimeSpan HangBound = TimeSpan.FromSeconds(30);

    private const int NoReader = 6; // ENXIO: a FIFO opened for writing without blocking has no reader
    private const uint CharacterDevice = 0x2000; // S_IFCHR
    private const uint BlockDevice = 0x6000; // S_IFBLK
    private const int WriteOnly = 1;
    private const int NonBlocking = 0x800;
    private const int CloseOnExec = 0x80000;

    /// <summary>The longest path a Unix socket can be bound at (sun_path holds 108 bytes with its NUL).</summary>
    private const int MaxSocketPathBytes = 107;

    /// <summary>Creates a FIFO at <paramref name="path"/> (mkfifo(3)).</summary>
    public static void MakeFifo(string path)
    {
        if (MkFifo(path, 0x1A4) != 0)
        {
            throw new IOException($"mkfifo {path}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>
    /// Creates a Unix socket file at <paramref name="path"/>: a bound socket. Keep it until the test
    /// ends; disposing it removes the file (the BCL unlinks what it bound).
    /// </summary>
    public static Socket MakeSocket(string path) =>
        TryMakeSocket(path) ?? throw new InvalidOperationException($"{path} is too long for a Unix socket ({MaxSocketPathBytes} bytes at most)");

    /// <summary>As <see cref="MakeSocket"/>; null when the path is too long for sun_path.</summary>
    public static Socket? TryMakeSocket(string path)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(path) > MaxSocketPathBytes)
        {
            return null;
        }

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

    /// <summary>A character (or block) device node; false when this process may not make one (not root, or a user namespace).</summary>
    public static bool TryMakeDevice(string path, bool block, uint major, uint minor)
    {
        var device = ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);
        return MkNod(path, (block ? BlockDevice : CharacterDevice) | 0x1A4, device) == 0;
    }

    public static void HardLink(string existing, string newPath)
    {
        if (Link(existing, newPath) != 0)
        {
            throw new IOException($"link {existing} {newPath}: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>
    /// Whether some process holds the FIFO open for reading: a non-blocking open for writing fails
    /// with ENXIO when nobody does. Leaves nothing open either way.
    /// </summary>
    public static bool FifoHasReader(string path)
    {
        var fd = Open(path, WriteOnly | NonBlocking | CloseOnExec);
        if (fd >= 0)
        {
            _ = Close(fd);
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == NoReader ? false : throw new IOException($"open {path} for writing: errno {errno}");
    }

    /// <summary>Swaps what the two names name, atomically (renameat2 with RENAME_EXCHANGE): the fastest way a task can race a reader.</summary>
    public static void Exchange(string a, string b)
    {
        const int AtCurrentDirectory = -100;
        const uint RenameExchange = 2;
        if (RenameAt2(AtCurrentDirectory, a, AtCurrentDirectory, b, RenameExchange) != 0)
        {
            throw new IOException($"renameat2 {a} {b} RENAME_EXCHANGE: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirectory, string oldPath, int newDirectory, string newPath, uint flags);

    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkFifo(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkNod(string path, uint mode, ulong device);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string newPath);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
