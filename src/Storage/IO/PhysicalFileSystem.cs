using Microsoft.Win32.SafeHandles;

namespace Aurora.Storage.IO;

/// <summary>The real disk: pread/pwrite on file handles, fdatasync, fsync of directories.</summary>
/// <remarks>
/// On Linux, files are opened with open(2) directly (O_NONBLOCK, O_CLOEXEC, O_NOCTTY, and
/// O_NOFOLLOW unless links are followed) and the descriptor's kind is checked with statx(2), so a
/// FIFO, a socket, a device or a directory under a log file's name is refused at once (see
/// <see cref="NotARegularFileException"/>) instead of blocking the open or being read. Elsewhere the
/// BCL opens files and only directories and links are recognized.
/// </remarks>
public sealed class PhysicalFileSystem : IFileSystem
{
    public static PhysicalFileSystem Instance { get; } = new();

    public bool DirectoryExists(string path) => Directory.Exists(path);

    public bool FileExists(string path) => File.Exists(path);

    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    public IReadOnlyList<DirectoryEntry> ListEntries(string directory)
    {
        var entries = new List<DirectoryEntry>();
        foreach (var path in Directory.EnumerateFileSystemEntries(directory))
        {
            if (KindOf(path) is { } kind)
            {
                entries.Add(new DirectoryEntry(path, kind));
            }
        }

        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return entries;
    }

    public IStorageFile OpenFile(string path, FileOpenMode mode, SymlinkPolicy symlinks = SymlinkPolicy.Refuse)
    {
        if (OperatingSystem.IsLinux())
        {
            return new PhysicalFile(path, NativeMethods.OpenRegularFile(path, mode, symlinks));
        }

        var (fileMode, access) = mode switch
        {
            FileOpenMode.ReadExisting => (FileMode.Open, FileAccess.Read),
            FileOpenMode.ReadWriteExisting => (FileMode.Open, FileAccess.ReadWrite),
            FileOpenMode.CreateNew => (FileMode.CreateNew, FileAccess.ReadWrite),
            FileOpenMode.CreateOrTruncate => (FileMode.Create, FileAccess.ReadWrite),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown open mode"),
        };

        if (KindOf(path) is { } kind and (FileKind.Directory or FileKind.SymbolicLink) && (kind == FileKind.Directory || symlinks == SymlinkPolicy.Refuse))
        {
            throw new NotARegularFileException(path, kind);
        }

        // FileShare.ReadWrite: the BCL otherwise takes an advisory lock per handle, and readers
        // (aurora-log dump on a live log) must be able to open segments the writer holds.
        var handle = File.OpenHandle(path, fileMode, access, FileShare.ReadWrite | FileShare.Delete);
        return new PhysicalFile(path, handle);
    }

    public void DeleteFile(string path) => File.Delete(path);

    public void Rename(string source, string destination) => File.Move(source, destination, overwrite: true);

    public void SyncDirectory(string path) => NativeMethods.SyncDirectory(path);

    public IDisposable LockDirectory(string lockFilePath)
    {
        if (OperatingSystem.IsLinux())
        {
            // The same flock(LOCK_EX | LOCK_NB) the BCL takes for FileShare.None, on a file opened
            // like every other: a FIFO or a link under the name is refused, never waited on.
            return NativeMethods.LockFile(lockFilePath);
        }

        try
        {
            return new FileStream(lockFilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new IOException($"{lockFilePath} is locked: another process has this log open ({e.Message})", e);
        }
    }

    /// <summary>What <paramref name="path"/> is, links not followed; null when nothing is there (any more).</summary>
    private static FileKind? KindOf(string path)
    {
        if (OperatingSystem.IsLinux())
        {
            return NativeMethods.KindOf(path);
        }

        FileSystemInfo info = new FileInfo(path);
        if (!info.Exists)
        {
            info = new DirectoryInfo(path);
        }

        return !info.Exists && info.LinkTarget is null ? null
            : info.LinkTarget is not null ? FileKind.SymbolicLink
            : info is DirectoryInfo ? FileKind.Directory
            : FileKind.Regular;
    }

    private sealed class PhysicalFile(string path, SafeFileHandle handle) : IStorageFile
    {
        public string Path { get; } = path;

        public long Length => RandomAccess.GetLength(handle);

        public int Read(long offset, Span<byte> buffer) => RandomAccess.Read(handle, buffer, offset);

        public void Write(long offset, ReadOnlySpan<byte> data) => RandomAccess.Write(handle, data, offset);

        public void DataSync() => NativeMethods.DataSync(handle, Path);

        public void SetLength(long length) => RandomAccess.SetLength(handle, length);

        public void Dispose() => handle.Dispose();
    }
}
