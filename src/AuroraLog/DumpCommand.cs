using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;

namespace Aurora.LogTool;

/// <summary>
/// <c>aurora-log dump --path=DIR [--from=POS] [--to=POS] [filters] [--json] [--verbose]</c>: for
/// audits, one line per scheduler event (one per entry for payloads that are not scheduler
/// transactions). Reads through <see cref="SegmentedLog.Read"/> on a read-only open, so it is safe on a live log.
/// Refuses, before printing anything, a log directory holding a file it cannot account for or a damaged replica.meta.
/// </summary>
internal static class DumpCommand
{
    private static readonly FlagSpec FromFlag = new("from", "first position to print", "POS", "the first retained position");
    private static readonly FlagSpec ToFlag = new("to", "last position to print", "POS", "the last durable position");
    private static readonly FlagSpec JobFlag = new("job", "only events about this job: its key, its updates, or one of its tasks", "ROLE/ENV/NAME");
    private static readonly FlagSpec RoleFlag = new("role", "only events about this role's jobs, tasks, updates and quota", "ROLE");
    private static readonly FlagSpec PrincipalFlag = new("principal", "only entries written by this principal (a user, or 'scheduler')", "NAME");
    private static readonly FlagSpec SinceFlag = new("since", "only entries written at or after TIME (ISO-8601, e.g. 2026-01-01T00:00:00Z, or a date; UTC)", "TIME");
    private static readonly FlagSpec UntilFlag = new("until", "only entries written at or before TIME", "TIME");
    private static readonly FlagSpec VerboseFlag = new("verbose", "text: add each event's whole content as JSON (fields=...)");

    public static Command Command { get; } = new(
        "dump",
        "Print the log for audits: one line per scheduler event (position, time (UTC), principal, event type, fields), "
        + "one line per entry for other payloads. Filters are ANDed. Read-only; safe on a live log.",
        [LogDirectory.PathFlag, FromFlag, ToFlag, JobFlag, RoleFlag, PrincipalFlag, SinceFlag, UntilFlag,
            new FlagSpec("json", "print one JSON object per event (JSON Lines)"), VerboseFlag],
        Run);

    private static int Run(ParsedFlags flags, ToolContext context)
    {
        var from = flags.GetUInt64(FromFlag.Name);
        var to = flags.GetUInt64(ToFlag.Name);
        if (from == 0 || to == 0)
        {
            throw new UsageException($"positions start at 1; got --{(from == 0 ? FromFlag.Name : ToFlag.Name)}=0");
        }

        if (from > to)
        {
            throw new UsageException($"--from={from} is after --to={to}");
        }

        var filter = ParseFilter(flags);
        var directory = LogDirectory.RequireExisting(flags, context, "dump");
        LogDirectory.RequireSound(directory, context);
        var json = flags.GetSwitch(LogDirectory.JsonFlag.Name);
        var verbose = flags.GetSwitch(VerboseFlag.Name);
        using var log = SegmentedLog.Open(LogDirectory.ReadOnlyLog(directory, context));
        var start = from ?? log.FirstRetainedPosition;
        var tasks = new TaskJobs();
        if (filter.NeedsTaskJobs)
        {
            SeedTaskJobs(tasks, log, directory, start, context);
        }

        foreach (var entry in log.Read(start, to ?? ulong.MaxValue))
        {
            var transaction = TryDecode(entry, out var error);
            if (transaction is null)
            {
                if (filter.MatchesOpaque(entry))
                {
                    context.Out.WriteLine(json ? Json(entry, context.Formatter, error) : Text(entry, context.Formatter, error));
                }

                continue;
            }

            var entryMatches = filter.MatchesEntry(entry);
            foreach (var e in transaction.Events)
            {
                tasks.Observe(e);
                if (entryMatches && filter.MatchesEvent(e, tasks))
                {
                    context.Out.WriteLine(json ? EventJson(entry, e) : EventText(entry, e, verbose));
                }
            }
        }

        return ExitCodes.Ok;
    }

    internal static EventFilter ParseFilter(ParsedFlags flags)
    {
        JobKey? job = null;
        if (flags.GetString(JobFlag.Name) is { } jobText)
        {
            job = JobKeys.TryParse(jobText, out var key, out var problem)
                ? key
                : throw new UsageException($"--job={jobText} is not a job key ROLE/ENV/NAME: {problem}");
        }

        var role = flags.GetString(RoleFlag.Name);
        if (role is not null && !JobKeys.IsGoodIdentifier(role))
        {
            throw new UsageException($"--role={role} is not a role: it must be {JobKeys.IdentifierRule}");
        }

        if (job is not null && role is not null && job.Role != role)
        {
            throw new UsageException($"--job={job.Canonical()} is not a job of --role={role}, so nothing could match");
        }

        var since = flags.GetString(SinceFlag.Name) is { } sinceText ? TimeArgument.Parse(SinceFlag.Name, sinceText) : (DateTimeOffset?)null;
        var until = flags.GetString(UntilFlag.Name) is { } untilText ? TimeArgument.Parse(UntilFlag.Name, untilText) : (DateTimeOffset?)null;
        if (since > until)
        {
            throw new UsageException($"--since={flags.GetString(SinceFlag.Name)} is after --until={flags.GetString(UntilFlag.Name)}");
        }

        return new EventFilter(
            job,
            role,
            flags.GetString(PrincipalFlag.Name),
            since is { } s ? Aurora.Scheduler.Model.Micros.Of(s) : null,
            until is { } u ? Aurora.Scheduler.Model.Micros.Of(u) : null);
    }

    /// <summary>
    /// Learns the jobs of tasks created before <paramref name="start"/>: after truncation their
    /// TasksCreated events are gone, and task ids cannot be parsed reliably. Best is the state just
    /// before the scan (newest snapshot at or before it, then the log in between); when the log
    /// before the scan is truncated and no snapshot is that old, the oldest later snapshot, which
    /// knows every task still in the store at its position.
    /// </summary>
    private static void SeedTaskJobs(TaskJobs tasks, SegmentedLog log, string directory, ulong start, ToolContext context)
    {
        var before = Math.Min(start - 1, log.LastDurablePosition);
        if (before == 0 || start < log.FirstRetainedPosition)
        {
            // Nothing precedes the scan, or the read fails with the truncation error anyway.
            return;
        }

        var snapshots = LogDirectory.Snapshots(directory, context);
        Exception problem;
        try
        {
            tasks.Seed(StateReplayer.Replay(log, snapshots, ReplayTarget.AtPosition(before), LogDirectory.Decoding).State);
            return;
        }
        catch (Exception e) when (e is ReplayUnavailableException or EventApplyException or InvalidDataException or IOException)
        {
            problem = e;
        }

        foreach (var info in snapshots.List().Where(s => s.Position > before && s.BlobType == SchedulerState.SnapshotBlobType).OrderBy(s => s.Position))
        {
            try
            {
                tasks.Seed(SchedulerState.FromSnapshot(snapshots.Read(info.Path).Blob));
                return;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or Google.Protobuf.InvalidProtocolBufferException)
            {
                problem = e;
            }
        }

        // The dump is still worth having; say which events it may leave out.
        context.Error.WriteLine(
            $"{Program.Name}: warning: cannot tell the jobs of tasks created before position {start} "
            + $"({problem.Message.ReplaceLineEndings(" ").Trim()}); --job and --role leave out events that name only such tasks");
    }

    /// <summary>The entry's scheduler transaction, or null for any other payload (then <paramref name="error"/> says why when it claims to be one).</summary>
    private static Transaction? TryDecode(LogEntry entry, out string? error)
    {
        error = null;
        if (entry.Payload?.TypeUrl != TransactionCodec.TypeUrl)
        {
            return null;
        }

        try
        {
            return TransactionCodec.Decode(entry);
        }
        catch (EventApplyException e)
        {
            error = e.Message;
            return null;
        }
    }

    internal static string EventText(LogEntry entry, Event e, bool verbose)
    {
        var fields = EventFormatter.Fields(e, verbose);
        return $"position={entry.Position} time={LogDirectory.FormatMicros(entry.TimestampMicros)} "
            + $"principal={EventFormatter.Quote(entry.Principal)} event={EventFormatter.TypeName(e)}{(fields.Length > 0 ? " " + fields : string.Empty)}";
    }

    internal static string EventJson(LogEntry entry, Event e) => LogDirectory.Json(
        w =>
        {
            w.WriteStartObject();
            w.WriteNumber("position", entry.Position);
            w.WriteString("time", LogDirectory.FormatMicros(entry.TimestampMicros));
            w.WriteString("principal", entry.Principal);
            w.WriteString("event", EventFormatter.TypeName(e));
            w.WritePropertyName("fields");
            EventFormatter.WriteJson(w, e);
            w.WriteEndObject();
        },
        indented: false);

    internal static string Text(LogEntry entry, IPayloadFormatter formatter, string? error = null) =>
        $"position={entry.Position} term={entry.Term} time={LogDirectory.FormatMicros(entry.TimestampMicros)} "
        + $"principal={EventFormatter.Quote(entry.Principal)} type={EventFormatter.Quote(entry.Payload?.TypeUrl ?? string.Empty)} content={formatter.FormatText(entry.Payload)}"
        + (error is null ? string.Empty : $" error={EventFormatter.Quote(error)}");

    internal static string Json(LogEntry entry, IPayloadFormatter formatter, string? error = null) => LogDirectory.Json(
        w =>
        {
            w.WriteStartObject();
            w.WriteNumber("position", entry.Position);
            w.WriteNumber("term", entry.Term);
            w.WriteString("time", LogDirectory.FormatMicros(entry.TimestampMicros));
            w.WriteString("principal", entry.Principal);
            w.WriteString("type", entry.Payload?.TypeUrl ?? string.Empty);
            w.WritePropertyName("content");
            formatter.WriteJson(w, entry.Payload);
            if (error is not null)
            {
                w.WriteString("error", error);
            }

            w.WriteEndObject();
        },
        indented: false);
}
