using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Log;
using Aurora.Storage.Snapshots;

namespace Aurora.Scheduler.Persistence;

/// <summary>Which point of the log's history to rebuild.</summary>
public abstract record ReplayTarget
{
    public static ReplayTarget Latest { get; } = new LatestTarget();

    public static ReplayTarget AtPosition(ulong position) => new PositionTarget(position);

    public static ReplayTarget AtTime(DateTimeOffset time) => new TimeTarget(time);

    private protected ReplayTarget()
    {
    }

    internal sealed record LatestTarget : ReplayTarget;

    /// <summary>Everything up to and including the entry at <see cref="Position"/>.</summary>
    internal sealed record PositionTarget(ulong Position) : ReplayTarget;

    /// <summary>Every entry committed at or before <see cref="Time"/> (replay stops at the first later entry).</summary>
    internal sealed record TimeTarget(DateTimeOffset Time) : ReplayTarget;
}

/// <summary>A rebuilt state and how it was reached.</summary>
public sealed record ReplayResult(
    SchedulerState State,
    ulong AppliedPosition,
    long AppliedTimeMicros,
    SnapshotInfo? Snapshot,
    long EntriesReplayed,
    long EventsReplayed,
    IReadOnlyList<SnapshotProblem> SkippedSnapshots);

/// <summary>
/// Rebuilds the projections at a point of the log: the newest usable snapshot at or before it, then
/// the log entries after the snapshot, each through the one Apply.
/// </summary>
/// <remarks>Reads only; safe on a live log (it sees a consistent durable prefix).</remarks>
public static class StateReplayer
{
    /// <exception cref="ReplayUnavailableException">The point cannot be rebuilt from what is retained.</exception>
    /// <exception cref="EventApplyException">An entry cannot be applied (divergence, or a newer version's events).</exception>
    public static ReplayResult Replay(SegmentedLog log, SnapshotStore? snapshots, ReplayTarget target)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(target);
        var last = log.LastDurablePosition;
        var limit = target switch
        {
            ReplayTarget.PositionTarget p when p.Position > last =>
                throw new ReplayUnavailableException($"position {p.Position} is beyond the end of the log ({last})"),
            ReplayTarget.PositionTarget p => p.Position,
            _ => last,
        };
        var until = target is ReplayTarget.TimeTarget t ? Micros.Of(t.Time) : long.MaxValue;

        var skipped = new List<SnapshotProblem>();
        var (start, snapshot) = StartingPoint(log, snapshots, limit, until, skipped);
        var state = start;
        var position = snapshot?.Position ?? 0;
        var time = snapshot is null ? 0 : Micros.Of(snapshot.CreatedAt);
        if (position + 1 < log.FirstRetainedPosition && position < limit)
        {
            throw new ReplayUnavailableException(
                $"the log before position {log.FirstRetainedPosition} was truncated and no retained snapshot covers position {position + 1}");
        }

        long entries = 0;
        long events = 0;
        if (position < limit)
        {
            foreach (var entry in log.Read(position + 1, limit))
            {
                if (entry.TimestampMicros > until)
                {
                    break;
                }

                var transaction = TransactionCodec.ApplyTo(state, entry);
                position = entry.Position;
                time = entry.TimestampMicros;
                entries++;
                events += transaction?.Events.Count ?? 0;
            }
        }

        if (target is ReplayTarget.TimeTarget && snapshot is null && entries == 0 && log.FirstRetainedPosition > 1)
        {
            throw new ReplayUnavailableException("no retained snapshot or log entry is that old");
        }

        return new ReplayResult(state, position, time, snapshot, entries, events, skipped);
    }

    /// <summary>The newest readable snapshot at or before the target, or an empty state.</summary>
    internal static (SchedulerState State, SnapshotInfo? Info) StartingPoint(
        SegmentedLog log, SnapshotStore? snapshots, ulong limit, long until, List<SnapshotProblem> skipped)
    {
        if (snapshots is null)
        {
            return (new SchedulerState(), null);
        }

        foreach (var info in snapshots.List())
        {
            if (info.Position > limit || !CoversTime(log, info, until))
            {
                continue;
            }

            if (info.BlobType != SchedulerState.SnapshotBlobType)
            {
                skipped.Add(new SnapshotProblem(info.Path, $"holds '{info.BlobType}', not '{SchedulerState.SnapshotBlobType}'"));
                continue;
            }

            try
            {
                var blob = snapshots.Read(info.Path).Blob;
                return (SchedulerState.FromSnapshot(SchedulerSnapshot.Parser.ParseFrom(blob)), info);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or Google.Protobuf.InvalidProtocolBufferException)
            {
                // An older snapshot plus a longer tail gives the same state; use it if the log allows.
                skipped.Add(new SnapshotProblem(info.Path, e.Message));
            }
        }

        return (new SchedulerState(), null);
    }

    /// <summary>Whether the snapshot's state existed by <paramref name="until"/>: its last entry is that old.</summary>
    private static bool CoversTime(SegmentedLog log, SnapshotInfo info, long until)
    {
        if (until == long.MaxValue || info.Position == 0)
        {
            return true;
        }

        if (info.Position >= log.FirstRetainedPosition && info.Position <= log.LastDurablePosition)
        {
            foreach (var entry in log.Read(info.Position, info.Position))
            {
                return entry.TimestampMicros <= until;
            }
        }

        // The entry is gone; the snapshot was taken after it, so its creation time bounds it.
        return Micros.Of(info.CreatedAt) <= until;
    }
}
