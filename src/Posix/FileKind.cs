namespace Aurora.Posix;

/// <summary>What a file system object is, as statx(2) tells without following a symbolic link.</summary>
public enum FileKind
{
    Regular,
    Directory,
    SymbolicLink,
    Fifo,
    Socket,
    CharacterDevice,
    BlockDevice,

    /// <summary>A type the platform reports that none of the others covers.</summary>
    Unknown,
}

/// <summary>The kinds as people and JSON see them.</summary>
public static class FileKinds
{
    /// <summary>A stable lower-case name for listings and JSON: file, directory, symlink, fifo, socket, char_device, block_device, unknown.</summary>
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

    /// <summary>The kind in a sentence, what goes after "is": "a FIFO (named pipe)", "a directory".</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.Socket => "a Unix socket",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        _ => "a file of unknown kind",
    };

    /// <summary>The kind encoded in a mode's S_IFMT bits.</summary>
    public static FileKind FromMode(uint mode) => (mode & 0xF000) switch
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

/// <summary>What statx(2) says about one object.</summary>
/// <param name="ModifiedSeconds">Seconds since the epoch.</param>
/// <param name="LinkCount">Hard links to it: its names, in this directory tree or anywhere else on its file system.</param>
/// <param name="Device">The file system it lives on (major in the high 32 bits, minor in the low).</param>
/// <param name="OwnerId">The owning user's uid.</param>
/// <param name="GroupId">The owning group's gid.</param>
/// <param name="PermissionBits">The mode's permission bits (07777), without the kind.</param>
public readonly record struct FileFacts(FileKind Kind, long Size, long ModifiedSeconds, long LinkCount, ulong Device, ulong Inode, uint OwnerId = 0, uint GroupId = 0, uint PermissionBits = 0);
