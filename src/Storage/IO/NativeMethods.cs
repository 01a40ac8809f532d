using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Aurora.Storage.IO;

/// <summary>
/// The few POSIX calls the BCL does not expose: fdatasync, fsync on a directory, an open(2) that
/// cannot block on a FIFO, the kind of an open descriptor or of a path (statx), and flock.
/// </summary>
/// <remarks>
/// Linux only (x64 and arm64, whose open flags differ); callers check <see cref="OperatingSystem.IsLinux"/>.
/// statx(2) is used rather than fstat(2) because its buffer has one layout on every architecture.
/// </remarks>
internal static partial class NativeMethods
{
    private const int ReadOnly = 0x0;
    private const int ReadWrite = 0x2;
    private const int Create = 0x40;
    private const int Exclusive = 0x80;
    private const int Truncate = 0x200;
    private const int NonBlocking = 0x800;
    private const int NoControllingTerminal = 0x100;
    private const int CloseOnExec = 0x80000;
    private const int CreateMode = 0x1B6; // 0666, less the umask, as the BCL creates files

    private const int AtCurrentDirectory = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxType = 0x1;

    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;

    private const int Enoent = 2;
    private const int Eintr = 4;
    private const int Enxio = 6;
    private const int Eagain = 11;
    private const int Eacces = 13;
    private const int Eperm = 1;
    private const int Eexist = 17;
    private const int Enotdir = 20;
    private const int Eisdir = 21;
    private const int Eloop = 40;

    // arm and arm64 number these two differently from the generic (x86, x64) values.
    private static readonly bool ArmFlags = RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64;
    private static readonly int NoFollow = ArmFlags ? 0x8000 : 0x20000;
    private static readonly int DirectoryOnly = ArmFlags ? 0x4000 : 0x10000;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(nint fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(nint fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    // open(2) is variadic; the mode travels in the third integer register on x64 and arm64 Linux alike.
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, out StatxBuffer buffer);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int flock(nint fd, int operation);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(nint fd);

    public static void DataSync(SafeFileHandle handle, string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            // Portable fallback: full fsync through the BCL.
            RandomAccess.FlushToDisk(handle);
            return;
        }

        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (fdatasync(handle.DangerousGetHandle()) != 0)
            {
                throw ErrnoException("fdatasync", path);
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    public static void SyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(path, ReadOnly | DirectoryOnly | CloseOnExec);
        if (fd < 0)
        {
            throw ErrnoException("open directory", path);
        }

        try
        {
            if (fsync(fd) != 0)
            {
                throw ErrnoException("fsync directory", path);
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    /// <summary>
    /// Opens a regular file with O_NONBLOCK, O_CLOEXEC and O_NOCTTY (and O_NOFOLLOW unless links
    /// are followed), then checks the descriptor's kind; anything but a regular file is closed and
    /// refused. O_NONBLOCK is what keeps a FIFO from blocking the open; on a regular file it changes
    /// nothing, so it is left set.
    /// </summary>
    public static SafeFileHandle OpenRegularFile(string path, FileOpenMode mode, SymlinkPolicy symlinks)
    {
        var flags = mode switch
        {
            FileOpenMode.ReadExisting => ReadOnly,
            FileOpenMode.ReadWriteExisting => ReadWrite,
            FileOpenMode.CreateNew => ReadWrite | Create | Exclusive,
            FileOpenMode.CreateOrTruncate => ReadWrite | Create | Truncate,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown open mode"),
        };

        // A first look at the path spares opening what is plainly not a regular file (opening a
        // device can have effects of its own); the check on the opened descriptor is what counts.
        if (TryKindOf(path) is { } kind and not FileKind.Regular && (kind != FileKind.SymbolicLink || symlinks == SymlinkPolicy.Refuse))
        {
            throw new NotARegularFileException(path, kind);
        }

        return OpenRegularFile(path, flags | (symlinks == SymlinkPolicy.Refuse ? NoFollow : 0));
    }

    /// <summary>Opens (creating, never truncating) a lock file the same way, then takes flock(LOCK_EX | LOCK_NB) on it.</summary>
    public static SafeFileHandle LockFile(string path)
    {
        var handle = OpenRegularFile(path, ReadWrite | Create | NoFollow);
        try
        {
            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                if (flock(handle.DangerousGetHandle(), LockExclusive | LockNonBlocking) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    throw errno == Eagain
                        ? new IOException($"{path} is locked: another process has this log open", errno)
                        : ErrnoException("flock", path, errno);
                }
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }

            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The kind of what <paramref name="path"/> names, symbolic links not followed; null if nothing is there.</summary>
    public static FileKind? KindOf(string path)
    {
        if (Statx(AtCurrentDirectory, path, AtSymlinkNoFollow, StatxType, out var buffer) == 0)
        {
            return ToKind(buffer.Mode);
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno is Enoent or Enotdir ? null : throw ErrnoException("statx", path, errno);
    }

    private static SafeFileHandle OpenRegularFile(string path, int flags)
    {
        flags |= NonBlocking | CloseOnExec | NoControllingTerminal;
        int fd;
        do
        {
            fd = Open(path, flags, CreateMode);
        }
        while (fd < 0 && Marshal.GetLastPInvokeError() == Eintr);

        if (fd < 0)
        {
            throw OpenException(Marshal.GetLastPInvokeError(), path);
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var kind = KindOf(handle, path);
            if (kind != FileKind.Regular)
            {
                throw new NotARegularFileException(path, kind);
            }

            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>As <see cref="KindOf(string)"/>, but null on any failure: for looks that only sharpen a message or spare an open.</summary>
    private static FileKind? TryKindOf(string path) =>
        Statx(AtCurrentDirectory, path, AtSymlinkNoFollow, StatxType, out var buffer) == 0 ? ToKind(buffer.Mode) : null;

    private static FileKind KindOf(SafeFileHandle handle, string path)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (Statx((int)handle.DangerousGetHandle(), string.Empty, AtEmptyPath, StatxType, out var buffer) != 0)
            {
                throw ErrnoException("statx", path);
            }

            return ToKind(buffer.Mode);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static FileKind ToKind(ushort mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0xA000 => FileKind.SymbolicLink,
        0x1000 => FileKind.Fifo,
        0xC000 => FileKind.Socket,
        0x2000 => FileKind.CharacterDevice,
        0x6000 => FileKind.BlockDevice,
        _ => FileKind.Unknown,
    };

    /// <summary>The BCL's exception types for the usual open errors, and ours for a file of the wrong kind.</summary>
    private static Exception OpenException(int errno, string path)
    {
        switch (errno)
        {
            case Enoent:
                return Directory.Exists(Path.GetDirectoryName(path))
                    ? new FileNotFoundException($"{path} does not exist", path)
                    : new DirectoryNotFoundException($"{path}: a directory on its path does not exist");
            case Enotdir:
                return new DirectoryNotFoundException($"{path}: a component of its path is not a directory");
            case Eacces or Eperm:
                return new UnauthorizedAccessException($"Access to the path '{path}' is denied (errno {errno}).");
            case Eexist:
                return new IOException($"{path} already exists", errno);
            case Eisdir:
                return new NotARegularFileException(path, FileKind.Directory);
            case Eloop or Enxio:
                // O_NOFOLLOW met a link, or the path is a socket or a device without a driver.
                // The open failed anyway, so naming the kind from the path cannot race with anything.
                if (TryKindOf(path) is { } kind and not FileKind.Regular)
                {
                    return new NotARegularFileException(path, kind);
                }

                break;
        }

        return ErrnoException("open", path, errno);
    }

    private static IOException ErrnoException(string operation, string path) =>
        ErrnoException(operation, path, Marshal.GetLastPInvokeError());

    private static IOException ErrnoException(string operation, string path, int errno) =>
        new($"{operation} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);

    /// <summary>struct statx: 256 bytes, the same layout on every architecture; only the mode is read.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct StatxBuffer
    {
        [FieldOffset(28)]
        public ushort Mode;
    }
}
