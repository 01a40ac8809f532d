using System.Runtime.InteropServices;

namespace Aurora.Posix;

/// <summary>
/// The Linux calls the BCL does not expose, as thin wrappers that report errno rather than throw:
/// each caller knows what a failure means for it (a missing segment, a task's sandbox gone, a FIFO
/// where a file should be) and words its own error.
/// </summary>
/// <remarks>
/// Stateless and thread-safe; Linux only (x64, arm64), which every caller checks or may assume.
/// statx(2) is used rather than fstat(2) because its buffer has one layout on every architecture,
/// and open(2) is retried on EINTR. Paths holding NUL are refused before they reach the kernel,
/// which would cut them short.
/// </remarks>
public static partial class Syscalls
{
    /// <summary>0666, less the umask: how the BCL creates files.</summary>
    public const int DefaultCreateMode = 0x1B6;

    private const int AtCurrentDirectory = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;

    /// <summary>open(2), retried on EINTR: a file descriptor, or -1 with <paramref name="errno"/>.</summary>
    public static int Open(string path, int flags, out int errno, int mode = DefaultCreateMode)
    {
        RefuseNul(path);
        int fd;
        do
        {
            fd = OpenCall(path, flags, mode);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        while (fd < 0 && errno == Errno.Interrupted);

        return fd;
    }

    public static int Close(int fd) => CloseCall(fd);

    /// <summary>geteuid(2): the user this process acts as on files.</summary>
    public static uint EffectiveUserId() => GeteuidCall();

    /// <summary>openat(2), retried on EINTR: <paramref name="name"/> relative to the directory open as <paramref name="directoryFd"/>; a file descriptor, or -1 with <paramref name="errno"/>.</summary>
    public static int OpenAt(int directoryFd, string name, int flags, out int errno)
    {
        RefuseNul(name);
        int fd;
        do
        {
            fd = OpenatCall(directoryFd, name, flags, 0);
            errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        }
        while (fd < 0 && errno == Errno.Interrupted);

        return fd;
    }

    /// <summary>
    /// The target of the symbolic link open as <paramref name="linkFd"/> (O_PATH|O_NOFOLLOW): readlinkat(2)
    /// with an empty path, so the very link that was opened is read; null with <paramref name="errno"/>.
    /// </summary>
    public static string? ReadLink(int linkFd, out int errno)
    {
        var buffer = new byte[4097];
        var length = ReadlinkatCall(linkFd, string.Empty, buffer, buffer.Length);
        if (length < 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }

        if (length >= buffer.Length)
        {
            errno = Errno.NameTooLong;
            return null;
        }

        errno = 0;
        return System.Text.Encoding.UTF8.GetString(buffer, 0, (int)length);
    }

    /// <summary>What <paramref name="fd"/> itself is (AT_EMPTY_PATH: works on O_PATH descriptors too).</summary>
    public static bool TryStat(int fd, out FileFacts facts, out int errno) =>
        Stat(StatxCall(fd, string.Empty, AtEmptyPath | AtSymlinkNoFollow, StatxBasicStats, out var buffer), buffer, out facts, out errno);

    /// <summary>What <paramref name="path"/> names, a final symbolic link not followed.</summary>
    public static bool TryStat(string path, out FileFacts facts, out int errno)
    {
        RefuseNul(path);
        return Stat(StatxCall(AtCurrentDirectory, path, AtSymlinkNoFollow, StatxBasicStats, out var buffer), buffer, out facts, out errno);
    }

    /// <summary>What the entry <paramref name="name"/> of the directory open as <paramref name="directoryFd"/> is, not followed.</summary>
    public static bool TryStatAt(int directoryFd, string name, out FileFacts facts, out int errno)
    {
        RefuseNul(name);
        return Stat(StatxCall(directoryFd, name, AtSymlinkNoFollow, StatxBasicStats, out var buffer), buffer, out facts, out errno);
    }

    /// <summary>realpath(3): every symbolic link, '.' and '..' resolved; null with <paramref name="errno"/> when it fails.</summary>
    public static string? RealPath(string path, out int errno)
    {
        RefuseNul(path);
        var resolved = RealpathCall(path, 0);
        if (resolved == 0)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }

        errno = 0;
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            FreeCall(resolved);
        }
    }

    /// <summary>fdatasync(2); 0, or -1 with errno in <see cref="Marshal.GetLastPInvokeError"/>.</summary>
    public static int DataSync(SafeHandle handle) => WithDescriptor(handle, fd => FdatasyncCall(fd));

    /// <summary>flock(2) with LOCK_EX | LOCK_NB; 0, or -1 with errno (EAGAIN when another holds it).</summary>
    public static int LockExclusiveNonBlocking(SafeHandle handle) => WithDescriptor(handle, fd => FlockCall(fd, 2 | 4));

    /// <summary>fsync(2) of a directory, which makes the names created, renamed or removed in it durable.</summary>
    /// <exception cref="IOException">The directory cannot be opened or synced.</exception>
    public static void SyncDirectory(string path)
    {
        var fd = Open(path, OpenFlags.ReadOnly | OpenFlags.DirectoryOnly | OpenFlags.CloseOnExec, out var errno);
        if (fd < 0)
        {
            throw new IOException($"open directory {path}: {Errno.Describe(errno)}", errno);
        }

        try
        {
            if (FsyncCall(fd) != 0)
            {
                errno = Marshal.GetLastPInvokeError();
                throw new IOException($"fsync directory {path}: {Errno.Describe(errno)}", errno);
            }
        }
        finally
        {
            _ = CloseCall(fd);
        }
    }

    private static int WithDescriptor(SafeHandle handle, Func<int, int> call)
    {
        ArgumentNullException.ThrowIfNull(handle);
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return call((int)handle.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static bool Stat(int result, in StatxBuffer buffer, out FileFacts facts, out int errno)
    {
        if (result != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            facts = default;
            return false;
        }

        errno = 0;
        facts = new FileFacts(
            FileKinds.FromMode(buffer.Mode),
            (long)Math.Min(buffer.Size, long.MaxValue),
            buffer.ModifiedSeconds,
            buffer.LinkCount,
            ((ulong)buffer.DeviceMajor << 32) | buffer.DeviceMinor,
            buffer.Inode,
            buffer.OwnerId,
            buffer.GroupId,
            (uint)buffer.Mode & 0xFFF);
        return true;
    }

    private static void RefuseNul(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("A path holding NUL would be cut short by the kernel; it is refused.", nameof(path));
        }
    }

    // open(2) is variadic; the mode travels in the third integer register on x64 and arm64 Linux alike.
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenCall(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenatCall(int directoryFd, string name, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint ReadlinkatCall(int directoryFd, string path, [Out] byte[] buffer, nint size);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GeteuidCall();

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int CloseCall(int fd);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxCall(int directoryFd, string path, int flags, uint mask, out StatxBuffer buffer);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealpathCall(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void FreeCall(nint pointer);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FdatasyncCall(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FsyncCall(int fd);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int FlockCall(int fd, int operation);

    /// <summary>struct statx (linux/stat.h), the same on every architecture: 256 bytes, the fields read here.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(16)]
        public uint LinkCount;

        [FieldOffset(20)]
        public uint OwnerId;

        [FieldOffset(24)]
        public uint GroupId;

        [FieldOffset(28)]
        public ushort Mode;

        [FieldOffset(32)]
        public ulong Inode;

        [FieldOffset(40)]
        public ulong Size;

        [FieldOffset(112)]
        public long ModifiedSeconds;

        [FieldOffset(136)]
        public uint DeviceMajor;

        [FieldOffset(140)]
        public uint DeviceMinor;
    }
}
