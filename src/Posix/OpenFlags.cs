using System.Runtime.InteropServices;

namespace Aurora.Posix;

/// <summary>open(2)'s flags on Linux, with the two that arm, arm64 and powerpc number differently.</summary>
public static class OpenFlags
{
    public const int ReadOnly = 0x0;
    public const int WriteOnly = 0x1;
    public const int ReadWrite = 0x2;
    public const int Create = 0x40;
    public const int Exclusive = 0x80;
    public const int NoControllingTerminal = 0x100;
    public const int Truncate = 0x200;
    public const int NonBlocking = 0x800;
    public const int CloseOnExec = 0x80000;

    /// <summary>O_PATH: names an object without opening it for I/O, so it never waits on a FIFO nor runs a device's open.</summary>
    public const int PathOnly = 0x200000;

    private static readonly bool ArmNumbering = RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64 or Architecture.Armv6 or Architecture.Ppc64le;

    /// <summary>O_DIRECTORY.</summary>
    public static int DirectoryOnly { get; } = ArmNumbering ? 0x4000 : 0x10000;

    /// <summary>O_NOFOLLOW.</summary>
    public static int NoFollow { get; } = ArmNumbering ? 0x8000 : 0x20000;
}

/// <summary>The errno values the callers tell apart.</summary>
public static class Errno
{
    public const int NotPermitted = 1; // EPERM
    public const int NoEntry = 2; // ENOENT
    public const int Interrupted = 4; // EINTR
    public const int NoDeviceOrAddress = 6; // ENXIO: a FIFO without a reader, a socket, a device without a driver
    public const int TryAgain = 11; // EAGAIN, EWOULDBLOCK
    public const int PermissionDenied = 13; // EACCES
    public const int Exists = 17; // EEXIST
    public const int NotADirectory = 20; // ENOTDIR
    public const int IsADirectory = 21; // EISDIR
    public const int NameTooLong = 36; // ENAMETOOLONG
    public const int TooManyLinks = 40; // ELOOP

    /// <summary>"No such file or directory (errno 2)".</summary>
    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
