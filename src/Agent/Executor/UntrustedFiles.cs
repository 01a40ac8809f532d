using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Aurora.Agent.Executor;

/// <summary>What a file system object is, as lstat(2) tells: a symbolic link is a kind of its own, never followed.</summary>
public enum FileKind
{
    Regular,
    Directory,
    SymbolicLink,
    Fifo,
    Socket,
    CharacterDevice,
    BlockDevice,
    Unknown,
}

public static class FileKinds
{
    /// <summary>The kind as listings name it: file, directory, symlink, fifo, socket, char_device, block_device, unknown.</summary>
    public static string Name(FileKind kind) => kind switch
    {
        FileKind.Regular => "file",
        FileKind.Directory => "directory",
        FileKind.SymbolicLink => "symlink",
        FileKind.Fifo => "fifo",
        FileKind.Socket => "socket",
        FileKind.CharacterDevice => "char_device",
        FileKind.BlockDevice => "block_device",
        _ => "unknown",
    };

    /// <summary>The kind in a sentence: "a FIFO (named pipe)".</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.Socket => "a unix socket",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        _ => "a file of unknown kind",
    };

    internal static FileKind FromMode(ushort mode) => (mode & 0xF000) switch
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
}

/// <summary>What statx(2) says about one object (not following a symbolic link).</summary>
/// <param name="ModifiedSeconds">Seconds since the epoch.</param>
/// <param name="LinkCount">Hard links to it: its names, in this directory tree or any other of its file system.</param>
/// <param name="Device">The file system it lives on (major in the high 32 bits, minor in the low).</param>
public readonly record struct FileFacts(FileKind Kind, long Size, long ModifiedSeconds, long LinkCount, ulong Device, ulong Inode);

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

    protected override bool ReleaseHandle() => NativeMethods.CloseRaw((int)handle) == 0;
}

/// <summary>A file system call on an untrusted path failed; <see cref="Errno"/> says why.</summary>
public sealed class UntrustedFileException(string message, int errno) : IOException(message)
{
    public int Errno { get; } = errno;

    /// <summary>ENOENT, or ENOTDIR: a part of the path is not a directory.</summary>
    public bool IsMissing => Errno is NativeMethods.NoEntry or NativeMethods.NotADirectory;

    public bool IsNameTooLong => Errno == NativeMethods.NameTooLong;

    public bool IsLinkLoop => Errno == NativeMethods.TooManyLinks;

    public bool IsDenied => Errno is NativeMethods.PermissionDenied or NativeMethods.NotPermitted;
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
        RefuseNul(path);
        var flags = NativeMethods.OpenPathOnly | NativeMethods.OpenNoFollow | NativeMethods.OpenCloseOnExec | (directory ? NativeMethods.OpenDirectoryOnly : 0);
        var fd = NativeMethods.OpenRaw(path, flags);
        return fd >= 0 ? new PathHandle(fd) : throw Failure("open", path, Marshal.GetLastPInvokeError());
    }

    public static FileFacts Stat(PathHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        return NativeMethods.StatDescriptor(handle.Fd, out var buffer) == 0
            ? Facts(buffer)
            : throw Failure("statx", handle.ContentsPath, Marshal.GetLastPInvokeError());
    }

    /// <summary>The entry <paramref name="name"/> of the directory <paramref name="directory"/>, not followed; null when it is gone.</summary>
    public static FileFacts? StatAt(PathHandle directory, string name)
    {
        ArgumentNullException.ThrowIfNull(directory);
        RefuseNul(name);
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a directory entry's name.", nameof(name));
        }

        if (NativeMethods.StatAt(directory.Fd, name, out var buffer) == 0)
        {
            return Facts(buffer);
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno is NativeMethods.NoEntry ? null : throw Failure("statx", name, errno);
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

        var flags = (write ? NativeMethods.OpenReadWrite : NativeMethods.OpenReadOnly)
            | NativeMethods.OpenNonBlocking | NativeMethods.OpenCloseOnExec | NativeMethods.OpenNoControllingTerminal;
        var fd = NativeMethods.OpenRaw(handle.ContentsPath, flags);
        if (fd < 0)
        {
            throw Failure("open", handle.ContentsPath, Marshal.GetLastPInvokeError());
        }

        var file = new SafeFileHandle(fd, ownsHandle: true);
        if (NativeMethods.StatDescriptor(fd, out var opened) != 0 || opened.Inode != checkedFacts.Inode || Facts(opened).Device != checkedFacts.Device)
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
        RefuseNul(path);
        return NativeMethods.RealPath(path, out var errno) ?? throw Failure("realpath", path, errno);
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

    private static FileFacts Facts(NativeMethods.StatxBuffer buffer) => new(
        FileKinds.FromMode(buffer.Mode),
        (long)Math.Min(buffer.Size, long.MaxValue),
        buffer.ModifiedSeconds,
        buffer.LinkCount,
        ((ulong)buffer.DeviceMajor << 32) | buffer.DeviceMinor,
        buffer.Inode);

    private static void RefuseNul(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("A path holding NUL would be cut short by the kernel; it is refused.", nameof(path));
        }
    }

    private static UntrustedFileException Failure(string call, string path, int errno) =>
        new($"{call} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
}
