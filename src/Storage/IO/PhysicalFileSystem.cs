using Microsoft.Win32.SafeHandles;

namespace Aurora.Storage.IO;

/// <summary>The real disk: pread/pwrite on file handles, fdatasync, fsync of directories.</summary>
public sealed class PhysicalFileSystem : IFileSystem
{
    public static PhysicalFileSystem Instance { get; } = new();

    public bool DirectoryExists(string path) => Directory.Exists(path);

    public bool FileExists(string path) => File.Exists(path);

    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    public IReadOnlyList<string> ListFiles(string directory) => Directory.GetFiles(directory);

    public IStorageFile OpenFile(string path, FileOpenMode mode)
    {
        var (fileMode, access) = mode switch
        {
            FileOpenMode.ReadExisting => (FileMode.Open, FileAccess.Read),
            FileOpenMode.ReadWriteExisting => (FileMode.Open, FileAccess.ReadWrite),
            FileOpenMode.CreateNew => (FileMode.CreateNew, FileAccess.ReadWrite),
            FileOpenMode.CreateOrTruncate => (FileMode.Create, FileAccess.ReadWrite),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown open mode"),
        };

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
        try
        {
            // FileShare.None is implemented with flock(LOCK_EX | LOCK_NB) on Unix.
            return new FileStream(lockFilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new IOException($"{lockFilePath} is locked: another process has this log open ({e.Message})", e);
        }
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
