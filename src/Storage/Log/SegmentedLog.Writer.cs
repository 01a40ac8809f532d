using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Aurora.Storage.IO;
using Aurora.Storage.Protos;

namespace Aurora.Storage.Log;

/// <summary>The append path: queueing, group commit, segment rolls, and failure handling.</summary>
public sealed partial class SegmentedLog
{
    /// <summary>The next segment, zero-filled ahead of time or a recycled spare, in the segment directory.</summary>
    internal const string NextSegmentFileName = "next-segment" + AtomicFile.TempSuffix;

    /// <summary>How many segments removed by prefix truncation are kept to be recycled (the rest are deleted).</summary>
    internal const int MaxSpareSegments = 4;

    /// <summary>What ends every write group in a recycled segment: an all-zero record header.</summary>
    private static readonly byte[] EndMarker = new byte[RecordHeader.Size];

    // Appends, suffix truncations and resets, in the order they were called; the writer thread runs them in that order.
    private readonly Queue<WriteRequest> _queue = new();
    private int _queuedCount;      // _queue.Count, readable without the lock while a group gathers
    private int _groupTarget;      // writer thread only: how many requests recent groups carried
    private long _lastGroupTicks;  // writer thread only: how long the last group's write + fdatasync took
    private readonly ArrayBufferWriter<byte> _groupBuffer = new(1 << 20);
    private Thread? _writerThread;
    private readonly Lock _callingThreadWriter = new();
    private bool _stopping;
    private Exception? _failure;
    private IStorageFile? _activeFile;
    private Task<string>? _nextSegment;

    /// <summary>Appends one entry; returns its position once it is durable.</summary>
    /// <remarks>
    /// A zero <see cref="LogEntry.Position"/> is assigned the next position; a non-zero one must be
    /// exactly the next (replication appends with positions chosen by the leader). A zero
    /// timestamp is set to now. Terms must not decrease.
    /// </remarks>
    public Task<ulong> AppendAsync(LogEntry entry, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return AppendAsync([entry], cancellationToken);
    }

    /// <summary>
    /// Appends entries that are acknowledged together; returns the last one's position once all are
    /// durable. Not atomic across a crash: a prefix of an unacknowledged batch may survive.
    /// </summary>
    public Task<ulong> AppendAsync(IReadOnlyList<LogEntry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            throw new ArgumentException("nothing to append", nameof(entries));
        }

        ThrowIfReadOnly();
        cancellationToken.ThrowIfCancellationRequested();
        var request = new AppendRequest(entries, assignedByLog: entries[0].Position == 0);
        var now = (_options.Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
        lock (_lock)
        {
            ThrowIfUnusable();
            var position = _lastAssignedPosition;
            var term = _lastAssignedTerm;
            foreach (var entry in entries)
            {
                position++;
                if (entry.Position != 0 && entry.Position != position)
                {
                    throw new ArgumentException($"entry position {entry.Position} is not the next position {position}", nameof(entries));
                }

                if (entry.Term < term)
                {
                    throw new ArgumentException($"entry term {entry.Term} is lower than the log's last term {term}", nameof(entries));
                }

                term = entry.Term;
            }

            for (var i = 0; i < entries.Count; i++)
            {
                entries[i].Position = _lastAssignedPosition + 1 + (ulong)i;
                if (entries[i].TimestampMicros == 0)
                {
                    entries[i].TimestampMicros = now;
                }

                _assignedTerms.Append(entries[i].Position, entries[i].Term);
            }

            _lastAssignedPosition += (ulong)entries.Count;
            _lastAssignedTerm = term;
            Enqueue(request);
        }

        // Encoded by the appending thread, outside the lock, so that many appenders encode in
        // parallel and the writer thread only copies and syncs; it waits for the encoding (see
        // AppendRequest.WaitEncoded), which takes a microsecond or so.
        request.Encode(_codec);
        RunQueuedOnCallingThread();
        return request.Completion.Task;
    }

    public void Dispose()
    {
        Thread? writer;
        lock (_lock)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            writer = _writerThread;
            Monitor.PulseAll(_lock);
        }

        writer?.Join();
        _activeFile?.Dispose();
        if (_nextSegment is { IsCompleted: false } pending)
        {
            pending.ContinueWith(_ => { }, TaskScheduler.Default).Wait();
        }

        _directoryLock?.Dispose();
    }

    private void ThrowIfUnusable()
    {
        if (_failure is not null)
        {
            throw new LogFailedException($"the log at {_options.Directory} failed and accepts no more writes: {_failure.Message}", _failure);
        }

        ObjectDisposedException.ThrowIf(_stopping, this);
    }

    private void StartWriter()
    {
        var active = _segments[^1];
        _activeFile = _fs.OpenFile(active.Path, FileOpenMode.ReadWriteExisting);
        _nextSegment = PrepareNextSegmentAsync();
        if (_options.WriteOnCallingThread)
        {
            return;
        }

        _writerThread = new Thread(WriterLoop) { IsBackground = true, Name = "aurora-log-writer" };
        _writerThread.Start();
    }

    /// <summary>
    /// With <see cref="LogOptions.WriteOnCallingThread"/>: runs what is queued (the caller's request)
    /// on the calling thread, as the writer thread would, one caller at a time.
    /// </summary>
    private void RunQueuedOnCallingThread()
    {
        if (!_options.WriteOnCallingThread)
        {
            return;
        }

        lock (_callingThreadWriter)
        {
            var group = new List<WriteRequest>();
            lock (_lock)
            {
                group.AddRange(_queue);
                _queue.Clear();
                _queuedCount = 0;
            }

            RunGroup(group);
        }
    }

    private void WriterLoop()
    {
        var group = new List<WriteRequest>();
        while (true)
        {
            lock (_lock)
            {
                while (_queue.Count == 0 && !_stopping)
                {
                    Monitor.Wait(_lock);
                }

                if (_queue.Count == 0 || _failure is not null)
                {
                    return;
                }
            }

            var gathered = GatherGroup();
            lock (_lock)
            {
                group.AddRange(_queue);
                _queue.Clear();
                _queuedCount = 0;
            }

            _groupTarget = gathered ? Math.Max(group.Count, _groupTarget) : group.Count;
            var started = Stopwatch.GetTimestamp();
            RunGroup(group);
            _lastGroupTicks = Stopwatch.GetTimestamp() - started;
            group.Clear();
        }
    }

    /// <summary>
    /// Runs what was queued, in order: each run of appends as one group commit, each truncation or
    /// reset on its own between them. A failure fails everything after it (and what is queued).
    /// </summary>
    private void RunGroup(List<WriteRequest> group)
    {
        var next = 0;
        while (next < group.Count)
        {
            if (group[next] is RewriteRequest rewrite)
            {
                if (!Rewrite(group, next, rewrite))
                {
                    return;
                }

                next++;
                continue;
            }

            var end = next;
            while (end < group.Count && group[end] is AppendRequest)
            {
                end++;
            }

            if (!WriteGroup(group, next, end))
            {
                return;
            }

            next = end;
        }
    }

    /// <summary>
    /// Lets a group fill up while appends are still arriving, towards the size recent groups had,
    /// for at most half a group's write time. Without it, N concurrent writers split into two
    /// cohorts that alternate (one queues while the other's fdatasync runs), so every fdatasync
    /// carries only about N/2 entries. It stops as soon as arrivals pause, and a lone writer (recent
    /// groups of 1) never waits, so its latency stays one fdatasync. Returns whether the target was
    /// reached; if not, the target falls to what did arrive.
    /// </summary>
    private bool GatherGroup()
    {
        var target = _groupTarget;
        var queued = Volatile.Read(ref _queuedCount);
        if (target <= 1 || queued >= target)
        {
            return true;
        }

        var now = Stopwatch.GetTimestamp();
        var deadline = now + Math.Min(_lastGroupTicks / 2, Stopwatch.Frequency / 1000);
        var quiet = Stopwatch.Frequency / 50_000; // 20 us without a new append ends the wait
        var lastArrival = now;
        while (queued < target)
        {
            now = Stopwatch.GetTimestamp();
            if (now >= deadline || now - lastArrival >= quiet || Volatile.Read(ref _stopping))
            {
                return false;
            }

            // Give the core to the writers whose acknowledgements just went out.
            Thread.Yield();
            var count = Volatile.Read(ref _queuedCount);
            if (count != queued)
            {
                queued = count;
                lastArrival = Stopwatch.GetTimestamp();
            }
        }

        return true;
    }

    /// <summary>
    /// Writes the appends <c>requests[from..to)</c> with as few fdatasyncs as segment boundaries
    /// allow. Returns false after a failure, which failed every request from the failed one on.
    /// </summary>
    private bool WriteGroup(List<WriteRequest> requests, int from, int to)
    {
        AppendRequest At(int i) => (AppendRequest)requests[i];
        _groupBuffer.ResetWrittenCount();
        var ends = new int[to - from];
        try
        {
            for (var i = from; i < to; i++)
            {
                _groupBuffer.Write(At(i).WaitEncoded());
                ends[i - from] = _groupBuffer.WrittenCount;
            }
        }
        catch (FatalWriteException fatal)
        {
            FailFatally(requests, from, fatal.InnerException!);
            return false;
        }

        var next = from;
        while (next < to)
        {
            var start = next == from ? 0 : ends[next - from - 1];
            try
            {
                var segment = ActiveSegment;
                var room = segment.Capacity - segment.DataEnd;

                // Whole requests only, so a roll never splits one request over two segments; an
                // empty segment takes a request of any size (the file grows past its preallocation).
                var end = next;
                while (end < to && (ends[end - from] - start <= room || (end == next && segment.IsEmpty)))
                {
                    end++;
                }

                if (end == next)
                {
                    Roll(At(next).Entries[0].Position);
                    continue;
                }

                // The buffer is ours alone (writer thread), so sealing the encoded headers in place is safe.
                var bytes = MemoryMarshal.AsMemory(_groupBuffer.WrittenMemory).Span[start..ends[end - from - 1]];
                RecordHeader.SealGroup(bytes, segment.Format);
                WriteDurably(segment, bytes);
                var lastEntry = At(end - 1).Entries[^1];
                lock (_lock)
                {
                    var requestStart = segment.DataEnd;
                    for (var i = next; i < end; i++)
                    {
                        var request = At(i);
                        for (var e = 0; e < request.Entries.Count; e++)
                        {
                            segment.Indexed(request.Entries[e].Position, requestStart + request.EntryOffsets[e]);
                            _durableTerms.Append(request.Entries[e].Position, request.Entries[e].Term);
                        }

                        requestStart += request.Encoded.Length;
                    }

                    segment.DataEnd += bytes.Length;
                    segment.LastPosition = lastEntry.Position;
                    _lastDurablePosition = lastEntry.Position;
                    _lastDurableTerm = lastEntry.Term;
                }

                for (; next < end; next++)
                {
                    At(next).Completion.TrySetResult(At(next).Entries[^1].Position);
                }
            }
            catch (FatalWriteException fatal)
            {
                FailFatally(requests, next, fatal.InnerException!);
                return false;
            }
            catch (IOException e)
            {
                // Not fatal (ENOSPC and kin): nothing of these requests was acknowledged, the
                // acknowledged prefix is intact, and positions are handed out again from it.
                LogMessages.AppendFailed(_logger, e, At(next).Entries[0].Position, e.Message);
                var error = new IOException($"append to the log at {_options.Directory} failed: {e.Message}", e);

                // Rewind before telling anyone: a caller that retries as soon as its append fails
                // must get a fresh position, not be queued behind the failed ones and failed with them.
                FailQueuedAndRewind(error);
                FailRequests(requests, next, error);
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// pwrite then fdatasync, after zeroing (durably) what a failed earlier write may have left
    /// behind. In a recycled segment the group is followed by an end marker in the same sync, since
    /// what follows it there is not zeros (see <see cref="SegmentScanner"/>).
    /// </summary>
    private void WriteDurably(Segment segment, ReadOnlySpan<byte> bytes)
    {
        var file = _activeFile!;
        var at = segment.DataEnd;
        if (segment.DirtyEnd > at)
        {
            // Zero and sync first: were the new records written over the old bytes, a short write
            // or a crash could leave them mixed, which reads as corruption rather than a torn tail.
            file.WriteZeros(at, segment.DirtyEnd);
            DataSyncOrFatal(file);
            segment.DirtyEnd = 0;
        }

        var marker = segment.Format.Recycled ? EndMarker.Length : 0;
        try
        {
            file.Write(at, bytes);
            if (marker > 0)
            {
                file.Write(at + bytes.Length, EndMarker);
            }
        }
        catch (IOException)
        {
            segment.DirtyEnd = Math.Max(segment.DirtyEnd, at + bytes.Length + marker);
            throw;
        }

        DataSyncOrFatal(file);
    }

    /// <summary>Seals the active segment and continues in a fresh, preallocated one.</summary>
    private void Roll(ulong firstPosition)
    {
        var old = ActiveSegment;
        if (old.DirtyEnd > old.DataEnd)
        {
            // A sealed segment must end in zeros, or opening the log would call it corrupt.
            _activeFile!.WriteZeros(old.DataEnd, old.DirtyEnd);
            DataSyncOrFatal(_activeFile!);
            old.DirtyEnd = 0;
        }

        var prepared = TakePreparedSegment();
        ulong previousTerm;
        lock (_lock)
        {
            Debug.Assert(firstPosition == _lastDurablePosition + 1, "a new segment continues the durable log");
            previousTerm = _lastDurableTerm;
        }

        var path = Path.Combine(_options.SegmentDirectory, Segment.FileName(firstPosition));
        IStorageFile file;
        SegmentFormat format;
        try
        {
            format = InstallSegment(prepared, path, firstPosition, previousTerm);

            // Reopened by its final name, so every later error names the segment, not the temp file.
            file = _fs.OpenFile(path, FileOpenMode.ReadWriteExisting);
        }
        catch
        {
            _nextSegment = PrepareNextSegmentAsync();
            throw;
        }

        _activeFile!.Dispose();
        _activeFile = file;
        lock (_lock)
        {
            _segments.Add(new Segment(path, firstPosition, _options.SegmentSize, previousTerm, format));
        }

        _nextSegment = PrepareNextSegmentAsync();
        LogMessages.SegmentRolled(_logger, path);
    }

    /// <summary>The next segment, once its preparation finished (retried once if it had failed).</summary>
    private string TakePreparedSegment()
    {
        if (_nextSegment is null)
        {
            // Not prepared in the background (LogOptions.WriteOnCallingThread): now, here.
            var path = Path.Combine(_options.SegmentDirectory, NextSegmentFileName);
            if (!TryRecycleSpare(path))
            {
                WriteZeroFilledFile(path);
            }

            return path;
        }

        try
        {
            return _nextSegment.GetAwaiter().GetResult();
        }
        catch (IOException)
        {
            // It failed in the background, maybe long ago (the disk was full then): the space may
            // be back, so try once more now rather than fail this request for a stale reason.
            _nextSegment = PrepareNextSegmentAsync();
            return _nextSegment!.GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Makes the next segment ready so a roll costs a header and a rename, not 64 MiB of writes: a
    /// spare that prefix truncation left is renamed into place at once; otherwise a file is
    /// zero-filled in the background. Null with <see cref="LogOptions.WriteOnCallingThread"/> (the
    /// roll prepares it).
    /// </summary>
    private Task<string>? PrepareNextSegmentAsync()
    {
        if (_options.WriteOnCallingThread)
        {
            return null;
        }

        var path = Path.Combine(_options.SegmentDirectory, NextSegmentFileName);
        if (TryRecycleSpare(path))
        {
            return Task.FromResult(path);
        }

        // On a thread of its own: writing and syncing a segment's worth of zeros takes a large
        // part of a second, and a thread-pool thread blocked that long starves the timers and I/O
        // completions of everything else in the process (a replica's heartbeats among them).
        return Task.Factory.StartNew(
            () =>
            {
                WriteZeroFilledFile(path);
                return path;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    /// <summary>
    /// Renames a spare (a segment removed by prefix truncation) to <paramref name="path"/>; false
    /// when there is none or the rename failed (the spare is then left for the next open to delete).
    /// No directory fsync: before and after, the file is a temp file that a crash leaves to be deleted.
    /// </summary>
    private bool TryRecycleSpare(string path)
    {
        string spare;
        lock (_lock)
        {
            if (_spares.Count == 0)
            {
                return false;
            }

            spare = _spares[^1];
            _spares.RemoveAt(_spares.Count - 1);
        }

        try
        {
            _fs.Rename(spare, path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Creates (or replaces) a durable, zero-filled file of one segment's size.</summary>
    /// <remarks>
    /// Synced every <see cref="ZeroFillSyncBytes"/>: a whole segment of dirty pages flushed by one
    /// fdatasync keeps the disk busy for a large part of a second, and every appender's fdatasync
    /// on that disk (other replicas' too, when they share it) waits behind it.
    /// </remarks>
    private void WriteZeroFilledFile(string path)
    {
        using var file = _fs.OpenFile(path, FileOpenMode.CreateOrTruncate);
        for (var offset = 0L; offset < _options.SegmentSize; offset += ZeroFillSyncBytes)
        {
            file.WriteZeros(offset, Math.Min(offset + ZeroFillSyncBytes, _options.SegmentSize));
            DataSyncOrFatal(file);
        }
    }

    private const long ZeroFillSyncBytes = 4 << 20;

    /// <summary>
    /// Turns a prepared file into the segment starting at <paramref name="firstPosition"/> after an
    /// entry of <paramref name="previousTerm"/>: header, fdatasync, rename to <paramref name="path"/>,
    /// fsync of the directory. A crash before the rename leaves a temp file (deleted on open); after
    /// it, a valid segment with no records.
    /// </summary>
    private SegmentFormat InstallSegment(string prepared, string path, ulong firstPosition, ulong previousTerm)
    {
        var format = StampSegment(prepared, firstPosition, previousTerm);
        _fs.Rename(prepared, path);
        try
        {
            _fs.SyncDirectory(_options.SegmentDirectory);
        }
        catch (IOException e)
        {
            throw new FatalWriteException(e);
        }

        return format;
    }

    /// <summary>
    /// Writes a prepared file's segment header and makes it durable. A zero-filled file gets
    /// generation 1; a recycled one the generation after its old header's, the recycled flag and an
    /// end marker right after the header (its first record slot holds the earlier use's bytes). A
    /// file that is neither (a header write torn by an earlier failure) is zero-filled first.
    /// </summary>
    private SegmentFormat StampSegment(string prepared, ulong firstPosition, ulong previousTerm)
    {
        Span<byte> start = stackalloc byte[SegmentHeader.Size + RecordHeader.Size];
        (ulong Generation, bool Recycled)? next;
        using (var file = _fs.OpenFile(prepared, FileOpenMode.ReadExisting))
        {
            start.Clear();
            StorageFileExtensions.ReadFully(file, 0, start);
            next = SegmentHeader.NextGeneration(start);
        }

        if (next is null)
        {
            WriteZeroFilledFile(prepared);
            next = (1, false);
        }

        var (generation, recycled) = next.Value;
        start.Clear();
        SegmentHeader.Write(start, firstPosition, previousTerm, generation, recycled);
        using (var file = _fs.OpenFile(prepared, FileOpenMode.ReadWriteExisting))
        {
            file.Write(0, recycled ? start : start[..SegmentHeader.Size]);
            DataSyncOrFatal(file);
        }

        return new SegmentFormat(SegmentHeader.CurrentVersion, generation, recycled);
    }

    /// <summary>The segment being written. The list changes under the lock (rolls, prefix truncation).</summary>
    private Segment ActiveSegment
    {
        get
        {
            lock (_lock)
            {
                return _segments[^1];
            }
        }
    }

    /// <summary>The first segment of a new log: position 1, after position 0 of term 0.</summary>
    private Segment CreateFirstSegment()
    {
        var path = Path.Combine(_options.SegmentDirectory, Segment.FileName(1));
        var temp = path + AtomicFile.TempSuffix;
        try
        {
            WriteZeroFilledFile(temp);
            var format = InstallSegment(temp, path, 1, previousTerm: 0);
            return new Segment(path, 1, _options.SegmentSize, previousTerm: 0, format);
        }
        catch (FatalWriteException fatal)
        {
            _options.OnFatalError(fatal.InnerException!);
            throw fatal.InnerException!;
        }
    }

    private static void DataSyncOrFatal(IStorageFile file)
    {
        try
        {
            file.DataSync();
        }
        catch (IOException e)
        {
            throw new FatalWriteException(e);
        }
    }

    /// <summary>Poisons the log with its first fatal error and reports it once.</summary>
    private void Fail(Exception cause)
    {
        lock (_lock)
        {
            if (_failure is not null)
            {
                return;
            }

            _failure = cause;
        }

        LogMessages.FatalWriteError(_logger, cause, cause.Message);
        FailQueuedAndRewind(new LogFailedException($"the log at {_options.Directory} failed: {cause.Message}", cause));
        _options.OnFatalError(cause);
    }

    private void FailFatally(List<WriteRequest> group, int from, Exception cause)
    {
        Fail(cause);
        FailRequests(group, from, new LogFailedException($"the log at {_options.Directory} failed: {cause.Message}", cause));
    }

    private static void FailRequests(List<WriteRequest> group, int from, Exception error)
    {
        for (var i = from; i < group.Count; i++)
        {
            if (group[i] is AppendRequest { AssignedByLog: true } append)
            {
                // Hand the entries back as they came, so the caller can simply append them again.
                foreach (var entry in append.Entries)
                {
                    entry.Position = 0;
                }
            }

            group[i].Completion.TrySetException(error);
        }
    }

    private void FailQueuedAndRewind(Exception error)
    {
        List<WriteRequest> queued;
        lock (_lock)
        {
            queued = [.. _queue];
            _queue.Clear();
            _queuedCount = 0;
            _lastAssignedPosition = _lastDurablePosition;
            _lastAssignedTerm = _lastDurableTerm;
            _assignedTerms = _durableTerms.Clone();
        }

        FailRequests(queued, 0, error);
    }

    /// <summary>Something queued for the writer thread; completes with the position the log then ends at.</summary>
    private abstract class WriteRequest
    {
        public TaskCompletionSource<ulong> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class AppendRequest(IReadOnlyList<LogEntry> entries, bool assignedByLog) : WriteRequest
    {
        public IReadOnlyList<LogEntry> Entries { get; } = entries;

        public bool AssignedByLog { get; } = assignedByLog;

        private byte[]? _encoded;
        private Exception? _encodingFailure;

        /// <summary>The records of all <see cref="Entries"/>, back to back (after <see cref="WaitEncoded"/>).</summary>
        public byte[] Encoded => _encoded ?? [];

        /// <summary>Where each entry's first record starts in <see cref="Encoded"/>.</summary>
        public int[] EntryOffsets { get; } = new int[entries.Count];

        /// <summary>Called once by the appending thread, after the request is queued with its positions.</summary>
        public void Encode(EntryCodec codec)
        {
            try
            {
                Volatile.Write(ref _encoded, codec.Encode(Entries, EntryOffsets));
            }
            catch (Exception e)
            {
                // Its positions are taken and later requests may hold the next ones: the writer
                // cannot skip it without leaving a gap, so it fails the log with this cause.
                _encodingFailure = e;
                Volatile.Write(ref _encoded, []);
            }
        }

        /// <summary>The writer thread's wait for <see cref="Encode"/> to finish on the appending thread.</summary>
        public byte[] WaitEncoded()
        {
            var spinner = default(SpinWait);
            while (Volatile.Read(ref _encoded) is null)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }

            return _encodingFailure is null ? _encoded! : throw new FatalWriteException(_encodingFailure);
        }
    }

    /// <summary>Marks an fsync failure inside the write path so it is not mistaken for ENOSPC.</summary>
    private sealed class FatalWriteException(Exception cause) : Exception(cause.Message, cause);
}
