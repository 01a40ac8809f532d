using Aurora.Storage.IO;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Storage.Backups;

/// <summary>Where backups go, how many are kept and how often they are taken. Validated by <see cref="Validate"/>.</summary>
public sealed record BackupOptions
{
    /// <summary>Aurora's default for <c>-max_saved_backups</c>: two days of hourly backups.</summary>
    public const int DefaultMaxSavedBackups = 48;

    /// <summary>The longest interval a <see cref="TimeProvider"/> timer accepts (about 49 days).</summary>
    public static readonly TimeSpan MaxInterval = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary><c>-backup_dir</c>; created when missing. Keep it off the log's disk.</summary>
    public required string BackupDirectory { get; init; }

    /// <summary>The cluster's name, recorded in every backup so a restore can check it has the right one.</summary>
    public required string ClusterName { get; init; }

    /// <summary><c>-max_saved_backups</c>: how many of the newest backups survive each save (at least 1).</summary>
    public int MaxSavedBackups { get; init; } = DefaultMaxSavedBackups;

    /// <summary><c>-backup_interval</c>: how often <see cref="BackupScheduler"/> takes a backup.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromHours(1);

    public IFileSystem FileSystem { get; init; } = PhysicalFileSystem.Instance;

    /// <summary>Stamps backups (their names carry the UTC time) and drives <see cref="BackupScheduler"/>'s timer.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    public ILogger Logger { get; init; } = NullLogger.Instance;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(BackupDirectory))
        {
            throw new ArgumentException("backup directory (-backup_dir) must be set", nameof(BackupDirectory));
        }

        if (string.IsNullOrWhiteSpace(ClusterName))
        {
            throw new ArgumentException("cluster name must be set: every backup records it", nameof(ClusterName));
        }

        if (MaxSavedBackups < 1)
        {
            throw new ArgumentException($"-max_saved_backups={MaxSavedBackups} must be at least 1", nameof(MaxSavedBackups));
        }

        if (Interval <= TimeSpan.Zero || Interval > MaxInterval)
        {
            throw new ArgumentException($"backup interval {Interval} must be positive and at most {MaxInterval}", nameof(Interval));
        }

        ArgumentNullException.ThrowIfNull(FileSystem);
        ArgumentNullException.ThrowIfNull(Time);
        ArgumentNullException.ThrowIfNull(Logger);
    }
}
