using System.Globalization;

namespace Aurora.Storage.Log;

/// <summary>One segment file's place in the log. Mutated only by the writer, under the log's lock.</summary>
/// <param name="previousTerm">The term of the entry at <c>firstPosition - 1</c> as the header says it; null when it does not (format version 1).</param>
/// <param name="format">What the header says about the records (version, generation, recycled).</param>
internal sealed class Segment(string path, ulong firstPosition, long capacity, ulong? previousTerm, SegmentFormat format)
{
    /// <summary>Every this-many entries, the offset of an entry is kept so reads can seek near a position.</summary>
    public const int IndexStride = 64;

    public const string Prefix = "segment-";
    private const string Suffix = ".log";

    /// <summary>
    /// The name a reset's new segment has until every old segment is gone (<see cref="SegmentedLog.ResetAsync"/>):
    /// while it exists it is the whole log, and opening the log for writing finishes the reset.
    /// </summary>
    public const string ResetPrefix = "reset-";

    /// <summary>
    /// The name of a segment removed by prefix truncation and kept to be recycled as a next segment
    /// (<c>spare-&lt;its old first position&gt;.log.tmp</c>); a leftover, deleted on open, like every temp file.
    /// </summary>
    public const string SparePrefix = "spare-";

    public string Path { get; } = path;

    public ulong FirstPosition { get; } = firstPosition;

    /// <summary>The term of the entry before <see cref="FirstPosition"/>, from the header; null when unknown.</summary>
    public ulong? PreviousTerm { get; } = previousTerm;

    public SegmentFormat Format { get; } = format;

    /// <summary>Last durable entry in this segment; <c>FirstPosition - 1</c> while it has none.</summary>
    public ulong LastPosition { get; set; } = firstPosition - 1;

    /// <summary>Offset just past the last durable record.</summary>
    public long DataEnd { get; set; } = format.DataStart;

    /// <summary>Bytes preallocated; appends that would cross it go to a new segment.</summary>
    public long Capacity { get; set; } = capacity;

    /// <summary>Offset up to which a failed write may have left bytes past <see cref="DataEnd"/>.</summary>
    public long DirtyEnd { get; set; }

    public List<(ulong Position, long Offset)> Index { get; } = [];

    public bool IsEmpty => LastPosition < FirstPosition;

    public void Indexed(ulong position, long offset)
    {
        if ((position - FirstPosition) % IndexStride == 0)
        {
            Index.Add((position, offset));
        }
    }

    /// <summary>The offset of an indexed entry at or before <paramref name="position"/>.</summary>
    public long SeekOffset(ulong position)
    {
        long offset = Format.DataStart;
        foreach (var (indexed, at) in Index)
        {
            if (indexed > position)
            {
                break;
            }

            offset = at;
        }

        return offset;
    }

    public static string FileName(ulong firstPosition) =>
        Prefix + firstPosition.ToString("D20", CultureInfo.InvariantCulture) + Suffix;

    public static string ResetFileName(ulong firstPosition) =>
        ResetPrefix + firstPosition.ToString("D20", CultureInfo.InvariantCulture) + Suffix;

    public static string SpareFileName(ulong firstPosition) =>
        SparePrefix + firstPosition.ToString("D20", CultureInfo.InvariantCulture) + Suffix + IO.AtomicFile.TempSuffix;

    /// <summary>
    /// The segment files in <paramref name="directory"/>, by first position; other names are ignored.
    /// Entries of every kind are listed by name, so that opening one that is not a regular file (a
    /// FIFO, a directory) fails with <see cref="IO.NotARegularFileException"/> instead of being skipped.
    /// </summary>
    public static List<(ulong First, string Path)> ListFiles(IO.IFileSystem fileSystem, string directory) =>
        List(fileSystem, directory, Prefix);

    /// <summary>The files of an interrupted reset (<see cref="ResetPrefix"/>), by first position: none, or one.</summary>
    public static List<(ulong First, string Path)> ListResetFiles(IO.IFileSystem fileSystem, string directory) =>
        List(fileSystem, directory, ResetPrefix);

    public static bool TryParseFileName(string path, out ulong firstPosition) => TryParse(path, Prefix, out firstPosition);

    public static bool TryParseResetFileName(string path, out ulong firstPosition) => TryParse(path, ResetPrefix, out firstPosition);

    public static bool TryParseSpareFileName(string path, out ulong firstPosition) =>
        TryParse(path.EndsWith(IO.AtomicFile.TempSuffix, StringComparison.Ordinal) ? path[..^IO.AtomicFile.TempSuffix.Length] : "", SparePrefix, out firstPosition);

    private static List<(ulong First, string Path)> List(IO.IFileSystem fileSystem, string directory, string prefix)
    {
        var files = new List<(ulong First, string Path)>();
        foreach (var entry in fileSystem.ListEntries(directory))
        {
            if (TryParse(entry.Path, prefix, out var first))
            {
                files.Add((first, entry.Path));
            }
        }

        files.Sort((a, b) => a.First.CompareTo(b.First));
        return files;
    }

    private static bool TryParse(string path, string prefix, out ulong firstPosition)
    {
        var name = System.IO.Path.GetFileName(path);
        firstPosition = 0;
        return name.StartsWith(prefix, StringComparison.Ordinal)
            && name.EndsWith(Suffix, StringComparison.Ordinal)
            && ulong.TryParse(name.AsSpan(prefix.Length, name.Length - prefix.Length - Suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out firstPosition)
            && firstPosition > 0;
    }
}

/// <summary>What <c>aurora-log info</c> shows about a segment.</summary>
public sealed record SegmentInfo(string Path, ulong FirstPosition, ulong LastPosition, long DataBytes, long FileBytes);

/// <summary>A torn tail found, and (unless read-only) cut off, when the log was opened.</summary>
public sealed record TornTail(string File, long Offset, long DiscardedBytes, string Reason);
