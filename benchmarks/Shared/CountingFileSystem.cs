using System.Diagnostics;
using Aurora.Storage.IO;

namespace Aurora.Benchmarks.Shared;

/// <summary>
/// The real file system, counting the fdatasyncs the log's writer thread issues, so the harness
/// can report entries per fdatasync: the group size, which is what group commit is about.
/// </summary>
/// <remarks>
/// Only calls on the writer thread count (it is named <see cref="WriterThreadName"/> by the log):
/// the zero-filling of the next segment runs on the thread pool and is not a commit. Safe for
/// concurrent use; the counter is read while the log is running.
/// </remarks>
internal sealed class CountingFileSystem(IFileSystem inner) : IFileSystem
{
    public const string WriterThreadName = "aurora-log-writer";

    private long _writerSyncs;
    private long _slowestWriterSyncTicks;

    public long WriterSyncs => Interlocked.Read(ref _writerSyncs);

    /// <summary>The longest fdatasync of the writer thread since the last call, in milliseconds; and starts over.</summary>
    public double TakeSlowestWriterSyncMillis() =>
        Interlocked.Exchange(ref _slowestWriterSyncTicks, 0) * 1000.0 / Stopwatch.Frequency;

    public bool DirectoryExists(string path) => inner.DirectoryExists(path);

    public bool FileExists(string path) => inner.FileExists(path);

    public void CreateDirectory(string path) => inner.CreateDirectory(path);

    public IReadOnlyList<DirectoryEntry> ListEntries(string directory) => inner.ListEntries(directory);

    public IStorageFile OpenFile(string path, FileOpenMode mode, SymlinkPolicy symlinks = SymlinkPolicy.Refuse) =>
        new CountingFile(inner.OpenFile(path, mode, symlinks), this);

    public void DeleteFile(string path) => inner.DeleteFile(path);

    public void Rename(string source, string destination) => inner.Rename(source, destination);

    public void SyncDirectory(string path) => inner.SyncDirectory(path);

    public IDisposable LockDirectory(string lockFilePath) => inner.LockDirectory(lockFilePath);

    private sealed class CountingFile(IStorageFile file, CountingFileSystem owner) : IStorageFile
    {
        public string Path => file.Path;

        public long Length => file.Length;

        public int Read(long offset, Span<byte> buffer) => file.Read(offset, buffer);

        public void Write(long offset, ReadOnlySpan<byte> data) => file.Write(offset, data);

        public void DataSync()
        {
            var before = Stopwatch.GetTimestamp();
            file.DataSync();
            if (Thread.CurrentThread.Name == WriterThreadName)
            {
                Interlocked.Increment(ref owner._writerSyncs);
                var took = Stopwatch.GetTimestamp() - before;
                var slowest = Interlocked.Read(ref owner._slowestWriterSyncTicks);
                while (took > slowest)
                {
                    var seen = Interlocked.CompareExchange(ref owner._slowestWriterSyncTicks, took, slowest);
                    if (seen == slowest)
                    {
                        break;
                    }

                    slowest = seen;
                }
            }
        }

        public void SetLength(long length) => file.SetLength(length);

        public void Dispose() => file.Dispose();
    }
}
