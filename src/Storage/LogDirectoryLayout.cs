using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.Storage;

/// <summary>A file in a log directory that the storage engine does not account for.</summary>
/// <param name="Path">The file's full path.</param>
/// <param name="Kind">What it is (symbolic links not followed).</param>
/// <param name="Reason">What it is and why it does not belong, without its name: "a FIFO (named pipe), not a regular file".</param>
public sealed record UnaccountedFile(string Path, FileKind Kind, string Reason)
{
    /// <summary>What is wrong and what to do, without the file's name: "a FIFO (named pipe), not a regular file; move it …".</summary>
    public string Problem => $"{Reason}; move it out of the log directory";

    public override string ToString() => $"{Path} ({Reason})";
}

/// <summary>
/// Every name the storage engine keeps in a log directory, and the entries that are none of them
/// (<c>aurora-log verify</c> and <c>info</c> report those, <c>dump</c> and <c>state</c> refuse them).
/// </summary>
/// <remarks>
/// <para>What a log directory may hold, and nothing else (docs/storage-format.md):</para>
/// <list type="bullet">
/// <item><c>replica.meta</c>, <c>replica.meta.tmp</c> (an interrupted metadata write), <c>LOCK</c>: regular files;</item>
/// <item><c>log/</c>: a directory of regular files <c>segment-&lt;first position&gt;.log</c>, their
/// <c>.tmp</c> while a segment is installed, <c>next-segment.tmp</c>,
/// <c>spare-&lt;first position&gt;.log.tmp</c> (segments removed by prefix truncation, kept to be
/// recycled), and <c>reset-&lt;first position&gt;.log</c> while a reset replaces every segment;</item>
/// <item><c>snapshots/</c>: a directory of regular files <c>snapshot-&lt;position:D20&gt;.snap</c> and
/// their <c>.tmp</c> while one is written;</item>
/// <item><c>lost+found/</c>: the directory mkfs leaves when the log directory is a file system's root;</item>
/// <item><c>damaged-&lt;yyyyMMddTHHmmssZ&gt;[-N]/</c>: what <c>aurora-log repair</c> moved out of the way,
/// kept for analysis (its content is not looked at).</item>
/// </list>
/// <para>A known name of the wrong kind (a FIFO named like a segment, a regular file named
/// <c>log</c>), a name that looks like a segment or a snapshot but does not parse
/// (<c>segment-abc.log</c>, which the log would silently ignore), and any other entry (symbolic
/// links included) is unaccounted for. The log directory itself may be a symbolic link.</para>
/// <para>Reads the directory listing and the kinds only, never a file's content; stateless and safe
/// on a live log, whose writer only ever creates the names above. An entry removed while it is
/// looked at is passed over.</para>
/// </remarks>
public static class LogDirectoryLayout
{
    /// <summary>The directory mkfs creates at a file system's root.</summary>
    public const string LostAndFound = "lost+found";

    /// <summary>How the directories <c>aurora-log repair</c> moves a damaged replica's files into begin.</summary>
    public const string DamagedPrefix = "damaged-";

    /// <summary>The UTC time in a damaged directory's name, and its length (<c>20260101T000000Z</c>).</summary>
    private const string DamagedTimeFormat = "yyyyMMdd'T'HHmmss'Z'";
    private const int DamagedTimeLength = 16;

    /// <summary>
    /// The name of the directory <c>aurora-log repair</c> moves a damaged replica's files into:
    /// <c>damaged-20260101T000000Z</c>, and <c>damaged-20260101T000000Z-2</c> and so on for a second
    /// repair in the same second.
    /// </summary>
    public static string DamagedDirectoryName(DateTimeOffset at, int attempt = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var name = DamagedPrefix + at.UtcDateTime.ToString(DamagedTimeFormat, System.Globalization.CultureInfo.InvariantCulture);
        return attempt == 1 ? name : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name}-{attempt}");
    }

    /// <summary>Whether <paramref name="name"/> is one <see cref="DamagedDirectoryName"/> makes.</summary>
    public static bool IsDamagedDirectoryName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!name.StartsWith(DamagedPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = name[DamagedPrefix.Length..];
        var time = rest.Length >= DamagedTimeLength ? rest[..DamagedTimeLength] : rest;
        var suffix = rest[time.Length..];
        return DateTime.TryParseExact(time, DamagedTimeFormat, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _)
            && (suffix.Length == 0
                || (suffix.Length > 1 && suffix[0] == '-' && suffix[1] != '0' && suffix[1..].All(char.IsAsciiDigit)));
    }

    /// <summary>The entries of <paramref name="directory"/> and its <c>log/</c> and <c>snapshots/</c> that the storage engine does not keep there.</summary>
    public static IReadOnlyList<UnaccountedFile> FindUnaccounted(IFileSystem fileSystem, string directory)
    {
        ArgumentNullException.ThrowIfNull(fileSystem);
        ArgumentNullException.ThrowIfNull(directory);
        var found = new List<UnaccountedFile>();
        foreach (var entry in fileSystem.ListEntries(directory))
        {
            var name = Path.GetFileName(entry.Path);
            switch (name)
            {
                case ReplicaMetadataStore.FileName or ReplicaMetadataStore.FileName + AtomicFile.TempSuffix or SegmentedLog.LockFileName:
                    RequireRegular(entry, found);
                    break;
                case LogOptions.SegmentDirectoryName:
                    if (RequireDirectory(entry, "segments", found))
                    {
                        AuditSegments(fileSystem, entry.Path, found);
                    }

                    break;
                case SnapshotOptions.SnapshotDirectoryName:
                    if (RequireDirectory(entry, "snapshots", found))
                    {
                        AuditSnapshots(fileSystem, entry.Path, found);
                    }

                    break;
                case LostAndFound when entry.Kind == FileKind.Directory:
                    break;
                case var damaged when entry.Kind == FileKind.Directory && IsDamagedDirectoryName(damaged):
                    break;
                default:
                    found.Add(Unknown(entry));
                    break;
            }
        }

        return found;
    }

    private static void AuditSegments(IFileSystem fileSystem, string segmentDirectory, List<UnaccountedFile> found)
    {
        foreach (var entry in fileSystem.ListEntries(segmentDirectory))
        {
            var name = Path.GetFileName(entry.Path);
            var unsuffixed = name.EndsWith(AtomicFile.TempSuffix, StringComparison.Ordinal) ? name[..^AtomicFile.TempSuffix.Length] : name;
            if (name == SegmentedLog.NextSegmentFileName || Segment.TryParseFileName(unsuffixed, out _) || Segment.TryParseResetFileName(name, out _)
                || Segment.TryParseSpareFileName(name, out _))
            {
                RequireRegular(entry, found);
            }
            else if (name.StartsWith(Segment.Prefix, StringComparison.Ordinal))
            {
                found.Add(Lookalike(entry, "a segment", "segment-<first position>.log", "the log never reads it"));
            }
            else if (name.StartsWith(Segment.ResetPrefix, StringComparison.Ordinal))
            {
                found.Add(Lookalike(entry, "a reset's segment", "reset-<first position>.log", "the log never reads it"));
            }
            else
            {
                found.Add(Unknown(entry));
            }
        }
    }

    private static void AuditSnapshots(IFileSystem fileSystem, string snapshotDirectory, List<UnaccountedFile> found)
    {
        foreach (var entry in fileSystem.ListEntries(snapshotDirectory))
        {
            var name = Path.GetFileName(entry.Path);
            var unsuffixed = name.EndsWith(AtomicFile.TempSuffix, StringComparison.Ordinal) ? name[..^AtomicFile.TempSuffix.Length] : name;
            if (SnapshotStore.TryParseFileName(unsuffixed, out _))
            {
                RequireRegular(entry, found);
            }
            else if (name.StartsWith(SnapshotStore.FilePrefix, StringComparison.Ordinal))
            {
                found.Add(Lookalike(entry, "a snapshot", "snapshot-<20-digit position>.snap", "no snapshot is ever loaded from it"));
            }
            else
            {
                found.Add(Unknown(entry));
            }
        }
    }

    private static void RequireRegular(DirectoryEntry entry, List<UnaccountedFile> found)
    {
        if (entry.Kind != FileKind.Regular)
        {
            found.Add(new UnaccountedFile(entry.Path, entry.Kind, $"{FileKinds.Describe(entry.Kind)}, not a regular file"));
        }
    }

    private static bool RequireDirectory(DirectoryEntry entry, string holds, List<UnaccountedFile> found)
    {
        if (entry.Kind == FileKind.Directory)
        {
            return true;
        }

        found.Add(new UnaccountedFile(entry.Path, entry.Kind, $"{FileKinds.Describe(entry.Kind)}, not the directory of {holds}"));
        return false;
    }

    private static UnaccountedFile Lookalike(DirectoryEntry entry, string what, string pattern, string consequence) =>
        new(entry.Path, entry.Kind, $"{FileKinds.Describe(entry.Kind)} named like {what}, but not as {pattern}, so {consequence}");

    private static UnaccountedFile Unknown(DirectoryEntry entry) =>
        new(entry.Path, entry.Kind, $"{FileKinds.Describe(entry.Kind)} that the log does not keep here");
}
