using Aurora.Storage.IO;

namespace Aurora.Storage.CrashChild;

/// <summary>Passes everything to another file system; subclasses intercept file writes and syncs.</summary>
/// <remarks>As thread-safe as the file system it wraps and the overrides are.</remarks>
public abstract class DelegatingFileSystem(IFileSystem inner) : IFileSystem
{
    public bool DirectoryExists(string path) => inner.DirectoryExists(path);

    public bool FileExists(string path) => inner.FileExists(path);

    public void CreateDirectory(string path) => inner.CreateDirectory(path);

    public IReadOnlyList<DirectoryEntry> ListEntries(string directory) => inner.ListEntries(directory);

    public IStorageFile OpenFile(string path, FileOpenMode mode, SymlinkPolicy symlinks = SymlinkPolicy.Refuse) =>
        new File(this, inner.OpenFile(path, mode, symlinks), mode);

    public void DeleteFile(string path) => inner.DeleteFile(path);

    public void Rename(string source, string destination) => inner.Rename(source, destination);

    public void SyncDirectory(string path) => inner.SyncDirectory(path);

    public IDisposable LockDirectory(string lockFilePath) => inner.LockDirectory(lockFilePath);

    /// <param name="file">The wrapped file.</param>
    /// <param name="mode">How it was opened: the log opens only its active segment <see cref="FileOpenMode.ReadWriteExisting"/>.</param>
    /// <param name="offset">Where to write.</param>
    /// <param name="data">What to write.</param>
    protected virtual void Write(IStorageFile file, FileOpenMode mode, long offset, ReadOnlySpan<byte> data) => file.Write(offset, data);

    /// <param name="file">The wrapped file.</param>
    /// <param name="mode">How it was opened.</param>
    protected virtual void DataSync(IStorageFile file, FileOpenMode mode) => file.DataSync();

    private sealed class File(DelegatingFileSystem owner, IStorageFile inner, FileOpenMode mode) : IStorageFile
    {
        public string Path => inner.Path;

        public long Length => inner.Length;

        public int Read(long offset, Span<byte> buffer) => inner.Read(offset, buffer);

        public void Write(long offset, ReadOnlySpan<byte> data) => owner.Write(inner, mode, offset, data);

        public void DataSync() => owner.DataSync(inner, mode);

        public void SetLength(long length) => inner.SetLength(length);

        public void Dispose() => inner.Dispose();
    }
}
