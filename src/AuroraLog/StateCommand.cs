using System.Globalization;
using System.Text.Json;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Validation;
using Aurora.Storage.Log;

namespace Aurora.LogTool;

/// <summary>
/// <c>aurora-log state --path=DIR [--at=POS|--at=TIME] [--json]</c>: what the cluster looked like at
/// a point of the log, rebuilt by <see cref="StateReplayer"/> (newest snapshot at or before the
/// point, then the log after it, through the scheduler's one Apply). Read-only; safe on a live log.
/// Refuses a log directory holding a file it cannot account for or a damaged replica.meta.
/// </summary>
internal static class StateCommand
{
    private static readonly FlagSpec AtFlag = new(
        "at", "rebuild up to and including this position, or every entry written at or before this time (ISO-8601 or a date, UTC)", "POS|TIME", "the last durable position");

    public static Command Command { get; } = new(
        "state",
        "Rebuild the scheduler's state at a position or time (snapshot + log) and show roles, jobs with task counts, quotas with usage, "
        + "locks (active updates), hosts in maintenance and the state hash. Read-only; safe on a live log.",
        [LogDirectory.PathFlag, AtFlag, LogDirectory.JsonFlag],
        Run);

    private static int Run(ParsedFlags flags, ToolContext context)
    {
        var target = ParseAt(flags.GetString(AtFlag.Name));
        var directory = LogDirectory.RequireExisting(flags, context, "state");
        var report = Gather(directory, target, context);
        context.Out.Write(flags.GetSwitch(LogDirectory.JsonFlag.Name) ? Json(report) + "\n" : Text(report));
        return ExitCodes.Ok;
    }

    /// <summary>A whole number is a position; anything else must be a time.</summary>
    internal static ReplayTarget ParseAt(string? at)
    {
        if (at is null)
        {
            return ReplayTarget.Latest;
        }

        if (at.All(char.IsAsciiDigit))
        {
            if (!ulong.TryParse(at, NumberStyles.None, CultureInfo.InvariantCulture, out var position))
            {
                throw new UsageException($"--at={at} is not a position: it is too large");
            }

            return position == 0
                ? throw new UsageException("positions start at 1; got --at=0")
                : ReplayTarget.AtPosition(position);
        }

        return TimeArgument.TryParse(at, out var time)
            ? ReplayTarget.AtTime(time)
            : throw new UsageException($"--at={at} is neither a position nor a time: use a whole number, or {TimeArgument.Syntax}");
    }

    private static Report Gather(string directory, ReplayTarget target, ToolContext context)
    {
        // The state does not depend on the metadata, but a replica whose metadata is damaged is not
        // one whose state can be vouched for: refuse, and say what to do.
        var status = InfoCommand.StatusName(LogDirectory.RequireSound(directory, context).Status);

        using var log = SegmentedLog.Open(LogDirectory.ReadOnlyLog(directory, context));
        var result = StateReplayer.Replay(log, LogDirectory.Snapshots(directory, context), target, LogDirectory.Decoding);
        var state = result.State;

        var jobs = state.JobKeys
            .OrderBy(j => j.Canonical(), StringComparer.Ordinal)
            .Select(job => new JobReport(
                job,
                state.FindCronJob(job)?.Config,
                TaskStatuses.All
                    .Select(s => (Status: s, Count: state.TasksOf(job).Count(t => t.Status == s)))
                    .Where(c => c.Count > 0)
                    .ToList()))
            .ToList();
        var quotas = state.Quotas.Keys.Concat(state.Roles)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Select(role => new QuotaReport(role, state.QuotaOf(role), QuotaCalculator.Consumption(state, role)))
            .ToList();
        var locks = state.ActiveUpdates.OrderBy(u => u.Job.Canonical(), StringComparer.Ordinal).ToList();
        var maintenance = state.Hosts
            .Where(h => h.Mode is not (MaintenanceMode.None or MaintenanceMode.Unspecified))
            .OrderBy(h => h.Host, StringComparer.Ordinal)
            .ToList();
        return new Report(
            directory,
            status,
            result,
            TimeReached(log, result),
            [.. state.Roles],
            jobs,
            quotas,
            locks,
            maintenance,
            SchedulerState.FormatHash(state.StateHash()));
    }

    /// <summary>
    /// The time of the entry at the position reached. The replayer only knows a snapshot's creation
    /// time when it replayed nothing after it; the entry, if still retained, says exactly.
    /// </summary>
    private static long? TimeReached(SegmentedLog log, ReplayResult result)
    {
        var position = result.AppliedPosition;
        if (position == 0)
        {
            return null;
        }

        if (result.EntriesReplayed == 0 && position >= log.FirstRetainedPosition && position <= log.LastDurablePosition)
        {
            foreach (var entry in log.Read(position, position))
            {
                return entry.TimestampMicros;
            }
        }

        return result.AppliedTimeMicros;
    }

    private static string Text(Report r)
    {
        var lines = new List<string>
        {
            $"Log directory:  {r.Directory}",
            $"Status:         {r.Status}",
            r.Replay.AppliedPosition == 0
                ? "Position:       0 (nothing applied: the state is empty)"
                : $"Position:       {r.Replay.AppliedPosition} ({LogDirectory.FormatMicros(r.TimeMicros!.Value)})",
            r.Replay.Snapshot is { } snapshot
                ? $"Rebuilt from:   {Path.GetFileName(snapshot.Path)} (position {snapshot.Position}, taken {LogDirectory.FormatTime(snapshot.CreatedAt)}) + {Replayed(r.Replay)}"
                : $"Rebuilt from:   the log alone, {Replayed(r.Replay)}",
        };
        lines.AddRange(r.Replay.SkippedSnapshots.Select(s => $"  skipped {Path.GetFileName(s.Path)}: {s.Problem}"));
        lines.Add($"State hash:     {r.StateHash}");
        lines.Add($"Framework id:   {(string.IsNullOrEmpty(r.Replay.State.FrameworkId) ? "none" : r.Replay.State.FrameworkId)}");
        lines.Add($"Roles:          {(r.Roles.Count == 0 ? "none" : string.Join(", ", r.Roles))}");

        lines.Add($"Jobs:           {r.Jobs.Count}");
        foreach (var job in r.Jobs)
        {
            var parts = new List<string> { job.Job.Canonical() };
            if (job.Cron is { } cron)
            {
                parts.Add($"cron={EventFormatter.Quote(cron.CronSchedule)} collision={ProtoNames.Of(cron.CronCollisionPolicy)}");
            }

            parts.Add(job.Counts.Count == 0 ? "no tasks" : string.Join(' ', job.Counts.Select(c => $"{TaskStatuses.Name(c.Status)}={c.Count}")));
            lines.Add("  " + string.Join("  ", parts));
        }

        lines.Add($"Quotas:         {r.Quotas.Count}");
        foreach (var q in r.Quotas)
        {
            lines.Add($"  {q.Role}  quota: {EventFormatter.ResourcesText(q.Quota)} | prod shared: {EventFormatter.ResourcesText(q.Usage.ProdShared)}"
                + $" | prod dedicated: {EventFormatter.ResourcesText(q.Usage.ProdDedicated)} | non-prod shared: {EventFormatter.ResourcesText(q.Usage.NonProdShared)}"
                + $" | non-prod dedicated: {EventFormatter.ResourcesText(q.Usage.NonProdDedicated)}");
        }

        lines.Add($"Locks:          {r.Locks.Count} (active updates)");
        foreach (var u in r.Locks)
        {
            lines.Add($"  {u.Job.Canonical()}  update={u.Key.Id} status={ProtoNames.Of(u.Status)} user={EventFormatter.Quote(u.User)} since={LogDirectory.FormatMicros(u.CreatedMicros)}");
        }

        lines.Add($"Maintenance:    {r.Maintenance.Count} host(s)");
        foreach (var h in r.Maintenance)
        {
            lines.Add($"  {h.Host}  {ProtoNames.Of(h.Mode)}");
        }

        return string.Join('\n', lines) + "\n";
    }

    private static string Replayed(ReplayResult r) =>
        $"{r.EntriesReplayed} {(r.EntriesReplayed == 1 ? "entry" : "entries")} ({r.EventsReplayed} {(r.EventsReplayed == 1 ? "event" : "events")}) replayed";

    private static string Json(Report r) => LogDirectory.Json(
        w =>
        {
            w.WriteStartObject();
            w.WriteString("directory", r.Directory);
            w.WriteString("status", r.Status);
            w.WriteNumber("position", r.Replay.AppliedPosition);
            if (r.TimeMicros is { } time)
            {
                w.WriteString("time", LogDirectory.FormatMicros(time));
            }
            else
            {
                w.WriteNull("time");
            }

            if (r.Replay.Snapshot is { } snapshot)
            {
                w.WriteStartObject("snapshot");
                w.WriteString("file", snapshot.Path);
                w.WriteNumber("position", snapshot.Position);
                w.WriteNumber("term", snapshot.Term);
                w.WriteString("createdAt", LogDirectory.FormatTime(snapshot.CreatedAt));
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("snapshot");
            }

            w.WriteNumber("entriesReplayed", r.Replay.EntriesReplayed);
            w.WriteNumber("eventsReplayed", r.Replay.EventsReplayed);
            w.WriteStartArray("skippedSnapshots");
            foreach (var s in r.Replay.SkippedSnapshots)
            {
                w.WriteStartObject();
                w.WriteString("file", s.Path);
                w.WriteString("problem", s.Problem);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteString("stateHash", r.StateHash);
            if (string.IsNullOrEmpty(r.Replay.State.FrameworkId))
            {
                w.WriteNull("frameworkId");
            }
            else
            {
                w.WriteString("frameworkId", r.Replay.State.FrameworkId);
            }

            w.WriteStartArray("roles");
            foreach (var role in r.Roles)
            {
                w.WriteStringValue(role);
            }

            w.WriteEndArray();
            w.WriteStartArray("jobs");
            foreach (var job in r.Jobs)
            {
                w.WriteStartObject();
                w.WriteString("job", job.Job.Canonical());
                w.WriteString("role", job.Job.Role);
                w.WriteString("environment", job.Job.Environment);
                w.WriteString("name", job.Job.Name);
                if (job.Cron is { } cron)
                {
                    w.WriteStartObject("cron");
                    w.WriteString("schedule", cron.CronSchedule);
                    w.WriteString("collisionPolicy", ProtoNames.Of(cron.CronCollisionPolicy));
                    w.WriteNumber("instances", cron.InstanceCount);
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteNull("cron");
                }

                w.WriteStartObject("tasks");
                foreach (var (status, count) in job.Counts)
                {
                    w.WriteNumber(TaskStatuses.Name(status), count);
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("quotas");
            foreach (var q in r.Quotas)
            {
                w.WriteStartObject();
                w.WriteString("role", q.Role);
                WriteResources(w, "quota", q.Quota);
                WriteResources(w, "prodShared", q.Usage.ProdShared);
                WriteResources(w, "prodDedicated", q.Usage.ProdDedicated);
                WriteResources(w, "nonProdShared", q.Usage.NonProdShared);
                WriteResources(w, "nonProdDedicated", q.Usage.NonProdDedicated);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("locks");
            foreach (var u in r.Locks)
            {
                w.WriteStartObject();
                w.WriteString("job", u.Job.Canonical());
                w.WriteString("updateId", u.Key.Id);
                w.WriteString("status", ProtoNames.Of(u.Status));
                w.WriteString("user", u.User);
                w.WriteString("since", LogDirectory.FormatMicros(u.CreatedMicros));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("maintenance");
            foreach (var h in r.Maintenance)
            {
                w.WriteStartObject();
                w.WriteString("host", h.Host);
                w.WriteString("mode", ProtoNames.Of(h.Mode));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        },
        indented: true);

    private static void WriteResources(Utf8JsonWriter w, string name, Resources r)
    {
        w.WriteStartObject(name);
        w.WriteNumber("cpus", r.NumCpus);
        w.WriteNumber("ramMb", r.RamMb);
        w.WriteNumber("diskMb", r.DiskMb);
        w.WriteEndObject();
    }

    private sealed record JobReport(JobKey Job, JobConfiguration? Cron, IReadOnlyList<(ScheduleStatus Status, int Count)> Counts);

    private sealed record QuotaReport(string Role, Resources Quota, QuotaUsage Usage);

    private sealed record Report(
        string Directory,
        string Status,
        ReplayResult Replay,
        long? TimeMicros,
        IReadOnlyList<string> Roles,
        IReadOnlyList<JobReport> Jobs,
        IReadOnlyList<QuotaReport> Quotas,
        IReadOnlyList<JobUpdateRecord> Locks,
        IReadOnlyList<HostRecord> Maintenance,
        string StateHash);
}
