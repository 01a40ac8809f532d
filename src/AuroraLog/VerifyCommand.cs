using Aurora.Storage;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.LogTool;

/// <summary>
/// <c>aurora-log verify --path=DIR</c>: checks every record of every segment, every snapshot, the
/// replica metadata and that every other file in the log directory is one the log keeps there, and
/// prints one line per problem. Exit code 1 when anything but a torn tail is wrong.
/// </summary>
internal static class VerifyCommand
{
    public static Command Command { get; } = new(
        "verify",
        "Check every record of every segment (checksums, positions, chunks, entries), every snapshot, the replica metadata, "
        + "and that the log directory holds nothing else; one line per problem. Read-only.",
        [LogDirectory.PathFlag, LogDirectory.JsonFlag],
        Run);

    private const string TornTailNote = "never acknowledged; cut off when the log is next opened for writing";

    private static int Run(ParsedFlags flags, ToolContext context)
    {
        var directory = LogDirectory.RequireExisting(flags, context, "verify");
        var problems = new List<Problem>();

        var metadataStore = new ReplicaMetadataStore(context.FileSystem, directory);
        var status = "EMPTY";
        try
        {
            status = InfoCommand.StatusName(metadataStore.Load().Status);
        }
        catch (NotARegularFileException e)
        {
            status = "unreadable";
            problems.Add(new Problem(IsError: true, metadataStore.Path, null, null, NotARegularFileException.Problem(e.Kind), e.Kind));
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            status = "unreadable";
            problems.Add(new Problem(IsError: true, metadataStore.Path, null, null, Strip(metadataStore.Path, e.Message)));
        }

        var log = LogVerifier.Verify(LogDirectory.ReadOnlyLog(directory, context));
        problems.AddRange(log.Problems.Select(p => new Problem(
            !p.IsTornTail, p.File, p.Offset, p.Position, p.IsTornTail ? $"torn tail: {p.Problem} ({TornTailNote})" : p.Problem)));

        var store = LogDirectory.Snapshots(directory, context);
        var snapshotFiles = context.FileSystem.DirectoryExists(store.Directory)
            ? context.FileSystem.ListFiles(store.Directory).Count(f => SnapshotStore.TryParseFileName(f, out _))
            : 0;
        problems.AddRange(store.Verify().Select(p => new Problem(IsError: true, p.Path, null, null, p.Problem)));

        // Last, and only for files not reported already (a FIFO named like a segment is, above,
        // by the check that could not open it; it gets its kind here).
        var unaccounted = LogDirectory.Unaccounted(directory, context);
        var kinds = unaccounted.ToDictionary(u => u.Path, u => u.Kind, StringComparer.Ordinal);
        var reported = problems.Select(p => p.File).ToHashSet(StringComparer.Ordinal);
        problems = [.. problems.Select(p => kinds.TryGetValue(p.File, out var kind) && kind != FileKind.Regular
            ? p with { Kind = kind, Offset = null, Position = null }
            : p)];
        problems.AddRange(unaccounted
            .Where(u => !reported.Contains(u.Path))
            .Select(u => new Problem(IsError: true, u.Path, null, null, u.Problem, u.Kind)));

        var errors = problems.Count(p => p.IsError);
        var warnings = problems.Count - errors;
        var summary = $"Checked {Plural(log.Segments, "segment")} ({Plural((long)log.Entries, "entry", "entries")}), "
            + $"{Plural(snapshotFiles, "snapshot")} and the replica metadata (status {status}) in {directory}: "
            + (problems.Count == 0 ? "no problems." : $"{Plural(errors, "error")}, {Plural(warnings, "warning")}.");

        if (flags.GetSwitch(LogDirectory.JsonFlag.Name))
        {
            context.Out.WriteLine(LogDirectory.Json(
                w =>
                {
                    w.WriteStartObject();
                    w.WriteString("directory", directory);
                    w.WriteBoolean("ok", errors == 0);
                    w.WriteString("status", status);
                    w.WriteNumber("segments", log.Segments);
                    w.WriteNumber("entries", log.Entries);
                    w.WriteNumber("snapshots", snapshotFiles);
                    w.WriteNumber("errors", errors);
                    w.WriteNumber("warnings", warnings);
                    w.WriteStartArray("problems");
                    foreach (var p in problems)
                    {
                        w.WriteStartObject();
                        w.WriteString("severity", p.IsError ? "error" : "warning");
                        w.WriteString("file", p.File);
                        if (p.Offset is { } offset)
                        {
                            w.WriteNumber("offset", offset);
                        }
                        else
                        {
                            w.WriteNull("offset");
                        }

                        if (p.Position is { } position)
                        {
                            w.WriteNumber("position", position);
                        }
                        else
                        {
                            w.WriteNull("position");
                        }

                        if (p.Kind is { } kind)
                        {
                            w.WriteString("kind", FileKinds.Name(kind));
                        }
                        else
                        {
                            w.WriteNull("kind");
                        }

                        w.WriteString("problem", p.Text);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                },
                indented: true));
        }
        else
        {
            foreach (var p in problems)
            {
                context.Out.WriteLine(p.ToString());
            }

            context.Out.WriteLine(summary);
        }

        return errors > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    }

    private static string Plural(long count, string one, string? many = null) => $"{count} {(count == 1 ? one : many ?? one + "s")}";

    /// <summary>Drops a leading "PATH: " from a message that names its file, since the line names it already.</summary>
    private static string Strip(string path, string message) =>
        message.StartsWith(path + ": ", StringComparison.Ordinal) ? message[(path.Length + 2)..] : message;

    /// <param name="Kind">For a file that is not what the log keeps under its name, what it is.</param>
    private sealed record Problem(bool IsError, string File, long? Offset, ulong? Position, string Text, FileKind? Kind = null)
    {
        public override string ToString()
        {
            var where = Offset is { } offset
                ? $" at offset {offset}, " + (Position is { } position ? $"position {position}" : "position unknown")
                : string.Empty;
            return $"{(IsError ? "ERROR  " : "WARNING")} {File}{where}: {Text}";
        }
    }
}
