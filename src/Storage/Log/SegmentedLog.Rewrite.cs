using System.Diagnostics;
using Aurora.Storage.IO;

namespace Aurora.Storage.Log;

/// <summary>
/// What replication needs besides appending: discarding a conflicting suffix, and resetting the log
/// to continue after an installed snapshot. Both run on the writer thread, in queue order with appends.
/// </summary>
public sealed partial class SegmentedLog
{
    // How many discards a read remembers when it checks whether its entries were discarded under it.
    private const int DiscardHistory = 32;

    // Serializes whatever removes segment files: TruncatePrefix (caller's thread) against suffix
    // truncation and reset (writer thread). Never taken inside _lock.
    private readonly object _maintenance = new();

    // Discards of entries, newest last (guarded by _lock; _discardEpoch also read without it):
    // a read compares the epoch it was planned in with the current one.
    private readonly Queue<(ulong Epoch, ulong LastKept)> _discards = new();
    private ulong _discardEpoch;

    /// <summary>
    /// Removes every entry after <paramref name="lastKept"/>: the uncommitted entries a new leader
    /// overwrites. Completes once the removal is durable.
    /// </summary>
    /// <remarks>
    /// <para>Ordered with appends: it runs on the writer thread in the order it was called, so an
    /// append queued before it is written (or fails) first, and removed if it lies after
    /// <paramref name="lastKept"/>; an append queued after it gets position <c>lastKept + 1</c>
    /// (the log's positions continue from <paramref name="lastKept"/> as soon as this is queued, see
    /// <see cref="LastAssignedPosition"/>). Appends after it must not have a lower term than the
    /// entry at <paramref name="lastKept"/>.</para>
    /// <para>Crash safety: once the task has completed, no crash brings a removed entry back.
    /// Should the machine crash before, the log reopens as the old log or as a prefix of it that
    /// ends at or after <paramref name="lastKept"/> (whole later segments are deleted newest first,
    /// each deletion made durable on its own, then the segment holding the cut is shrunk to it with
    /// ftruncate and fdatasync, which a crash keeps whole or not at all); never as anything
    /// corrupt. Nothing was acknowledged about the entries after <paramref name="lastKept"/> by this
    /// call, so such a prefix undoes no acknowledged truncation: the caller repeats the truncation.
    /// The shrunk segment is then zero-filled again up to its size, so that later appends stay
    /// metadata-free (that costs a write of up to one segment size, <see cref="LogOptions.SegmentSize"/>).</para>
    /// <para>Failures: an I/O error before anything changed on disk (reading the segment to find
    /// the cut) fails this call and everything queued after it, and leaves the log as it was; any
    /// I/O error after is fatal (<see cref="LogOptions.OnFatalError"/>), and a restart recovers one
    /// of the states above. A read that overlaps the removed entries while this runs throws
    /// <see cref="PositionDiscardedException"/>.</para>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="lastKept"/> is below <see cref="FirstRetainedPosition"/> - 1 (what the log no
    /// longer holds cannot be kept), or beyond <see cref="LastAssignedPosition"/> (there is no such
    /// entry), or below where a reset queued before it leaves the log. Thrown at once; the task
    /// also fails with it if prefix truncation (or a queued reset) removed <paramref name="lastKept"/>
    /// before the writer came to it, and so does everything queued after it.
    /// </exception>
    public Task TruncateSuffixAsync(ulong lastKept, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        cancellationToken.ThrowIfCancellationRequested();
        var request = new RewriteRequest(RewriteKind.TruncateSuffix, lastKept, 0);
        lock (_lock)
        {
            ThrowIfUnusable();
            if (lastKept + 1 < _firstRetainedPosition)
            {
                throw new ArgumentOutOfRangeException(nameof(lastKept), lastKept,
                    $"cannot truncate the log at {_options.Directory} to position {lastKept}: it retains positions from {_firstRetainedPosition} on, so the lowest it can keep up to is {_firstRetainedPosition - 1}");
            }

            if (lastKept + 1 < _assignedTerms.Start)
            {
                throw new ArgumentOutOfRangeException(nameof(lastKept), lastKept,
                    $"cannot truncate the log at {_options.Directory} to position {lastKept}: a reset queued before this call leaves it starting after position {_assignedTerms.Start}");
            }

            if (lastKept > _lastAssignedPosition)
            {
                throw new ArgumentOutOfRangeException(nameof(lastKept), lastKept,
                    $"cannot truncate the log at {_options.Directory} to position {lastKept}: it ends at position {_lastAssignedPosition}");
            }

            _assignedTerms.TruncateAfter(lastKept);
            _lastAssignedPosition = lastKept;
            _lastAssignedTerm = _assignedTerms.IsEmpty ? 0 : _assignedTerms.LastTerm;
            Enqueue(request);
        }

        RunQueuedOnCallingThread();
        return request.Completion.Task;
    }

    /// <summary>
    /// Discards every entry and makes the log continue at <paramref name="position"/> + 1, knowing
    /// that the entry at <paramref name="position"/> had <paramref name="term"/>: for a follower that
    /// installs a snapshot taken at <paramref name="position"/>. Completes once that is durable.
    /// </summary>
    /// <remarks>
    /// <para>Afterwards <see cref="FirstRetainedPosition"/> is <c>position + 1</c>,
    /// <see cref="LastDurablePosition"/> is <paramref name="position"/>, <see cref="LastDurableTerm"/>
    /// and <see cref="TermAt"/>(<paramref name="position"/>) are <paramref name="term"/>, and appends
    /// continue at <c>position + 1</c> with terms of at least <paramref name="term"/>. The position
    /// may lie anywhere, below, inside or beyond what the log held. Ordered with appends as
    /// <see cref="TruncateSuffixAsync"/> is. Write the snapshot durably before calling this: the
    /// log no longer holds what it replaces.</para>
    /// <para>Crash safety: all or nothing. The new, empty segment (whose header carries
    /// <paramref name="term"/> as the previous term) is written and synced under a name of its own,
    /// <c>reset-&lt;position + 1&gt;.log</c>; renaming it into place and syncing the directory is
    /// the commit point. Before it, a crash leaves the old log; after it, the reset file is the whole
    /// log: the old segments are deleted, it is renamed to its segment name, and a crash part-way
    /// through that is finished when the log is next opened for writing (a read-only open reads the
    /// reset file alone). So the log reopens either as it was or as the new log, never in between.</para>
    /// <para>Failures: an I/O error before the commit point fails this call and everything queued
    /// after it and leaves the log as it was; after it, any I/O error is fatal.</para>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">Position 0 with a term other than 0 (position 0 has term 0).</exception>
    public Task ResetAsync(ulong position, ulong term, CancellationToken cancellationToken = default)
    {
        ThrowIfReadOnly();
        cancellationToken.ThrowIfCancellationRequested();
        if (position == 0 && term != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(term), term, "position 0 has term 0; reset to position 0 only with term 0");
        }

        if (position == ulong.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, "the log must be able to continue after the position");
        }

        var request = new RewriteRequest(RewriteKind.Reset, position, term);
        lock (_lock)
        {
            ThrowIfUnusable();
            _assignedTerms.Reset(position, term);
            _lastAssignedPosition = position;
            _lastAssignedTerm = term;
            Enqueue(request);
        }

        RunQueuedOnCallingThread();
        return request.Completion.Task;
    }

    /// <summary>Queues a request for the writer thread (under <see cref="_lock"/>).</summary>
    private void Enqueue(WriteRequest request)
    {
        _queue.Enqueue(request);
        _queuedCount = _queue.Count;
        if (_queue.Count == 1)
        {
            Monitor.Pulse(_lock);
        }
    }

    /// <summary>
    /// Runs a truncation or reset on the writer thread. Returns false after a failure, which failed
    /// it and every request after it in <paramref name="group"/> and in the queue.
    /// </summary>
    private bool Rewrite(List<WriteRequest> group, int index, RewriteRequest request)
    {
        try
        {
            lock (_maintenance)
            {
                if (request.Kind == RewriteKind.TruncateSuffix)
                {
                    TruncateSuffixNow(request.Position);
                }
                else
                {
                    ResetNow(request.Position, request.Term);
                }
            }
        }
        catch (FatalWriteException fatal)
        {
            FailFatally(group, index, fatal.InnerException!);
            return false;
        }
        catch (Exception e) when (e is IOException or ArgumentOutOfRangeException)
        {
            // Nothing changed on disk (every error after the first change is fatal): the log is as it
            // was, and what was queued behind this assumed otherwise, so it fails too.
            var what = request.Kind == RewriteKind.TruncateSuffix ? $"truncating it to position {request.Position}" : $"resetting it to position {request.Position}";
            LogMessages.RewriteFailed(_logger, e, what, e.Message);
            var behind = new IOException($"the log at {_options.Directory} did not take this request: {what}, queued before it, failed: {e.Message}", e);
            FailQueuedAndRewind(behind);
            request.Completion.TrySetException(e is IOException ? new IOException($"{what} failed, and the log at {_options.Directory} is unchanged: {e.Message}", e) : e);
            FailRequests(group, index + 1, behind);
            return false;
        }

        request.Completion.TrySetResult(request.Position);
        return true;
    }

    /// <summary>The writer thread's half of <see cref="TruncateSuffixAsync"/> (under <see cref="_maintenance"/>).</summary>
    private void TruncateSuffixNow(ulong lastKept)
    {
        Segment target;
        List<Segment> later;
        lock (_lock)
        {
            if (lastKept + 1 < _firstRetainedPosition)
            {
                throw new ArgumentOutOfRangeException(nameof(lastKept), lastKept,
                    $"cannot truncate the log at {_options.Directory} to position {lastKept}: a prefix truncation or a reset removed it meanwhile (the first retained position is {_firstRetainedPosition})");
            }

            Debug.Assert(lastKept <= _lastDurablePosition, "everything queued before the truncation was written");
            if (lastKept >= _lastDurablePosition)
            {
                return;
            }

            // The segment the log will end in: the last one starting at or before lastKept + 1
            // (so a segment that starts right after lastKept is kept, emptied).
            var at = _segments.FindLastIndex(s => s.FirstPosition <= lastKept + 1);
            target = _segments[at];
            later = _segments.GetRange(at + 1, _segments.Count - at - 1);
        }

        // Found before anything changes, so that a read error here leaves the log untouched.
        var cut = lastKept + 1 == target.FirstPosition ? target.Format.DataStart : FindEntryOffset(target, lastKept + 1);
        lock (_lock)
        {
            RecordDiscard(lastKept);
            _segments.RemoveRange(_segments.Count - later.Count, later.Count);
            target.LastPosition = lastKept;
            target.DataEnd = cut;
            target.DirtyEnd = 0;
            target.Index.RemoveAll(e => e.Position > lastKept);
            _durableTerms.TruncateAfter(lastKept);
            _lastDurablePosition = lastKept;
            _lastDurableTerm = _durableTerms.IsEmpty ? 0 : _durableTerms.LastTerm;
        }

        try
        {
            if (later.Count > 0)
            {
                _activeFile!.Dispose();
                _activeFile = null;

                // Newest first, each durable before the next: a crash leaves a contiguous prefix.
                for (var i = later.Count - 1; i >= 0; i--)
                {
                    _fs.DeleteFile(later[i].Path);
                    _fs.SyncDirectory(_options.SegmentDirectory);
                }

                _activeFile = _fs.OpenFile(target.Path, FileOpenMode.ReadWriteExisting);
            }

            // ftruncate is atomic across a crash, where zeroing the records in place is not: a crash
            // part-way could leave a damaged record followed by an intact group start, which opening
            // the log must call corruption (see SegmentScanner).
            _activeFile!.SetLength(cut);
            _activeFile.DataSync();
        }
        catch (IOException e)
        {
            throw new FatalWriteException(e);
        }

        LogMessages.SuffixTruncated(_logger, lastKept, later.Count);
        try
        {
            _activeFile.WriteZeros(cut, target.Capacity);
        }
        catch (IOException e)
        {
            // The truncation is durable already; appends grow the file as they go (with slower
            // fdatasyncs) and the next open zero-fills it. An fdatasync failure below is still fatal.
            LogMessages.PreallocationFailed(_logger, e, target.Path, e.Message);
            return;
        }

        DataSyncOrFatal(_activeFile);
    }

    /// <summary>Where the first record of the entry at <paramref name="position"/> starts in <paramref name="segment"/>.</summary>
    private long FindEntryOffset(Segment segment, ulong position)
    {
        using var file = _fs.OpenFile(segment.Path, FileOpenMode.ReadExisting);
        var scanner = new SegmentScanner(file, segment.Format, segment.SeekOffset(position), segment.DataEnd);
        while (true)
        {
            var result = scanner.Next();
            if (result.Outcome != ScanOutcome.Record || result.Header.Position > position)
            {
                throw new LogCorruptedException(segment.Path, result.Offset, position,
                    $"the start of position {position}, where the log was to be truncated, is not where the index says: {result.Problem ?? "no such record"}");
            }

            if (result.Header.Position == position && result.Header.ChunkIndex == 0)
            {
                return result.Offset;
            }
        }
    }

    /// <summary>The writer thread's half of <see cref="ResetAsync"/> (under <see cref="_maintenance"/>).</summary>
    private void ResetNow(ulong position, ulong term)
    {
        var directory = _options.SegmentDirectory;
        var resetPath = Path.Combine(directory, Segment.ResetFileName(position + 1));
        var prepared = TakePreparedSegment();
        SegmentFormat format;
        try
        {
            format = StampSegment(prepared, position + 1, term);
            _fs.Rename(prepared, resetPath);
        }
        catch (IOException)
        {
            _nextSegment = PrepareNextSegmentAsync();
            throw;
        }

        List<Segment> old;
        try
        {
            // The commit point: from here on the reset file is the log, also after a crash.
            _fs.SyncDirectory(directory);
        }
        catch (IOException e)
        {
            throw new FatalWriteException(e);
        }

        var path = Path.Combine(directory, Segment.FileName(position + 1));
        lock (_lock)
        {
            RecordDiscard(0);
            old = [.. _segments];
            _segments.Clear();
            _segments.Add(new Segment(path, position + 1, _options.SegmentSize, term, format));
            _firstRetainedPosition = position + 1;
            _durableTerms.Reset(position, term);
            _lastDurablePosition = position;
            _lastDurableTerm = term;
        }

        try
        {
            _activeFile?.Dispose();
            _activeFile = null;
            FinishReset(_fs, directory, resetPath, position + 1);
            _activeFile = _fs.OpenFile(path, FileOpenMode.ReadWriteExisting);
        }
        catch (IOException e)
        {
            throw new FatalWriteException(e);
        }

        _nextSegment = PrepareNextSegmentAsync();
        LogMessages.LogReset(_logger, position, term, old.Count);
    }

    /// <summary>
    /// After a reset's commit point: deletes every segment, then renames the reset file to its
    /// segment name, each step made durable. Idempotent, so a crash part-way is finished on open.
    /// </summary>
    private static void FinishReset(IFileSystem fs, string directory, string resetPath, ulong first)
    {
        foreach (var (_, path) in Segment.ListFiles(fs, directory))
        {
            fs.DeleteFile(path);
        }

        fs.SyncDirectory(directory);
        fs.Rename(resetPath, Path.Combine(directory, Segment.FileName(first)));
        fs.SyncDirectory(directory);
    }

    /// <summary>
    /// The reset file an interrupted reset left, checked; null when there is none. While it exists
    /// it is the whole log: the segments beside it were to be deleted.
    /// </summary>
    private static (ulong First, string Path)? FindInterruptedReset(IFileSystem fs, string directory)
    {
        var resets = Segment.ListResetFiles(fs, directory);
        if (resets.Count == 0)
        {
            return null;
        }

        if (resets.Count > 1)
        {
            throw new LogCorruptedException(resets[1].Path, 0, null,
                $"two reset files ({Path.GetFileName(resets[0].Path)} and {Path.GetFileName(resets[1].Path)}): the log writes one at a time, so it cannot tell which reset is the last; move the directory aside and rebuild the replica from its peers");
        }

        var (first, path) = resets[0];
        using var file = fs.OpenFile(path, FileOpenMode.ReadExisting);
        if (SegmentHeader.Check(file, first, out _, out _) is { } problem)
        {
            throw new LogCorruptedException(path, 0, first, problem);
        }

        return resets[0];
    }

    /// <summary>Notes that entries after <paramref name="lastKept"/> are being discarded (under <see cref="_lock"/>).</summary>
    private void RecordDiscard(ulong lastKept)
    {
        Volatile.Write(ref _discardEpoch, _discardEpoch + 1);
        _discards.Enqueue((_discardEpoch, lastKept));
        if (_discards.Count > DiscardHistory)
        {
            _discards.Dequeue();
        }
    }

    /// <summary>
    /// Throws <see cref="PositionDiscardedException"/> if a discard since <paramref name="epoch"/>
    /// (when a read was planned) removed <paramref name="position"/>, so that what the read found
    /// there may be gone or replaced. Cheap when nothing was discarded.
    /// </summary>
    private void ThrowIfDiscarded(ulong epoch, ulong position)
    {
        if (Volatile.Read(ref _discardEpoch) == epoch)
        {
            return;
        }

        lock (_lock)
        {
            // Forgotten history counts as a discard of everything.
            var lowestKept = _discards.Count == 0 || _discards.Peek().Epoch > epoch + 1 ? 0 : ulong.MaxValue;
            foreach (var (discardEpoch, lastKept) in _discards)
            {
                if (discardEpoch > epoch)
                {
                    lowestKept = Math.Min(lowestKept, lastKept);
                }
            }

            if (position > lowestKept)
            {
                throw new PositionDiscardedException(position);
            }
        }
    }

    private enum RewriteKind
    {
        TruncateSuffix,
        Reset,
    }

    /// <summary>A suffix truncation (to <see cref="Position"/>) or a reset (to <see cref="Position"/> of <see cref="Term"/>).</summary>
    private sealed class RewriteRequest(RewriteKind kind, ulong position, ulong term) : WriteRequest
    {
        public RewriteKind Kind { get; } = kind;

        public ulong Position { get; } = position;

        public ulong Term { get; } = term;
    }
}
