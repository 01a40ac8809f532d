using Aurora.Storage.IO;

namespace Aurora.Storage.Tests;

/// <summary>
/// Passes every call to the real disk, except that creating a file whose path satisfies
/// <see cref="FailCreate"/> throws, as a full or read-only disk would.
/// </summary>
public sealed class FailingFileSystem(IFileSystem inner) : IFileSystem
{
    /// <summary>Which file creations fail; none when null. May be changed between calls.</summary>
    public Func<string, bool>? FailCreate { get; set; }

    public bool DirectoryExists(string path) => inner.DirectoryExists(path);

    public bool FileExists(string path) => inner.FileExists(path);

    public void CreateDirectory(string path) => inner.CreateDirectory(path);

    public IReadOnlyList<DirectoryEntry> ListEntries(string directory) => inner.ListEntries(directory);

    public IStorageFile OpenFile(string path, FileOpenMode mode, SymlinkPolicy symlinks = SymlinkPolicy.Refuse)
    {
        if (mode is FileOpenMode.CreateNew or FileOpenMode.CreateOrTruncate && FailCreate?.Invoke(path) == true)
        {
            throw new IOException($"{path}: No space left on device (injected)");
        }

        return inner.OpenFile(path, mode, symlinks);
    }

    public void DeleteFile(string path) => inner.DeleteFile(path);

    public void Rename(string source, string destination) => inner.Rename(source, destination);

    public void SyncDirectory(string path) => inner.SyncDirectory(path);

    public IDisposable LockDirectory(string lockFilePath) => inner.LockDirectory(lockFilePath);
}
