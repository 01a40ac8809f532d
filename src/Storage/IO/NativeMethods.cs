using Aurora.Posix;
using Microsoft.Win32.SafeHandles;

namespace Aurora.Storage.IO;

/// <summary>
/// What the log needs of the operating system beyond the BCL, on top of <see cref="Syscalls"/>:
/// fdatasync, fsync of a directory, an open that cannot block on a FIFO and refuses anything but a
/// regular file, the kind of a path, and flock.
/// </summary>
/// <remarks>Linux only (callers check <see cref="OperatingSystem.IsLinux"/>), but for the fallbacks noted.</remarks>
internal static class NativeMethods
{
    public static void DataSync(SafeFileHandle handle, string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            // Portable fallback: full fsync through the BCL.
            RandomAccess.FlushToDisk(handle);
            return;
        }

        if (Syscalls.DataSync(handle) != 0)
        {
            throw ErrnoException("fdatasync", path, System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        }
    }

    public static void SyncDirectory(string path)
    {
        if (OperatingSystem.IsLinux())
        {
            Syscalls.SyncDirectory(path);
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
            FileOpenMode.ReadExisting => OpenFlags.ReadOnly,
            FileOpenMode.ReadWriteExisting => OpenFlags.ReadWrite,
            FileOpenMode.CreateNew => OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Exclusive,
            FileOpenMode.CreateOrTruncate => OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.Truncate,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown open mode"),
        };

        // A first look at the path spares opening what is plainly not a regular file (opening a
        // device can have effects of its own); the check on the opened descriptor is what counts.
        if (TryKindOf(path) is { } kind and not FileKind.Regular && (kind != FileKind.SymbolicLink || symlinks == SymlinkPolicy.Refuse))
        {
            throw new NotARegularFileException(path, kind);
        }

        return OpenRegularFile(path, flags | (symlinks == SymlinkPolicy.Refuse ? OpenFlags.NoFollow : 0));
    }

    /// <summary>
    /// Opens (creating, never truncating) a lock file the same way, then takes flock(LOCK_EX | LOCK_NB)
    /// on it, trying again for a quarter of a second before calling it held by someone else.
    /// </summary>
    /// <remarks>
    /// Why the retry: a child process this process is starting holds, between fork and exec, a copy
    /// of every descriptor (close-on-exec ones too, until the exec), and a flock belongs to the open
    /// file description, so a lock this process has just released can stay held by that copy for
    /// a moment. Reopening a log while another thread starts a process failed that way
    /// (intermittently, in the storage tests, which start crash children).
    /// </remarks>
    public static SafeFileHandle LockFile(string path)
    {
        var handle = OpenRegularFile(path, OpenFlags.ReadWrite | OpenFlags.Create | OpenFlags.NoFollow);
        try
        {
            var deadline = Environment.TickCount64 + 250;
            var pause = 1;
            while (Syscalls.LockExclusiveNonBlocking(handle) != 0)
            {
                var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
                if (errno != Errno.TryAgain)
                {
                    throw ErrnoException("flock", path, errno);
                }

                if (Environment.TickCount64 >= deadline)
                {
                    throw new IOException($"{path} is locked: another process has this log open", errno);
                }

                Thread.Sleep(pause);
                pause = Math.Min(pause * 2, 50);
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
    public static FileKind? KindOf(string path) =>
        Syscalls.TryStat(path, out var facts, out var errno) ? facts.Kind
        : errno is Errno.NoEntry or Errno.NotADirectory ? null
        : throw ErrnoException("statx", path, errno);

    private static SafeFileHandle OpenRegularFile(string path, int flags)
    {
        var fd = Syscalls.Open(path, flags | OpenFlags.NonBlocking | OpenFlags.CloseOnExec | OpenFlags.NoControllingTerminal, out var errno);
        if (fd < 0)
        {
            throw OpenException(errno, path);
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (!Syscalls.TryStat(fd, out var facts, out errno))
            {
                throw ErrnoException("statx", path, errno);
            }

            return facts.Kind == FileKind.Regular ? handle : throw new NotARegularFileException(path, facts.Kind);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>As <see cref="KindOf(string)"/>, but null on any failure: for looks that only sharpen a message or spare an open.</summary>
    private static FileKind? TryKindOf(string path) => Syscalls.TryStat(path, out var facts, out _) ? facts.Kind : null;

    /// <summary>The BCL's exception types for the usual open errors, and ours for a file of the wrong kind.</summary>
    private static Exception OpenException(int errno, string path)
    {
        switch (errno)
        {
            case Errno.NoEntry:
                return Directory.Exists(Path.GetDirectoryName(path))
                    ? new FileNotFoundException($"{path} does not exist", path)
                    : new DirectoryNotFoundException($"{path}: a directory on its path does not exist");
            case Errno.NotADirectory:
                return new DirectoryNotFoundException($"{path}: a component of its path is not a directory");
            case Errno.PermissionDenied or Errno.NotPermitted:
                return new UnauthorizedAccessException($"Access to the path '{path}' is denied (errno {errno}).");
            case Errno.Exists:
                return new IOException($"{path} already exists", errno);
            case Errno.IsADirectory:
                return new NotARegularFileException(path, FileKind.Directory);
            case Errno.TooManyLinks or Errno.NoDeviceOrAddress:
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

    private static IOException ErrnoException(string operation, string path, int errno) =>
        new($"{operation} {path}: {Errno.Describe(errno)}", errno);
}
