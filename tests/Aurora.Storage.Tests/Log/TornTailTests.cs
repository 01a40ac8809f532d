using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// A write interrupted before it was acknowledged leaves a torn last record. Open must cut exactly
/// that record (every chunk of its entry), keep every entry before it, say so in
/// <see cref="SegmentedLog.TornTail"/>, and append normally afterwards.
/// </summary>
public class TornTailTests
{
    private enum Damage
    {
        Truncate,
        ZeroTail,
    }

    [Fact]
    public async Task Truncating_the_last_record_at_every_byte_offset_on_disk_recovers_exactly_the_acknowledged_prefix()
    {
        using var dir = new TempDirectory();
        var logDirectory = dir.Sub("log");
        var options = LogKit.DiskOptions(logDirectory);
        var entries = await Build(options, lastEntrySize: 200);
        var fs = PhysicalFileSystem.Instance;
        var segments = LogKit.SegmentFiles(fs, logDirectory);
        var pristine = segments.ToDictionary(s => s, File.ReadAllBytes);
        var last = LogKit.WalkRecords(segments[^1], pristine[segments[^1]])[^1];
        Assert.Equal(1, last.ChunkCount);

        for (var cut = last.Offset; cut <= last.End; cut++)
        {
            foreach (var (path, bytes) in pristine)
            {
                File.WriteAllBytes(path, bytes);
            }

            foreach (var added in LogKit.SegmentFiles(fs, logDirectory).Except(pristine.Keys))
            {
                File.Delete(added);
            }

            using (var stream = new FileStream(last.File, FileMode.Open, FileAccess.Write))
            {
                stream.SetLength(cut);
            }

            await AssertRecovers(options, entries, pristine[last.File], last, last.End, cut, $"truncated at {cut}");
        }
    }

    [Fact]
    public async Task Truncating_a_chunked_last_entry_inside_any_of_its_chunks_cuts_the_whole_entry()
    {
        var (fs, options, entries) = await BuildSimulated(lastEntrySize: 2600);
        await ForEveryOffsetOfTheLastEntry(fs, options, entries, Damage.Truncate, expectedChunks: 3);
    }

    [Fact]
    public async Task Zeroing_the_tail_of_the_last_record_from_every_offset_recovers_exactly_the_acknowledged_prefix()
    {
        var (fs, options, entries) = await BuildSimulated(lastEntrySize: 700);
        await ForEveryOffsetOfTheLastEntry(fs, options, entries, Damage.ZeroTail, expectedChunks: 1);
    }

    [Fact]
    public async Task Zeroing_the_tail_of_a_chunked_last_entry_from_every_offset_cuts_the_whole_entry()
    {
        var (fs, options, entries) = await BuildSimulated(lastEntrySize: 2600);
        await ForEveryOffsetOfTheLastEntry(fs, options, entries, Damage.ZeroTail, expectedChunks: 3);
    }

    [Fact]
    public async Task A_torn_tail_is_cut_durably_so_a_second_open_finds_none()
    {
        var (fs, options, entries) = await BuildSimulated(lastEntrySize: 700);
        var path = LogKit.SegmentFiles(fs, LogKit.SimDirectory)[^1];
        var last = LogKit.WalkRecords(path, fs.ReadAll(path))[^1];
        var bytes = fs.ReadAll(path);
        bytes.AsSpan((int)last.Offset + 300).Clear();
        fs.Overwrite(path, bytes);

        using (var log = SegmentedLog.Open(options))
        {
            Assert.NotNull(log.TornTail);
        }

        // The repair (zeroing after the cut) was synced: a crash right after open changes nothing.
        fs.Crash();
        using (var log = SegmentedLog.Open(options))
        {
            Assert.Null(log.TornTail);
            LogKit.AssertEntries(entries[..^1], LogKit.ReadAll(log), "after crash");
        }
    }

    private static async Task<List<LogEntry>> Build(LogOptions options, int lastEntrySize)
    {
        var entries = new List<LogEntry>();
        using var log = SegmentedLog.Open(options);
        var sizes = new[] { 120, 5, 900, 333, 64, lastEntrySize };
        for (var i = 0; i < sizes.Length; i++)
        {
            var entry = LogKit.Entry($"e{i}", sizes[i], principal: LogKit.Principals[i % LogKit.Principals.Length], term: (ulong)(1 + (i / 2)), lastByteNonZero: true);
            entries.Add(entry);
            await log.AppendAsync(entry);
        }

        return entries;
    }

    private static async Task<(SimulatedFileSystem Fs, LogOptions Options, List<LogEntry> Entries)> BuildSimulated(int lastEntrySize)
    {
        var fs = new SimulatedFileSystem(seed: 1);
        var options = LogKit.SimOptions(fs);
        var entries = await Build(options, lastEntrySize);
        return (fs, options, entries);
    }

    private static async Task ForEveryOffsetOfTheLastEntry(SimulatedFileSystem pristine, LogOptions options, List<LogEntry> entries, Damage damage, int expectedChunks)
    {
        var path = LogKit.SegmentFiles(pristine, LogKit.SimDirectory)[^1];
        var bytes = pristine.ReadAll(path);
        var records = LogKit.WalkRecords(path, bytes);
        var first = records.First(r => r.Position == entries[^1].Position);
        var lastRecord = records[^1];
        Assert.Equal(expectedChunks, lastRecord.ChunkCount);
        Assert.Equal(expectedChunks - 1, lastRecord.ChunkIndex);
        for (var at = first.Offset; at <= lastRecord.End; at++)
        {
            var fs = pristine.Clone(seed: (int)at);
            var damaged = damage == Damage.Truncate ? bytes[..(int)at] : bytes.ToArray();
            if (damage == Damage.ZeroTail)
            {
                damaged.AsSpan((int)at).Clear();
            }

            fs.Overwrite(path, damaged);
            await AssertRecovers(options with { FileSystem = fs }, entries, bytes, first, lastRecord.End, at, $"{damage} at {at}");
        }
    }

    /// <summary>
    /// Damage at <paramref name="at"/>: at the last entry's first byte the entry is simply absent;
    /// inside it, it is torn; at its end it is whole. Every offset is checked read-only (the same
    /// scan, without the repair); some also with the repair and an append after it.
    /// </summary>
    /// <remarks>
    /// What survives of a torn record may be only zero bytes (a header whose CRC begins with a zero
    /// byte, cut right after it). That is indistinguishable from the unwritten end of a segment,
    /// and is read as one: no torn tail, and the same entries. The header CRC covers the entry's
    /// timestamp, so which runs meet this case varies.
    /// </remarks>
    private static async Task AssertRecovers(LogOptions options, List<LogEntry> entries, byte[] segment, RecordLayout first, long end, long at, string context)
    {
        var intact = at >= end ? entries : entries[..^1];
        var survivingBytes = segment.AsSpan((int)first.Offset, (int)(Math.Min(at, end) - first.Offset));
        var torn = at > first.Offset && at < end && survivingBytes.ContainsAnyExcept((byte)0);
        using (var readOnly = SegmentedLog.Open(options with { ReadOnly = true }))
        {
            AssertTornTail(readOnly, torn, first, context + ", read-only");
            LogKit.AssertEntries(intact, LogKit.ReadAll(readOnly), context + ", read-only");
        }

        if (at % 8 != 0 && (at - first.Offset) % 512 > 48)
        {
            return;
        }

        using var log = SegmentedLog.Open(options);
        AssertTornTail(log, torn, first, context);
        LogKit.AssertEntries(intact, LogKit.ReadAll(log), context);
        var next = LogKit.Entry("after", 1500, term: 9);
        var position = await log.AppendAsync(next);
        Assert.Equal((ulong)intact.Count + 1, position);
        LogKit.AssertEntries([.. intact, next], LogKit.ReadAll(log), context + ", appended after recovery");
    }

    private static void AssertTornTail(SegmentedLog log, bool torn, RecordLayout first, string context)
    {
        if (torn)
        {
            Assert.True(log.TornTail is not null, $"{context}: no torn tail reported");
            Assert.Equal(first.File, log.TornTail.File);
            Assert.Equal(first.Offset, log.TornTail.Offset);
        }
        else
        {
            Assert.True(log.TornTail is null, $"{context}: unexpected torn tail {log.TornTail}");
        }
    }
}
