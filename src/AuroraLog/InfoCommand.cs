using System.Text.Json;
using Aurora.Storage;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.LogTool;

/// <summary>
/// <c>aurora-log info --path=DIR</c>: what a replica holds. Opens the log read-only, so it is safe
/// on the log of a running replica and changes nothing. Files in the log directory that the log
/// does not keep there are listed, and make the exit code 1.
/// </summary>
internal static class InfoCommand
{
    public static Command Command { get; } = new(
        "info",
        "Show the replica's status, promised term, log id, positions, segments, snapshots, size on disk, any torn tail "
        + "and any file the log does not keep (exit 1 then). Read-only; safe on a live log.",
        [LogDirectory.PathFlag, LogDirectory.JsonFlag],
        Run);

    public static string StatusName(ReplicaStatus status) => status switch
    {
        ReplicaStatus.Empty => "EMPTY",
        ReplicaStatus.Voting => "VOTING",
        ReplicaStatus.Recovering => "RECOVERING",
        _ => $"UNKNOWN ({(int)status})",
    };

    /// <summary>The vote of a replica that may have voted in its promised term but cannot tell for whom (after a repair).</summary>
    public const string UnknownVote = "?";

    /// <summary>Why a replica has no cluster id, and how it gets one.</summary>
    public const string NoClusterId =
        "not recorded: 'aurora-log initialize --cluster_name=NAME' records it; metadata written before replication has none";

    /// <summary>What a RECOVERING replica does, and what the operator does about it.</summary>
    public const string RecoveringNote =
        "catching up from the leader: it takes no part in votes or quorums until it holds everything committed, then turns VOTING by itself; start its scheduler if it is stopped";

    /// <summary>What an operator must do about an EMPTY replica (the same cure the replica logs).</summary>
    public static string EmptyCure(string directory) =>
        $"this replica was never initialized, so it does not vote or accept writes: run '{Program.Name} initialize --path={directory}' on a quorum of replicas";

    private static int Run(ParsedFlags flags, ToolContext context)
    {
        var directory = LogDirectory.RequireExisting(flags, context, "info");
        Report report;
        try
        {
            report = Gather(directory, context);
        }
        catch (NotARegularFileException) when (LogDirectory.Unaccounted(directory, context) is { Count: > 0 } unaccounted)
        {
            // The file the report stopped at is among them; name them all at once.
            throw new UnaccountedFilesException(directory, unaccounted);
        }

        context.Out.Write(flags.GetSwitch(LogDirectory.JsonFlag.Name) ? Json(report) + "\n" : Text(report));
        return report.Unaccounted.Count == 0 ? ExitCodes.Ok : throw new UnaccountedFilesException(directory, report.Unaccounted);
    }

    private static Report Gather(string directory, ToolContext context)
    {
        var fs = context.FileSystem;
        var unaccounted = LogDirectory.Unaccounted(directory, context);
        var metadata = new ReplicaMetadataStore(fs, directory).Load();
        using var log = SegmentedLog.Open(LogDirectory.ReadOnlyLog(directory, context));
        var segments = log.Segments
            .Select(s => new SegmentReport(s, FileLength(fs, s.Path) ?? s.FileBytes))
            .ToList();
        var store = LogDirectory.Snapshots(directory, context);
        var snapshots = store.List();
        var listed = snapshots.Select(s => s.Path).ToHashSet(StringComparer.Ordinal);
        var unreadable = fs.DirectoryExists(store.Directory)
            ? fs.ListFiles(store.Directory).Where(f => SnapshotStore.TryParseFileName(f, out _) && !listed.Contains(f)).Order(StringComparer.Ordinal).ToList()
            : [];
        var last = log.LastDurablePosition;
        return new Report(
            directory,
            metadata,
            last > 0 ? log.FirstRetainedPosition : null,
            last > 0 ? last : null,
            log.LastDurableTerm,
            segments,
            snapshots,
            unreadable,
            DiskUsage(fs, [directory, Path.Combine(directory, LogOptions.SegmentDirectoryName), store.Directory]),
            log.TornTail,
            unaccounted);
    }

    /// <summary>What the last appended position is, and what it is not: this tool reads one replica's files.</summary>
    private const string AppendedNote = "durable here; committed once a quorum holds it, which only the running cluster knows";

    private static string Text(Report report)
    {
        var m = report.Metadata;
        var lines = new List<string> { $"Log directory:  {report.Directory}" };
        if (m.Status == ReplicaStatus.Empty)
        {
            lines.Add("Status:         EMPTY");
            lines.Add($"                {EmptyCure(report.Directory)}");
        }
        else
        {
            lines.Add($"Status:         {StatusName(m.Status)}");
            if (m.Status == ReplicaStatus.Recovering)
            {
                lines.Add($"                {RecoveringNote}");
            }

            lines.Add(m.ClusterId.Length > 0 ? $"Cluster id:     {m.ClusterId}" : $"Cluster id:     none ({NoClusterId})");
            lines.Add($"Log id:         {m.LogId}");
            lines.Add($"Initialized:    {LogDirectory.FormatMicros(m.InitializedMicros)}");
        }

        lines.Add($"Promised term:  {m.PromisedTerm}");
        if (m.VotedFor.Length > 0)
        {
            lines.Add(m.VotedFor == UnknownVote
                ? $"Voted for:      ? (may have voted in term {m.PromisedTerm}, so it votes for no one in it)"
                : $"Voted for:      {m.VotedFor} (in term {m.PromisedTerm})");
        }

        if (report.LastPosition is { } lastPosition)
        {
            lines.Add($"First retained: {report.FirstPosition}");
            lines.Add($"Last appended:  {lastPosition} (term {report.LastTerm}; {AppendedNote})");
            lines.Add($"Entries:        {lastPosition - report.FirstPosition!.Value + 1}");
        }
        else
        {
            lines.Add("First retained: none");
            lines.Add("Last appended:  none");
            lines.Add("Entries:        0 (the log is empty)");
        }

        lines.Add($"Segments:       {report.Segments.Count}");
        foreach (var s in report.Segments)
        {
            var positions = s.Info.LastPosition < s.Info.FirstPosition
                ? "no entries"
                : $"positions {s.Info.FirstPosition}..{s.Info.LastPosition}";
            lines.Add($"  {Path.GetFileName(s.Info.Path)}  {positions}, {s.Info.DataBytes} bytes used of {s.FileBytes}");
        }

        lines.Add($"Snapshots:      {report.Snapshots.Count}");
        foreach (var s in report.Snapshots)
        {
            lines.Add($"  {Path.GetFileName(s.Path)}  position {s.Position}, term {s.Term}, taken {LogDirectory.FormatTime(s.CreatedAt)}, {LogDirectory.FormatBytes(s.BlobLength)}, type {s.BlobType}");
        }

        foreach (var path in report.UnreadableSnapshots)
        {
            lines.Add($"  {Path.GetFileName(path)}  UNREADABLE: its header is damaged; '{Program.Name} verify' says more");
        }

        lines.Add($"Size on disk:   {LogDirectory.FormatBytes(report.SizeOnDisk)}");
        lines.Add(report.TornTail is { } torn
            ? $"Torn tail:      {Path.GetFileName(torn.File)} at offset {torn.Offset}, {torn.DiscardedBytes} bytes: {torn.Reason} (never acknowledged; cut off when the log is next opened for writing)"
            : "Torn tail:      none");
        if (report.Unaccounted.Count == 0)
        {
            lines.Add("Unaccounted:    none");
        }
        else
        {
            lines.Add($"Unaccounted:    {report.Unaccounted.Count} file(s) the log does not keep; move them out of the log directory");
            foreach (var u in report.Unaccounted)
            {
                lines.Add($"  {Path.GetRelativePath(report.Directory, u.Path)}  {u.Reason}");
            }
        }

        return string.Join('\n', lines) + "\n";
    }

    private static string Json(Report report) => LogDirectory.Json(
        w =>
        {
            var m = report.Metadata;
            w.WriteStartObject();
            w.WriteString("directory", report.Directory);
            w.WriteString("status", StatusName(m.Status));
            if (m.Status == ReplicaStatus.Empty)
            {
                w.WriteString("action", EmptyCure(report.Directory));
                w.WriteNull("clusterId");
                w.WriteNull("logId");
                w.WriteNull("initializedAt");
            }
            else
            {
                if (m.Status == ReplicaStatus.Recovering)
                {
                    w.WriteString("action", RecoveringNote);
                }

                WriteNullable(w, "clusterId", m.ClusterId);
                w.WriteString("logId", m.LogId);
                w.WriteString("initializedAt", LogDirectory.FormatMicros(m.InitializedMicros));
            }

            w.WriteNumber("promisedTerm", m.PromisedTerm);
            WriteNullable(w, "votedFor", m.VotedFor);
            WriteNullable(w, "firstRetainedPosition", report.FirstPosition);
            WriteNullable(w, "appendedPosition", report.LastPosition);
            w.WriteNumber("lastTerm", report.LastTerm);
            w.WriteStartArray("segments");
            foreach (var s in report.Segments)
            {
                w.WriteStartObject();
                w.WriteString("file", s.Info.Path);
                w.WriteNumber("firstPosition", s.Info.FirstPosition);
                w.WriteNumber("lastPosition", s.Info.LastPosition);
                w.WriteNumber("usedBytes", s.Info.DataBytes);
                w.WriteNumber("fileBytes", s.FileBytes);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("snapshots");
            foreach (var s in report.Snapshots)
            {
                w.WriteStartObject();
                w.WriteString("file", s.Path);
                w.WriteNumber("position", s.Position);
                w.WriteNumber("term", s.Term);
                w.WriteString("createdAt", LogDirectory.FormatTime(s.CreatedAt));
                w.WriteNumber("blobBytes", s.BlobLength);
                w.WriteString("blobType", s.BlobType);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("unreadableSnapshots");
            foreach (var path in report.UnreadableSnapshots)
            {
                w.WriteStringValue(path);
            }

            w.WriteEndArray();
            w.WriteNumber("sizeOnDiskBytes", report.SizeOnDisk);
            if (report.TornTail is { } torn)
            {
                w.WriteStartObject("tornTail");
                w.WriteString("file", torn.File);
                w.WriteNumber("offset", torn.Offset);
                w.WriteNumber("discardedBytes", torn.DiscardedBytes);
                w.WriteString("reason", torn.Reason);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("tornTail");
            }

            w.WriteStartArray("unaccounted");
            foreach (var u in report.Unaccounted)
            {
                w.WriteStartObject();
                w.WriteString("file", u.Path);
                w.WriteString("kind", FileKinds.Name(u.Kind));
                w.WriteString("problem", u.Problem);
                w.WriteEndObject();
            }

            w.WriteEndArray();

            w.WriteEndObject();
        },
        indented: true);

    /// <summary>The string, or null when it is empty.</summary>
    private static void WriteNullable(Utf8JsonWriter writer, string name, string value)
    {
        if (value.Length > 0)
        {
            writer.WriteString(name, value);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, ulong? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>The sum of the sizes of the files directly in <paramref name="directories"/>.</summary>
    private static long DiskUsage(IFileSystem fs, IEnumerable<string> directories) =>
        directories.Where(fs.DirectoryExists).SelectMany(fs.ListFiles).Sum(f => FileLength(fs, f) ?? 0);

    /// <summary>
    /// The file's length, or null when it cannot be opened: it vanished meanwhile (prefix truncation,
    /// snapshot retention), or it is the LOCK file a running replica holds exclusively.
    /// </summary>
    private static long? FileLength(IFileSystem fs, string path)
    {
        try
        {
            using var file = fs.OpenFile(path, FileOpenMode.ReadExisting);
            return file.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private sealed record SegmentReport(SegmentInfo Info, long FileBytes);

    private sealed record Report(
        string Directory,
        ReplicaMetadata Metadata,
        ulong? FirstPosition,
        ulong? LastPosition,
        ulong LastTerm,
        IReadOnlyList<SegmentReport> Segments,
        IReadOnlyList<SnapshotInfo> Snapshots,
        IReadOnlyList<string> UnreadableSnapshots,
        long SizeOnDisk,
        TornTail? TornTail,
        IReadOnlyList<UnaccountedFile> Unaccounted);
}
