namespace Aurora.Storage.Log;

/// <summary>
/// How the records of one segment are written: what its header says (segment format version, and
/// for version 3 the generation and whether the file was recycled).
/// </summary>
/// <param name="Version">The segment format version.</param>
/// <param name="Generation">Version 3: mixed into every record header's checksum; 0 before.</param>
/// <param name="Recycled">
/// Version 3: the file held an earlier segment, so the bytes after its last record may be records
/// of that earlier use (never valid under this generation) instead of zeros.
/// </param>
public readonly record struct SegmentFormat(uint Version, ulong Generation, bool Recycled)
{
    /// <summary>
    /// Segment format version 2: unsalted version-1 records after a 32-byte header. Also what a
    /// segment whose header cannot be read is scanned as (by <c>aurora-log verify</c>), and how
    /// <see cref="EntryCodec"/> encodes records before the writer seals them for their segment.
    /// </summary>
    public static SegmentFormat Version2 => new(SegmentHeader.PreviousVersion, 0, false);

    /// <summary>Where the first record starts: right after the header.</summary>
    public int DataStart => Version >= SegmentHeader.CurrentVersion ? SegmentHeader.Size : SegmentHeader.LegacySize;

    /// <summary>The record format version every record of this segment has.</summary>
    public byte RecordVersion => Version >= SegmentHeader.CurrentVersion ? RecordHeader.CurrentVersion : RecordHeader.FirstVersion;

    /// <summary>The generation record header checksums are salted with; null for unsalted (record version 1).</summary>
    public ulong? Salt => Version >= SegmentHeader.CurrentVersion ? Generation : null;
}
