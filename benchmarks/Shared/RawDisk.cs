using System.Diagnostics;
using Aurora.Storage.IO;

namespace Aurora.Benchmarks.Shared;

/// <summary>
/// The reference the log is held against: what the disk itself does for pwrite + fdatasync of fixed
/// records into a preallocated, zero-filled file (overwritten in place, so no sync carries
/// metadata), the same as ../shared/peers/fsyncbench.c with prealloc_mb &gt; 0.
/// </summary>
/// <remarks>
/// Goes through <see cref="PhysicalFileSystem"/>, i.e. exactly the RandomAccess.Write + fdatasync the
/// log's writer uses. The file is reused by every run and wraps around at its end instead of
/// growing. Single-threaded.
/// </remarks>
internal sealed class RawDisk : IDisposable
{
    public const int RecordBytes = 1024;

    private readonly IStorageFile _file;
    private readonly long _size;
    private long _offset;

    public RawDisk(string path, long size)
    {
        _size = size;
        _file = PhysicalFileSystem.Instance.OpenFile(path, FileOpenMode.CreateOrTruncate);
        _file.WriteZeros(0, size);
        _file.DataSync();
    }

    /// <summary>Writes <paramref name="recordsPerSync"/> records per pwrite and fdatasyncs each, for a warm-up and then a measured window.</summary>
    public Measurement Run(int recordsPerSync, TimeSpan warmup, TimeSpan duration, long maxRecords, CancellationToken cancellationToken)
    {
        var batch = new byte[recordsPerSync * RecordBytes];
        for (var i = 0; i < batch.Length; i++)
        {
            batch[i] = (byte)('a' + (i % 26));
        }

        Loop(batch, Stopwatch.GetTimestamp() + Ticks(warmup), long.MaxValue, null, cancellationToken);
        var latencies = new List<long>();
        var start = UsageMark.Now();
        var syncs = Loop(batch, start.Timestamp + Ticks(duration), Math.Max(1, maxRecords / recordsPerSync), latencies, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        var end = UsageMark.Now();
        var seconds = (end.Timestamp - start.Timestamp) / (double)Stopwatch.Frequency;
        return new Measurement($"raw_{recordsPerSync}", syncs * recordsPerSync, syncs * batch.Length, seconds, Measurement.ToSortedMicros(latencies), syncs, end.Since(start));
    }

    public void Dispose() => _file.Dispose();

    private long Loop(byte[] batch, long deadline, long maxSyncs, List<long>? latencies, CancellationToken cancellationToken)
    {
        long syncs = 0;
        while (syncs < maxSyncs)
        {
            var before = Stopwatch.GetTimestamp();
            if (before >= deadline || cancellationToken.IsCancellationRequested)
            {
                break;
            }

            if (_offset + batch.Length > _size)
            {
                _offset = 0;
            }

            _file.Write(_offset, batch);
            _file.DataSync();
            latencies?.Add(Stopwatch.GetTimestamp() - before);
            _offset += batch.Length;
            syncs++;
        }

        return syncs;
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
