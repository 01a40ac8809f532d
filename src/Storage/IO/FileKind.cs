namespace Aurora.Storage.IO;

/// <summary>What a directory entry is, as lstat(2) sees it: a symbolic link is not followed.</summary>
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

/// <summary>One entry of a directory listing (<see cref="IFileSystem.ListEntries"/>).</summary>
/// <param name="Path">The entry's full path.</param>
/// <param name="Kind">What it is, symbolic links not followed.</param>
public readonly record struct DirectoryEntry(string Path, FileKind Kind);

/// <summary>How the kinds are named in messages for operators.</summary>
public static class FileKinds
{
    /// <summary>"a FIFO", "a directory", "a regular file": what goes after "is".</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Fifo => "a FIFO",
        FileKind.Socket => "a socket",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        _ => "a file of an unknown type",
    };

    /// <summary>A stable lower-case name for JSON: "regular", "fifo", "symlink".</summary>
    public static string Name(FileKind kind) => kind switch
    {
        FileKind.Regular => "regular",
        FileKind.Directory => "directory",
        FileKind.SymbolicLink => "symlink",
        FileKind.Fifo => "fifo",
        FileKind.Socket => "socket",
        FileKind.CharacterDevice => "char-device",
        FileKind.BlockDevice => "block-device",
        _ => "unknown",
    };
}
