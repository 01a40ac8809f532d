using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
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

/// <summary>Where <see cref="StateReplayer.Replay"/> decodes the log's transactions.</summary>
public enum ReplayDecoding
{
    /// <summary>On the replaying thread, each entry just before it is applied: one core.</summary>
    InLine,

    /// <summary>
    /// On a second thread, a few hundred entries ahead of the thread applying them: about 40% of
    /// replay is decoding, so with two cores the fold waits only for Apply (and the collector).
    /// </summary>
    Ahead,
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
    public static ReplayResult Replay(SegmentedLog log, SnapshotStore? snapshots, ReplayTarget target, ReplayDecoding decoding = ReplayDecoding.InLine)
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
            var decoded = decoding == ReplayDecoding.Ahead
                ? DecodeAhead(log, position + 1, limit, until)
                : DecodeInLine(log, position + 1, limit);
            foreach (var (entry, transaction) in decoded)
            {
                if (entry.TimestampMicros > until)
                {
                    break;
                }

                if (transaction is not null)
                {
                    state.Apply(TransactionCodec.Info(entry), transaction);
                    events += transaction.Events.Count;
                }

                position = entry.Position;
                time = entry.TimestampMicros;
                entries++;
            }
        }

        if (target is ReplayTarget.TimeTarget && snapshot is null && entries == 0 && log.FirstRetainedPosition > 1)
        {
            throw new ReplayUnavailableException("no retained snapshot or log entry is that old");
        }

        return new ReplayResult(state, position, time, snapshot, entries, events, skipped);
    }

    /// <summary>How many entries the decoding thread hands over at a time, and how many such batches it may be ahead.</summary>
    private const int DecodeBatch = 64;
    private const int DecodeBatchesAhead = 8;

    /// <summary>Each entry of <paramref name="from"/>..<paramref name="to"/> with its transaction (null for a term start), decoded as it is reached.</summary>
    private static IEnumerable<(LogEntry Entry, Transaction? Transaction)> DecodeInLine(SegmentedLog log, ulong from, ulong to)
    {
        foreach (var entry in log.Read(from, to))
        {
            yield return (entry, TransactionCodec.IsTermStart(entry) ? null : TransactionCodec.Decode(entry));
        }
    }

    /// <summary>
    /// What <see cref="DecodeInLine"/> yields, read and decoded on a second thread. A failure there
    /// (a damaged record, a transaction that does not decode) is thrown here, after every entry
    /// before it, as the one-thread replay would throw it.
    /// </summary>
    /// <remarks>
    /// The log is read by the decoding thread alone, and that thread has stopped by the time the
    /// enumeration ends, however it ends (the last entry, a <c>break</c> at the time limit, or an
    /// exception), so the caller may use the log again at once. It stops reading after the first
    /// entry later than <paramref name="until"/>, which the replay loop stops at.
    /// </remarks>
    private static IEnumerable<(LogEntry Entry, Transaction? Transaction)> DecodeAhead(SegmentedLog log, ulong from, ulong to, long until)
    {
        using var queue = new BlockingCollection<Decoded[]>(DecodeBatchesAhead);
        using var stop = new CancellationTokenSource();
        var decoder = Task.Factory.StartNew(() => Decode(log, from, to, until, queue, stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            foreach (var batch in queue.GetConsumingEnumerable())
            {
                foreach (var item in batch)
                {
                    item.Failure?.Throw();
                    yield return (item.Entry!, item.Transaction);
                }
            }
        }
        finally
        {
            stop.Cancel();
            decoder.GetAwaiter().GetResult();
        }

        static void Decode(SegmentedLog log, ulong from, ulong to, long until, BlockingCollection<Decoded[]> queue, CancellationToken stop)
        {
            var batch = new List<Decoded>(DecodeBatch);
            try
            {
                try
                {
                    foreach (var entry in log.Read(from, to))
                    {
                        Decoded item;
                        try
                        {
                            item = new Decoded(entry, TransactionCodec.IsTermStart(entry) ? null : TransactionCodec.Decode(entry), null);
                        }
                        catch (Exception e) when (e is EventApplyException or UnknownPayloadException)
                        {
                            item = new Decoded(entry, null, ExceptionDispatchInfo.Capture(e));
                        }

                        batch.Add(item);
                        if (item.Failure is not null || entry.TimestampMicros > until)
                        {
                            break;
                        }

                        if (batch.Count == DecodeBatch)
                        {
                            queue.Add([.. batch], stop);
                            batch.Clear();
                        }
                    }
                }
                catch (Exception e) when (!stop.IsCancellationRequested)
                {
                    // Reading the log failed (a damaged record): the replay throws it where it happened.
                    batch.Add(new Decoded(null, null, ExceptionDispatchInfo.Capture(e)));
                }

                if (batch.Count > 0)
                {
                    queue.Add([.. batch], stop);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The replay ended early (a break, or an exception of its own): nobody reads the rest.
            }
            finally
            {
                queue.CompleteAdding();
            }
        }
    }

    /// <summary>An entry read and decoded ahead, or the failure that ended the reading.</summary>
    private readonly record struct Decoded(LogEntry? Entry, Transaction? Transaction, ExceptionDispatchInfo? Failure);

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
