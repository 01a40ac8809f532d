using System.Runtime.InteropServices;

namespace Aurora.Agent.Executor;

/// <summary>The Linux calls behind <see cref="UntrustedFiles"/>: open(2) with O_PATH, statx(2), realpath(3).</summary>
internal static partial class NativeMethods
{
    public const int OpenReadOnly = 0;
    public const int OpenReadWrite = 2;
    public const int OpenNoControllingTerminal = 0x100; // O_NOCTTY
    public const int OpenNonBlocking = 0x800; // O_NONBLOCK
    public const int OpenCloseOnExec = 0x80000; // O_CLOEXEC
    public const int OpenPathOnly = 0x200000; // O_PATH

    public const int NoEntry = 2; // ENOENT
    public const int PermissionDenied = 13; // EACCES
    public const int NotPermitted = 1; // EPERM
    public const int NotADirectory = 20; // ENOTDIR
    public const int NameTooLong = 36; // ENAMETOOLONG
    public const int TooManyLinks = 40; // ELOOP

    private const int AtEmptyPath = 0x1000;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;

    /// <summary>arm, arm64 and powerpc number O_DIRECTORY and O_NOFOLLOW differently from every other Linux port.</summary>
    private static readonly bool ArmNumbering = RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64 or Architecture.Armv6 or Architecture.Ppc64le;

    public static int OpenDirectoryOnly { get; } = ArmNumbering ? 0x4000 : 0x10000; // O_DIRECTORY

    public static int OpenNoFollow { get; } = ArmNumbering ? 0x8000 : 0x20000; // O_NOFOLLOW

    /// <summary>open(2); a file descriptor, or -1 with errno in <see cref="Marshal.GetLastPInvokeError"/>.</summary>
    public static int OpenRaw(string path, int flags) => Open(path, flags);

    public static int CloseRaw(int fd) => Close(fd);

    /// <summary>statx(2) of <paramref name="fd"/> itself (AT_EMPTY_PATH: works on O_PATH descriptors too); 0 or -1 with errno.</summary>
    public static int StatDescriptor(int fd, out StatxBuffer buffer) => Statx(fd, string.Empty, AtEmptyPath | AtSymlinkNoFollow, StatxBasicStats, out buffer);

    /// <summary>statx(2) of <paramref name="name"/> in the directory <paramref name="directoryFd"/>, not following a symbolic link; 0 or -1 with errno.</summary>
    public static int StatAt(int directoryFd, string name, out StatxBuffer buffer) => Statx(directoryFd, name, AtSymlinkNoFollow, StatxBasicStats, out buffer);

    /// <summary>realpath(3); null with errno set when it fails.</summary>
    public static string? RealPath(string path, out int errno)
    {
        var resolved = Realpath(path, 0);
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
            Free(resolved);
        }
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, out StatxBuffer buffer);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint Realpath(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);

    /// <summary>struct statx (linux/stat.h), the same on every architecture: 256 bytes, the fields we read.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct StatxBuffer
    {
        [FieldOffset(16)]
        public uint LinkCount;

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
