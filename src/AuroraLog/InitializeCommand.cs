using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.LogTool;

/// <summary>initialize refused to touch a log that already holds something; exit code 2.</summary>
internal sealed class InitializeRefusedException(string message) : Exception(message);

/// <summary>
/// <c>aurora-log initialize --path=DIR [--cluster_name=NAME]</c>: makes an EMPTY replica a VOTING
/// member with an empty log, like <c>mesos-log initialize</c>, and records the cluster it belongs to
/// (the id replicas check in their handshake). Run it on a quorum of replicas before the first
/// scheduler starts.
/// </summary>
/// <remarks>
/// Initializing a replica that has ever held data would make it forget the terms it promised and
/// the entries it acknowledged, which can lose committed writes. So it refuses when replica
/// metadata, snapshots or any log entry exist. An empty segment is not data (a scheduler started
/// on an EMPTY replica creates one), so it does not count. The metadata is written last, while the
/// log's directory lock is held: a crash part-way leaves an EMPTY replica that initialize accepts.
/// </remarks>
internal static class InitializeCommand
{
    public static Command Command { get; } = new(
        "initialize",
        "Make DIR an initialized (VOTING) replica with an empty log, of the cluster --cluster_name; creates DIR if needed. Refuses a non-empty log.",
        [LogDirectory.PathFlag, LogDirectory.ClusterNameFlag],
        Run);

    private static int Run(ParsedFlags flags, ToolContext context)
    {
        var directory = LogDirectory.FullPath(flags, "initialize");
        var clusterId = LogDirectory.ClusterName(flags);
        var metadata = Initialize(directory, context, clusterId ?? string.Empty);
        var cluster = clusterId is null ? "no cluster id (give --cluster_name=NAME to record one)" : $"cluster {clusterId}";
        context.Out.WriteLine($"Initialized replica {directory}: status VOTING, {cluster}, log id {metadata.LogId}.");
        context.Out.WriteLine($"Initialize a quorum of replicas (for example 2 of 3) before starting the schedulers; '{Program.Name} info --path={directory}' shows the result.");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Makes <paramref name="directory"/> a VOTING replica with an empty log and returns its new
    /// metadata; <c>recover</c> uses it too.
    /// </summary>
    /// <param name="directory">The log directory.</param>
    /// <param name="context">The tool's seams.</param>
    /// <param name="clusterId">The cluster id to record; empty for none.</param>
    /// <exception cref="InitializeRefusedException">The directory already holds something.</exception>
    internal static ReplicaMetadata Initialize(string directory, ToolContext context, string clusterId = "")
    {
        var fs = context.FileSystem;
        if (fs.FileExists(directory))
        {
            throw new UsageException($"--path={directory} is a file; it must be the log directory");
        }

        if (fs.DirectoryExists(directory))
        {
            RefuseIfNotEmpty(directory, context, openLog: null);
        }

        fs.CreateDirectory(directory);
        var metadataStore = new ReplicaMetadataStore(fs, directory);
        var metadata = ReplicaMetadataStore.NewVoting(context.Time.GetUtcNow(), clusterId);

        var options = new LogOptions
        {
            Directory = directory,
            FileSystem = fs,
            Time = context.Time,
            SegmentSize = context.SegmentSize,
            // Nothing is appended here; the smallest limit lets any segment size pass validation.
            MaxEntrySize = 1024,
            // Let a failed fdatasync surface as an error line instead of ending the process.
            OnFatalError = _ => { },
        };
        using (var log = SegmentedLog.Open(options))
        {
            // Checked again under the directory lock the open took, in case a replica or another
            // initialize got here between the first check and now.
            RefuseIfNotEmpty(directory, context, log);
            metadataStore.Save(metadata);
        }

        return metadata;
    }

    private static void RefuseIfNotEmpty(string directory, ToolContext context, SegmentedLog? openLog)
    {
        var reason = WhyNotEmpty(directory, context, openLog);
        if (reason is not null)
        {
            throw new InitializeRefusedException(
                $"refusing to initialize {directory}: {reason}; initializing it again could lose committed entries");
        }
    }

    /// <summary>Why <paramref name="directory"/> cannot be initialized (it holds something); null when it can.</summary>
    internal static string? WhyNotEmpty(string directory, ToolContext context, SegmentedLog? openLog)
    {
        var fs = context.FileSystem;
        var metadataStore = new ReplicaMetadataStore(fs, directory);
        if (metadataStore.Exists)
        {
            try
            {
                var metadata = metadataStore.Load();
                return $"it is already initialized ({ReplicaMetadataStore.FileName} says status {InfoCommand.StatusName(metadata.Status)}, log id {metadata.LogId})";
            }
            catch (InvalidDataException e)
            {
                return $"it holds a damaged {ReplicaMetadataStore.FileName} ({e.Message})";
            }
        }

        var snapshotDirectory = new SnapshotOptions { Directory = directory }.SnapshotDirectory;
        if (fs.DirectoryExists(snapshotDirectory))
        {
            var snapshots = fs.ListFiles(snapshotDirectory).Where(f => !f.EndsWith(AtomicFile.TempSuffix, StringComparison.Ordinal)).ToList();
            if (snapshots.Count > 0)
            {
                return $"it holds {snapshots.Count} snapshot file(s) in {snapshotDirectory}";
            }
        }

        if (openLog is not null)
        {
            return DescribeEntries(openLog);
        }

        if (!fs.DirectoryExists(Path.Combine(directory, "log")))
        {
            return null;
        }

        try
        {
            using var log = SegmentedLog.Open(LogDirectory.ReadOnlyLog(directory, context));
            return DescribeEntries(log);
        }
        catch (LogCorruptedException e)
        {
            return $"it holds a damaged log ({e.Message})";
        }
    }

    private static string? DescribeEntries(SegmentedLog log) =>
        log.LastDurablePosition > 0 ? $"its log holds entries (positions {log.FirstRetainedPosition}..{log.LastDurablePosition})"
        : log.FirstRetainedPosition > 1 ? $"its log was truncated up to position {log.FirstRetainedPosition - 1}"
        : log.TornTail is { } torn ? $"its log holds the remains of an unfinished write in {torn.File}"
        : null;
}
