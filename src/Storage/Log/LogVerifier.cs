using Aurora.Storage.IO;

namespace Aurora.Storage.Log;

/// <summary>One problem <see cref="LogVerifier"/> found in a segment file.</summary>
/// <param name="File">The segment file.</param>
/// <param name="Offset">Where in the file the problem starts.</param>
/// <param name="Position">The entry concerned, or the one expected there; null when unknown.</param>
/// <param name="IsTornTail">
/// The damage is what an interrupted, never-acknowledged write leaves at the end of the last
/// segment: opening the log for writing cuts it off, and no acknowledged entry is lost. A warning,
/// not an error.
/// </param>
public sealed record LogProblem(string File, long Offset, ulong? Position, string Problem, bool IsTornTail)
{
    public override string ToString() =>
        IsTornTail
            ? $"torn tail in {File} at offset {Offset}" + (Position is { } p ? $" (position {p})" : string.Empty)
                + $": {Problem}; never acknowledged, cut off when the log is next opened for writing"
            : LogCorruptedException.Describe(File, Offset, Position, Problem);
}

/// <summary>What <see cref="LogVerifier.Verify"/> checked and found.</summary>
/// <param name="Segments">Segment files checked.</param>
/// <param name="Entries">Entries that passed every check.</param>
public sealed record LogVerification(IReadOnlyList<LogProblem> Problems, int Segments, ulong Entries)
{
    /// <summary>True when something other than a torn tail is wrong.</summary>
    public bool HasErrors => Problems.Any(p => !p.IsTornTail);
}

/// <summary>
/// Checks every record of every segment of a log (<c>aurora-log verify</c>): header and payload
/// checksums, contiguous positions within and across segments, complete chunk sets, terms that
/// never decrease, and entries that decode and agree with their record headers.
/// </summary>
/// <remarks>
/// Unlike <see cref="SegmentedLog.Open"/>, which refuses at the first damage, the verifier resyncs
/// after each problem (<see cref="SegmentScanner.SkipDamage"/>) so that it reports every one. It
/// only reads, takes no lock and may run against a live log; damage it reports at the very end of
/// the last segment may then be an append in progress. Stateless; safe to call from any thread.
/// </remarks>
public static class LogVerifier
{
    public static LogVerification Verify(LogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var fs = options.FileSystem;
        var segmentDirectory = options.SegmentDirectory;
        if (!fs.DirectoryExists(segmentDirectory))
        {
            return new LogVerification([], 0, 0);
        }

        var files = Segment.ListFiles(fs, segmentDirectory);
        var state = new State();
        var resets = Segment.ListResetFiles(fs, segmentDirectory);
        if (resets.Count > 0)
        {
            // An interrupted reset: its file is the whole log (opening for writing deletes the rest).
            foreach (var extra in resets.Skip(1))
            {
                state.Report(extra.Path, 0, null, "a second reset file: the log writes one at a time, so it cannot tell which reset is the last");
            }

            files = [resets[0]];
        }

        for (var i = 0; i < files.Count; i++)
        {
            var (first, path) = files[i];
            IStorageFile file;
            try
            {
                file = fs.OpenFile(path, FileOpenMode.ReadExisting);
            }
            catch (NotARegularFileException e)
            {
                // Named for what it is; whether its name also makes a gap tells nothing more.
                state.Report(path, 0, null, NotARegularFileException.Problem(e.Kind));
                state.Continuous = false;
                continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                state.Report(path, 0, null, $"cannot read the segment: {e.Message}");
                state.Continuous = false;
                continue;
            }

            if (state.Continuous && state.LastPosition + 1 != first)
            {
                state.Report(path, 0, state.LastPosition + 1,
                    $"gap in the log: the previous segment ends at position {state.LastPosition}, this one starts at {first}");
            }

            state.Continuous = true;
            state.LastPosition = first - 1;
            try
            {
                using (file)
                {
                    VerifySegment(file, first, isLast: i == files.Count - 1, state);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                state.Report(path, 0, null, $"cannot read the segment: {e.Message}");
                state.Continuous = false;
            }
        }

        return new LogVerification(state.Problems, files.Count, state.Entries);
    }

    private static void VerifySegment(IStorageFile file, ulong first, bool isLast, State state)
    {
        var path = file.Path;
        var length = file.Length;
        if (SegmentHeader.Check(file, first, out var previousTerm, out var format) is { } headerProblem)
        {
            // The records may still be sound: keep going, trusting the position in the file name.
            state.Report(path, 0, first, headerProblem);
        }
        else if (previousTerm is { } said)
        {
            if (state.TermPosition == first - 1 && state.TermPosition > 0 && state.LastTerm != said)
            {
                // Reported once; the entries are compared with the previous segment's, not with the header.
                state.Report(path, 0, first,
                    $"segment header says the entry before it (position {first - 1}) has term {said}, the previous segment ends with term {state.LastTerm}");
            }
            else
            {
                // Entries of this segment are compared with the term the header gives their predecessor.
                state.LastTerm = said;
                state.TermPosition = first - 1;
            }
        }

        var scanner = new SegmentScanner(file, format, format.DataStart, length);
        EntryAssembler? current = new EntryAssembler(path, first, state.TermPosition == first - 1 ? state.LastTerm : 0);
        while (true)
        {
            var result = scanner.Next();
            if (result.Outcome == ScanOutcome.Record)
            {
                current = AddRecord(path, current, result, state);
                continue;
            }

            if (scanner.Classify(result, current) is not { } stop)
            {
                return;
            }

            // The same rule as open-time recovery: only damage that looks like an interrupted write
            // at the end of the last segment is a torn tail; open would cut it, and everything after it.
            if (isLast && stop.LooksTorn)
            {
                state.Problems.Add(new LogProblem(path, stop.CutAt, stop.Position, stop.Problem, IsTornTail: true));
                return;
            }

            state.Report(path, stop.Offset, stop.Position, stop.Problem);
            state.Continuous = false;
            var damaged = result.Outcome == ScanOutcome.Damaged;
            if (!damaged && stop.Offset == current?.PendingOffset)
            {
                return;
            }

            // Resync at the next offset holding a valid record header and check on from there.
            scanner.SkipDamage(damaged ? result : result with { Outcome = ScanOutcome.Damaged, Header = default });
            current = null;
        }
    }

    /// <summary>
    /// Feeds one sound record to the assembler; returns the assembler to use next, or null while
    /// waiting for the first chunk of an entry to resync on after a problem.
    /// </summary>
    private static EntryAssembler? AddRecord(string path, EntryAssembler? assembler, in ScanResult record, State state)
    {
        if (assembler is null)
        {
            if (record.Header.ChunkIndex != 0)
            {
                // The rest of an entry whose start was damaged, already reported.
                return null;
            }

            assembler = new EntryAssembler(path, record.Header.Position);
        }

        CompleteEntry? complete;
        try
        {
            complete = assembler.Add(record);
        }
        catch (LogCorruptedException e)
        {
            state.Report(e.File, e.Offset, e.Position, e.Problem);
            state.Continuous = false;
            return record.Header.ChunkIndex == 0 ? AddRecord(path, null, record, state) : null;
        }

        if (complete is not { } entry)
        {
            return assembler;
        }

        if (entry.Term < state.LastTerm)
        {
            // Within one assembler a lower term is caught above; this catches it across segments.
            state.Report(path, entry.Offset, entry.Position, $"term {entry.Term} is lower than the previous entry's term {state.LastTerm}");
        }

        // Compare later entries with this one, so one step down is reported once, not at every entry after it.
        state.LastTerm = entry.Term;
        state.TermPosition = entry.Position;
        state.LastPosition = entry.Position;
        try
        {
            SegmentedLog.Decode(path, entry);
            state.Entries++;
        }
        catch (LogCorruptedException e)
        {
            state.Report(e.File, e.Offset, e.Position, e.Problem);
        }

        return assembler;
    }

    private sealed class State
    {
        public List<LogProblem> Problems { get; } = [];

        public ulong Entries { get; set; }

        public ulong LastTerm { get; set; }

        /// <summary>The position whose term <see cref="LastTerm"/> is (0 before any).</summary>
        public ulong TermPosition { get; set; }

        /// <summary>The last entry seen; meaningful only while <see cref="Continuous"/>.</summary>
        public ulong LastPosition { get; set; }

        /// <summary>False once a problem makes the position where the segment ends unknowable.</summary>
        public bool Continuous { get; set; }

        /// <summary>Records an error; one per place, as a second check tripping over the same record adds nothing.</summary>
        public void Report(string file, long offset, ulong? position, string problem)
        {
            if (Problems.Count > 0 && Problems[^1].File == file && Problems[^1].Offset == offset)
            {
                return;
            }

            Problems.Add(new LogProblem(file, offset, position, problem, IsTornTail: false));
        }
    }
}
