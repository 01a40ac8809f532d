using Aurora.Posix;

namespace Aurora.Storage.IO;

/// <summary>One entry of a directory listing (<see cref="IFileSystem.ListEntries"/>).</summary>
/// <param name="Path">The entry's full path.</param>
/// <param name="Kind">What it is, symbolic links not followed.</param>
public readonly record struct DirectoryEntry(string Path, FileKind Kind);
