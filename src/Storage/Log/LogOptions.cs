using Aurora.Storage.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Storage.Log;

/// <summary>How a <see cref="SegmentedLog"/> is laid out and behaves. Validated by <see cref="Validate"/>.</summary>
public sealed record LogOptions
{
    public const long DefaultSegmentSize = 64L << 20;
    public const int DefaultMaxEntrySize = 512 << 10;

    /// <summary>The subdirectory of <see cref="Directory"/> holding the segment files.</summary>
    public const string SegmentDirectoryName = "log";

    /// <summary>The log directory (<c>-native_log_file_path</c>); segments live in its <c>log/</c> subdirectory.</summary>
    public required string Directory { get; init; }

    /// <summary>Bytes preallocated per segment file (zero-filled, or a recycled segment's).</summary>
    public long SegmentSize { get; init; } = DefaultSegmentSize;

    /// <summary>Largest record payload (<c>-dlog_max_entry_size</c>); bigger entries are split into chunks.</summary>
    public int MaxEntrySize { get; init; } = DefaultMaxEntrySize;

    public CompressionCodec Compression { get; init; } = CompressionCodec.None;

    /// <summary>Entries smaller than this are stored uncompressed.</summary>
    public int CompressionMinBytes { get; init; } = 4096;

    /// <summary>Open without repairing or writing anything (for tools reading a live log).</summary>
    public bool ReadOnly { get; init; }

    public IFileSystem FileSystem { get; init; } = PhysicalFileSystem.Instance;

    /// <summary>
    /// Off (the default), a writer thread runs the appends, truncations and resets, gathering the
    /// appends queued together into one write and one fdatasync, and the next segment is prepared
    /// (a recycled spare, or zero-filled in the background) while the current one fills. On, there
    /// is no thread of the log's own: each call writes (and syncs) on the thread that makes it,
    /// before it returns, and the next segment is prepared when the log rolls; concurrent callers
    /// take turns, so there is no group commit. Every file operation then happens in the order of
    /// the calls that cause it, which is what a deterministic simulation on a
    /// <see cref="FileSystem"/> with seeded faults needs (and it saves the two thread switches per
    /// call that a simulation would spend most of its time on).
    /// </summary>
    public bool WriteOnCallingThread { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>
    /// Called once when a write error leaves the log untrustworthy (a failed fdatasync). The default
    /// ends the process: after a failed fsync the kernel may have dropped the dirty pages, and a
    /// retry on the same descriptor can report success for data that is gone. A supervisor restarts
    /// the replica. It recovers from what is really on disk only if the machine was rebooted in
    /// between: Linux keeps the pages it failed to write in its cache, marked clean, and a new
    /// process reads them back as if they were durable (docs/replication.md). Tests substitute their own.
    /// </summary>
    public Action<Exception> OnFatalError { get; init; } = FailFast;

    public string SegmentDirectory => Path.Combine(Directory, SegmentDirectoryName);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("log directory must be set", nameof(Directory));
        }

        if (MaxEntrySize < 1024)
        {
            throw new ArgumentException($"max entry size {MaxEntrySize} is below the minimum of 1024 bytes", nameof(MaxEntrySize));
        }

        if (SegmentSize < SegmentHeader.Size + RecordHeader.Size + MaxEntrySize)
        {
            throw new ArgumentException(
                $"segment size {SegmentSize} cannot hold one record of the max entry size {MaxEntrySize}",
                nameof(SegmentSize));
        }

        if (CompressionMinBytes < 0)
        {
            throw new ArgumentException("compression threshold must not be negative", nameof(CompressionMinBytes));
        }
    }

    private static void FailFast(Exception cause) =>
        Environment.FailFast($"aurora: fatal storage error, exiting so that a restart recovers from disk: {cause.Message}", cause);
}
