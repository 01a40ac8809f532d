namespace Aurora.Storage.IO;

/// <summary>
/// The file-system seam of the storage engine. Everything the log, snapshots and backups do to a
/// disk goes through this interface so that tests can inject faults (ENOSPC, failed fsync, torn
/// writes, crashes that drop unsynced data) deterministically.
/// </summary>
/// <remarks>
/// <para>Implementations must be safe for concurrent calls on different paths. Errors are reported as
/// <see cref="IOException"/> (with the OS error in <see cref="Exception.HResult"/> where known).</para>
/// <para>Only regular files are ever opened: <see cref="OpenFile"/> opens without blocking and
/// refuses anything else (a FIFO, a socket, a device, a directory, and a symbolic link unless the
/// caller allows one) with <see cref="NotARegularFileException"/>. The check is made on the opened
/// descriptor, never on the path beforehand, so that it cannot race with a rename.</para>
/// </remarks>
public interface IFileSystem
{
    bool DirectoryExists(string path);

    bool FileExists(string path);

    /// <summary>Creates the directory and any missing parents.</summary>
    void CreateDirectory(string path);

    /// <summary>
    /// Every entry directly inside <paramref name="directory"/> (files of every kind and
    /// subdirectories), with its kind as lstat(2) sees it, ordered by path (ordinal). An entry
    /// removed while the directory is listed may be left out.
    /// </summary>
    IReadOnlyList<DirectoryEntry> ListEntries(string directory);

    /// <summary>
    /// Opens a regular file. Never blocks on the kind of file (it opens with O_NONBLOCK), and refuses
    /// anything that is not a regular file with <see cref="NotARegularFileException"/> naming the
    /// file and its kind. The opened file has no lock and does not leak into child processes.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="mode">Whether it must exist, and whether it is written.</param>
    /// <param name="symlinks">
    /// Whether a symbolic link as the last component of <paramref name="path"/> is followed
    /// (<see cref="SymlinkPolicy.Follow"/>: files an operator hands over, such as backups) or refused
    /// (the default: nothing the log keeps in its own directory is a link).
    /// </param>
    /// <exception cref="NotARegularFileException">The path names something other than a regular file.</exception>
    /// <exception cref="FileNotFoundException">A mode that needs the file, and it does not exist.</exception>
    IStorageFile OpenFile(string path, FileOpenMode mode, SymlinkPolicy symlinks = SymlinkPolicy.Refuse);

    void DeleteFile(string path);

    /// <summary>Atomically replaces <paramref name="destination"/> with <paramref name="source"/> (rename(2)).</summary>
    void Rename(string source, string destination);

    /// <summary>Makes directory entries (creates, renames, deletes) durable (fsync on the directory).</summary>
    void SyncDirectory(string path);

    /// <summary>Takes an exclusive advisory lock; the returned handle releases it on dispose.</summary>
    IDisposable LockDirectory(string lockFilePath);
}

public enum FileOpenMode
{
    /// <summary>Read-only, the file must exist.</summary>
    ReadExisting,

    /// <summary>Read-write, the file must exist.</summary>
    ReadWriteExisting,

    /// <summary>Read-write, the file must not exist yet.</summary>
    CreateNew,

    /// <summary>Read-write, truncating any existing file.</summary>
    CreateOrTruncate,
}

/// <summary>How <see cref="IFileSystem.OpenFile"/> treats a symbolic link at the end of the path.</summary>
public enum SymlinkPolicy
{
    /// <summary>Refuse it (O_NOFOLLOW) with <see cref="NotARegularFileException"/>.</summary>
    Refuse,

    /// <summary>Open the file it points to, which must itself be a regular file.</summary>
    Follow,
}

/// <summary>A file opened through <see cref="IFileSystem"/>, accessed by offset (pread/pwrite).</summary>
/// <remarks>
/// Reads may run concurrently with each other and with a single writer. Data written is durable
/// only after <see cref="DataSync"/> returns; a failing <see cref="DataSync"/> leaves the file in an
/// unknown state and the caller must not retry it on the same file (see docs/storage-format.md).
/// </remarks>
public interface IStorageFile : IDisposable
{
    string Path { get; }

    long Length { get; }

    /// <summary>Reads up to <c>buffer.Length</c> bytes at <paramref name="offset"/>; returns 0 at end of file.</summary>
    int Read(long offset, Span<byte> buffer);

    /// <summary>Writes all of <paramref name="data"/> at <paramref name="offset"/> or throws.</summary>
    void Write(long offset, ReadOnlySpan<byte> data);

    /// <summary>fdatasync(2): file data (and the size, when it changed) is on stable storage.</summary>
    void DataSync();

    void SetLength(long length);
}

/// <summary>Helpers shared by every user of <see cref="IStorageFile"/>.</summary>
public static class StorageFileExtensions
{
    private const int ZeroChunk = 1 << 20;

    /// <summary>
    /// Full paths of the entries directly inside <paramref name="directory"/> that are not
    /// directories: regular files, and anything else that <see cref="IFileSystem.OpenFile"/> refuses.
    /// </summary>
    public static IReadOnlyList<string> ListFiles(this IFileSystem fileSystem, string directory) =>
        [.. fileSystem.ListEntries(directory).Where(e => e.Kind != FileKind.Directory).Select(e => e.Path)];

    /// <summary>Reads exactly <c>buffer.Length</c> bytes unless the file ends first; returns the count read.</summary>
    public static int ReadFully(this IStorageFile file, long offset, Span<byte> buffer)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = file.Read(offset + total, buffer[total..]);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>
    /// Writes zeros over [<paramref name="from"/>, <paramref name="to"/>). Zero-filling a preallocated
    /// segment makes its blocks real (not unwritten extents), so later fdatasyncs carry no metadata.
    /// </summary>
    public static void WriteZeros(this IStorageFile file, long from, long to)
    {
        if (to <= from)
        {
            return;
        }

        var zeros = new byte[(int)Math.Min(ZeroChunk, to - from)];
        for (var offset = from; offset < to; offset += zeros.Length)
        {
            var count = (int)Math.Min(zeros.Length, to - offset);
            file.Write(offset, zeros.AsSpan(0, count));
        }
    }

    /// <summary>
    /// Creates <paramref name="path"/> and any missing parents, and fsyncs the parent of each one
    /// created, so that a crash cannot lose the directory holding data we then made durable.
    /// </summary>
    public static void CreateDirectoryDurably(this IFileSystem fileSystem, string path)
    {
        var missing = new Stack<string>();
        for (var directory = Path.GetFullPath(path); !fileSystem.DirectoryExists(directory);)
        {
            missing.Push(directory);
            var parent = Path.GetDirectoryName(directory);
            if (parent is null)
            {
                break;
            }

            directory = parent;
        }

        if (missing.Count == 0)
        {
            return;
        }

        fileSystem.CreateDirectory(path);
        foreach (var created in missing)
        {
            if (Path.GetDirectoryName(created) is { } parent)
            {
                fileSystem.SyncDirectory(parent);
            }
        }
    }

    /// <summary>Reads a whole (small) file into memory.</summary>
    public static byte[] ReadAllBytes(this IFileSystem fileSystem, string path)
    {
        using var file = fileSystem.OpenFile(path, FileOpenMode.ReadExisting);
        var length = file.Length;
        if (length > int.MaxValue)
        {
            throw new IOException($"{path}: file of {length} bytes is too large to read into memory");
        }

        var bytes = new byte[length];
        var read = file.ReadFully(0, bytes);
        return read == bytes.Length ? bytes : bytes[..read];
    }
}
