using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Settings;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Snapshots;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Scheduler.Persistence;

/// <summary>Where the scheduler's log lives and how its state is kept.</summary>
public sealed record SchedulerStoreOptions
{
    /// <summary>The replica's log directory (<c>-native_log_file_path</c>).</summary>
    public required string Directory { get; init; }

    public SchedulerSettings Settings { get; init; } = SchedulerSettings.Default;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public IIdGenerator Ids { get; init; } = RandomIdGenerator.Instance;

    public IFileSystem FileSystem { get; init; } = PhysicalFileSystem.Instance;

    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary><c>-dlog_max_entry_size</c>: larger transactions are chunked.</summary>
    public int MaxEntrySize { get; init; } = Aurora.Storage.Log.LogOptions.DefaultMaxEntrySize;

    /// <summary>Size of each log segment file (tests use small ones to exercise truncation).</summary>
    public long LogSegmentSize { get; init; } = Aurora.Storage.Log.LogOptions.DefaultSegmentSize;

    /// <summary>Snapshots kept; the log before the oldest kept one is removed when <see cref="TruncateLogBehindSnapshots"/>.</summary>
    public int SnapshotRetainCount { get; init; } = 3;

    public bool TruncateLogBehindSnapshots { get; init; } = true;

    /// <summary>Called once if the log fails fatally (a failed fdatasync); the default ends the process.</summary>
    public Action<Exception>? OnFatalError { get; init; }

    internal LogOptions LogOptions()
    {
        var options = new LogOptions
        {
            Directory = Directory,
            MaxEntrySize = MaxEntrySize,
            SegmentSize = LogSegmentSize,
            FileSystem = FileSystem,
            Time = Time,
            Logger = Logger,
        };
        return OnFatalError is null ? options : options with { OnFatalError = OnFatalError };
    }

    internal SnapshotOptions SnapshotOptions() => new()
    {
        Directory = Directory,
        RetainCount = SnapshotRetainCount,
        FileSystem = FileSystem,
        Time = Time,
        Logger = Logger,
    };
}
