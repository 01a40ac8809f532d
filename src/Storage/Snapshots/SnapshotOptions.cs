using Aurora.Storage.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Storage.Snapshots;

/// <summary>Where a <see cref="SnapshotStore"/> keeps its files and how many it keeps. Validated by <see cref="Validate"/>.</summary>
public sealed record SnapshotOptions
{
    /// <summary>The subdirectory of <see cref="Directory"/> holding the snapshot files.</summary>
    public const string SnapshotDirectoryName = "snapshots";

    /// <summary>The log directory (<c>-native_log_file_path</c>); snapshots live in its <c>snapshots/</c> subdirectory.</summary>
    public required string Directory { get; init; }

    /// <summary>How many of the newest snapshots survive each write (at least 1).</summary>
    public int RetainCount { get; init; } = 3;

    public IFileSystem FileSystem { get; init; } = PhysicalFileSystem.Instance;

    /// <summary>Stamps each snapshot's creation time.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    public ILogger Logger { get; init; } = NullLogger.Instance;

    public string SnapshotDirectory => Path.Combine(Directory, SnapshotDirectoryName);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("snapshot directory must be set", nameof(Directory));
        }

        if (RetainCount < 1)
        {
            throw new ArgumentException($"snapshot retain count {RetainCount} must be at least 1", nameof(RetainCount));
        }

        ArgumentNullException.ThrowIfNull(FileSystem);
        ArgumentNullException.ThrowIfNull(Time);
        ArgumentNullException.ThrowIfNull(Logger);
    }
}
