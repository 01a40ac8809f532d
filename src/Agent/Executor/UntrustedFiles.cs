using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Aurora.Agent.Executor;

/// <summary>
/// An O_PATH descriptor: it names one file system object for good, whatever happens to its path
/// afterwards, and allows neither reading nor writing, so opening it never runs a device driver's
/// open nor waits for a FIFO's other end.
/// </summary>
public sealed class PathHandle : SafeHandleMinusOneIsInvalid
{
    internal PathHandle(int fd)
        : base(ownsHandle: true) => SetHandle(fd);

    /// <summary>The object behind the descriptor as a path, /proc/self/fd/N: a directory opened this way is enumerated through it.</summary>
    public string ContentsPath => "/proc/self/fd/" + Fd.ToString(CultureInfo.InvariantCulture);

    internal int Fd => (int)handle;

    protected override bool ReleaseHandle() => Syscalls.Close((int)handle) == 0;
}

/// <summary>A file system call on an untrusted path failed; <see cref="Errno"/> says why.</summary>
public sealed class UntrustedFileException(string message, int errno) : IOException(message)
{
    public int Errno { get; } = errno;

    /// <summary>ENOENT, or ENOTDIR: a part of the path is not a directory.</summary>
    public bool IsMissing => Errno is Aurora.Posix.Errno.NoEntry or Aurora.Posix.Errno.NotADirectory;

    public bool IsNameTooLong => Errno == Aurora.Posix.Errno.NameTooLong;

    public bool IsLinkLoop => Errno == Aurora.Posix.Errno.TooManyLinks;

    public bool IsDenied => Errno is Aurora.Posix.Errno.PermissionDenied or Aurora.Posix.Errno.NotPermitted;
}

/// <summary>
/// Looking at files somebody else controls (a task's sandbox: the task may put a FIFO, a device
/// node, a socket or a symbolic link under any name, and swap them at any moment) without ever
/// blocking on them, following a link out, or opening a device. Every object is first opened with
/// O_PATH|O_NOFOLLOW, which opens nothing for I/O; its kind is read with statx on that descriptor,
/// where it lies is read back from /proc/self/fd, and only a regular file is then reopened for I/O,
/// through /proc/self/fd, so what is read is the very inode that was checked.
/// </summary>
/// <remarks>
/// Stateless and thread-safe; Linux only (the agent is). No call here can block on a FIFO or a
/// device: O_PATH opens nothing, and the reopen is only ever of a regular file, with O_NONBLOCK
/// and O_NOCTTY besides. Paths holding NUL are refused before they reach the kernel, which would
/// cut them short.
/// </remarks>
public static class UntrustedFiles
{
    /// <summary>Opens the object at <paramref name="path"/> itself (a final symbolic link is not followed).</summary>
    /// <param name="directory">Refuse anything but a directory (ENOTDIR; a symbolic link gives ELOOP).</param>
    /// <exception cref="UntrustedFileException">It cannot be opened.</exception>
    public static PathHandle OpenPath(string path, bool directory = false)
    {
        var flags = OpenFlags.PathOnly | OpenFlags.NoFollow | OpenFlags.CloseOnExec | (directory ? OpenFlags.DirectoryOnly : 0);
        var fd = Syscalls.Open(path, flags, out var errno);
        return fd >= 0 ? new PathHandle(fd) : throw Failure("open", path, errno);
    }

    /// <summary>Opens the entry <paramref name="name"/> of the directory <paramref name="directory"/> itself, with O_PATH|O_NOFOLLOW: a symbolic link is opened, not followed.</summary>
    /// <exception cref="UntrustedFileException">It cannot be opened (ENOENT, ENOTDIR, EACCES...).</exception>
    public static PathHandle OpenPathAt(PathHandle directory, string name)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a directory entry's name.", nameof(name));
        }

        var fd = Syscalls.OpenAt(directory.Fd, name, OpenFlags.PathOnly | OpenFlags.NoFollow | OpenFlags.CloseOnExec, out var errno);
        return fd >= 0 ? new PathHandle(fd) : throw Failure("openat", name, errno);
    }

    /// <summary>The target of the symbolic link behind <paramref name="link"/> (opened by <see cref="OpenPathAt"/>), as written: never resolved.</summary>
    /// <exception cref="UntrustedFileException">It is not a symbolic link, or cannot be read.</exception>
    public static string ReadLink(PathHandle link)
    {
        ArgumentNullException.ThrowIfNull(link);
        return Syscalls.ReadLink(link.Fd, out var errno) ?? throw Failure("readlinkat", link.ContentsPath, errno);
    }

    public static FileFacts Stat(PathHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        return Syscalls.TryStat(handle.Fd, out var facts, out var errno) ? facts : throw Failure("statx", handle.ContentsPath, errno);
    }

    /// <summary>The entry <paramref name="name"/> of the directory <paramref name="directory"/>, not followed; null when it is gone.</summary>
    public static FileFacts? StatAt(PathHandle directory, string name)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a directory entry's name.", nameof(name));
        }

        if (Syscalls.TryStatAt(directory.Fd, name, out var facts, out var errno))
        {
            return facts;
        }

        return errno is Errno.NoEntry ? null : throw Failure("statx", name, errno);
    }

    /// <summary>Where the object behind <paramref name="handle"/> is now, as the kernel tells (readlink of /proc/self/fd/N).</summary>
    /// <remarks>A deleted object's path ends in " (deleted)"; one that was moved shows its new path.</remarks>
    public static string Location(PathHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        return new FileInfo(handle.ContentsPath).LinkTarget
            ?? throw new UntrustedFileException($"cannot tell where descriptor {handle.ContentsPath} points", 0);
    }

    /// <summary>
    /// Opens the regular file behind <paramref name="handle"/> for reading (or reading and writing):
    /// the very inode that was checked, never blocking (O_NONBLOCK), never a controlling terminal.
    /// </summary>
    /// <exception cref="InvalidOperationException">The handle names something other than a regular file.</exception>
    /// <exception cref="UntrustedFileException">The reopen failed.</exception>
    public static SafeFileHandle Reopen(PathHandle handle, bool write = false)
    {
        var checkedFacts = Stat(handle);
        if (checkedFacts.Kind != FileKind.Regular)
        {
            throw new InvalidOperationException($"Only a regular file is opened for I/O, not {FileKinds.Describe(checkedFacts.Kind)}.");
        }

        var flags = (write ? OpenFlags.ReadWrite : OpenFlags.ReadOnly) | OpenFlags.NonBlocking | OpenFlags.CloseOnExec | OpenFlags.NoControllingTerminal;
        var fd = Syscalls.Open(handle.ContentsPath, flags, out var errno);
        if (fd < 0)
        {
            throw Failure("open", handle.ContentsPath, errno);
        }

        var file = new SafeFileHandle(fd, ownsHandle: true);
        if (!Syscalls.TryStat(fd, out var opened, out _) || opened.Inode != checkedFacts.Inode || opened.Device != checkedFacts.Device)
        {
            // /proc/self/fd/N names the descriptor's own inode; anything else would be a kernel surprise.
            file.Dispose();
            throw new UntrustedFileException($"reopening {handle.ContentsPath} gave another file", 0);
        }

        return file;
    }

    /// <summary>realpath(3): every symbolic link, '.' and '..' resolved.</summary>
    /// <exception cref="UntrustedFileException">A part of the path is missing, not a directory, too long, or a link loop.</exception>
    public static string RealPath(string path)
    {
        return Syscalls.RealPath(path, out var errno) ?? throw Failure("realpath", path, errno);
    }

    /// <summary>Whether the real path <paramref name="path"/> is <paramref name="directory"/> or lies under it.</summary>
    public static bool IsWithin(string path, string directory)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(directory);
        return string.Equals(path, directory, StringComparison.Ordinal)
            || path.StartsWith(directory.EndsWith('/') ? directory : directory + "/", StringComparison.Ordinal);
    }

    /// <summary>
    /// The file at <paramref name="path"/> opened for reading (or writing) when it is a regular file
    /// with a single link lying under the directory <paramref name="within"/>; null for anything else:
    /// missing, a FIFO, a socket, a device, a directory, a symbolic link (in the last part of the path
    /// or, leading outside, in any other), or a file with other names, which may lie anywhere.
    /// </summary>
    /// <remarks>How the executor reads and rotates what a task's processes leave in its sandbox.</remarks>
    public static SafeFileHandle? OpenRegular(string path, string within, bool write = false)
    {
        try
        {
            using var handle = OpenPath(path);
            var facts = Stat(handle);
            if (facts.Kind != FileKind.Regular || facts.LinkCount != 1 || !IsWithin(Location(handle), RealPath(within)))
            {
                return null;
            }

            return Reopen(handle, write);
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Up to <paramref name="maxBytes"/> from the start of the file <see cref="OpenRegular"/> accepts, as UTF-8; null when it does not.</summary>
    public static string? ReadText(string path, string within, int maxBytes)
    {
        using var file = OpenRegular(path, within);
        if (file is null)
        {
            return null;
        }

        var buffer = new byte[maxBytes];
        try
        {
            return Encoding.UTF8.GetString(buffer, 0, ReadAt(file, buffer, 0));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Reads at <paramref name="offset"/> until <paramref name="buffer"/> is full or the file ends (it may shrink meanwhile); returns the bytes read.</summary>
    public static int ReadAt(SafeFileHandle file, Span<byte> buffer, long offset)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = RandomAccess.Read(file, buffer[total..], offset + total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    private static UntrustedFileException Failure(string call, string path, int errno) =>
        new($"{call} {path}: {Errno.Describe(errno)}", errno);
}
