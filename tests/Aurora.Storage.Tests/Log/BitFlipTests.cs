using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// A flipped bit is either reported with where it is, or — only in the last entry, and only when
/// the damaged bytes look like an interrupted write by the rule in <c>SegmentScanner</c>'s remarks —
/// cut as a torn tail. No other acknowledged entry is ever dropped, and a read never returns a
/// damaged entry.
/// </summary>
public class BitFlipTests
{
    private const int Seed = 20240611;
    private const int SectorSize = 512;

    private enum Outcome
    {
        Corrupt,
        Torn,
    }

    /// <param name="lastEntry">
    /// Random: damage to the last entry is corruption like any other. Zeros: the last entry holds
    /// sectors of zeros, so damage anywhere in it looks like a torn write and is cut as one.
    /// </param>
    [Theory]
    [InlineData(PayloadKind.Random)]
    [InlineData(PayloadKind.Zeros)]
    public async Task A_flipped_bit_in_any_byte_of_a_closed_log_is_located_or_cut_only_as_the_torn_last_entry(PayloadKind lastEntry)
    {
        var (pristine, options, entries) = await BuildAsync(lastEntry);
        var segments = LogKit.SegmentFiles(pristine, LogKit.SimDirectory);
        Assert.True(segments.Count >= 2, "the fixture should span several segments");
        Assert.True(entries[^1].Position > entries[^2].Position && LastEntryIsChunked(pristine, segments[^1]), "the fixture's last entry should be chunked");
        var random = new Random(Seed);
        var seen = new Dictionary<string, int> { ["corrupt"] = 0, ["torn last entry"] = 0, ["torn after the last entry"] = 0 };
        for (var s = 0; s < segments.Count; s++)
        {
            var path = segments[s];
            var bytes = pristine.ReadAll(path);
            var records = LogKit.WalkRecords(path, bytes);
            var dataEnd = records.Count > 0 ? records[^1].End : SegmentHeader.Size;
            var isLastSegment = s == segments.Count - 1;

            // Every byte of the segment header and the records, and some of the zeros after them.
            for (var offset = 0L; offset < Math.Min(bytes.Length, dataEnd + 600); offset++)
            {
                var bit = random.Next(8);
                var damaged = bytes.ToArray();
                damaged[offset] ^= (byte)(1 << bit);
                var context = $"seed {Seed}: bit {bit} of byte {offset} of {Path.GetFileName(path)}";
                var expected = Expect(path, damaged, records, dataEnd, isLastSegment, offset, entries, context);
                var fs = pristine.Clone(Seed);
                fs.FlipBit(path, offset, bit);
                seen[expected.Outcome == Outcome.Corrupt ? "corrupt" : expected.Survivors < entries.Count ? "torn last entry" : "torn after the last entry"]++;
                await AssertOutcomeAsync(options with { FileSystem = fs }, expected, entries, context, alsoWritable: offset % 16 == 0);
            }
        }

        // The fixture must really exercise the outcomes it is meant to.
        Assert.True(seen["corrupt"] > 1000 && seen["torn after the last entry"] > 0, string.Join(", ", seen));
        Assert.True(lastEntry == PayloadKind.Random ? seen["torn last entry"] < 50 : seen["torn last entry"] > 1000, string.Join(", ", seen));
    }

    [Fact]
    public async Task A_flipped_bit_in_a_live_log_makes_reads_fail_rather_than_return_the_damaged_entry()
    {
        var (fs, options, entries) = await BuildAsync();
        using var log = SegmentedLog.Open(options);
        var random = new Random(Seed);
        foreach (var path in LogKit.SegmentFiles(fs, LogKit.SimDirectory))
        {
            var records = LogKit.WalkRecords(path, fs.ReadAll(path));
            for (var offset = 0L; offset < records[^1].End + 100; offset++)
            {
                var bit = random.Next(8);
                var context = $"seed {Seed}: bit {bit} of byte {offset} of {Path.GetFileName(path)}";
                var damagedRecord = records.FirstOrDefault(r => offset >= r.Offset && offset < r.End);
                fs.FlipBit(path, offset, bit);
                try
                {
                    if (damagedRecord is null)
                    {
                        // The segment header and the zeros after the records are not read.
                        LogKit.AssertEntries(entries, LogKit.ReadAll(log), context);
                    }
                    else
                    {
                        var e = Assert.Throws<LogCorruptedException>(() => log.Read(1).ToList());
                        Assert.Equal(path, e.File);
                        Assert.Equal(damagedRecord.Offset, e.Offset);
                    }
                }
                finally
                {
                    fs.FlipBit(path, offset, bit);
                }
            }
        }
    }

    private static async Task<(SimulatedFileSystem Fs, LogOptions Options, List<LogEntry> Entries)> BuildAsync(PayloadKind lastEntry = PayloadKind.Random)
    {
        var fs = new SimulatedFileSystem(Seed);
        var options = LogKit.SimOptions(fs, segmentSize: 3072, maxEntrySize: 1024);
        var random = new Random(Seed);
        var entries = new List<LogEntry>();
        using (var log = SegmentedLog.Open(options))
        {
            for (var i = 0; i < 14; i++)
            {
                var entry = LogKit.Entry($"e{i}", random.Next(60, 420), term: (ulong)(1 + (i / 4)), seed: random.Next());
                entries.Add(entry);
                await log.AppendAsync(entry);
            }

            var last = LogKit.Entry("last", 2300, lastEntry, term: 7, seed: random.Next());
            entries.Add(last);
            await log.AppendAsync(last);
        }

        return (fs, options, entries);
    }

    private static bool LastEntryIsChunked(SimulatedFileSystem fs, string lastSegment) =>
        LogKit.WalkRecords(lastSegment, fs.ReadAll(lastSegment))[^1].ChunkCount > 1;

    private static Expectation Expect(string path, byte[] damaged, List<RecordLayout> records, long dataEnd, bool isLastSegment, long offset,
        List<LogEntry> entries, string context)
    {
        var firstInSegment = records.Count > 0 ? records[0].Position : entries[^1].Position + 1;
        if (offset < SegmentHeader.Size)
        {
            return new Expectation(Outcome.Corrupt, path, 0, firstInSegment, entries.Count);
        }

        var record = records.FirstOrDefault(r => offset >= r.Offset && offset < r.End);
        if (record is null)
        {
            // Zeros after the last record. Within a header's length of its end, the damage is read
            // as a damaged header there; further on, as non-zero bytes after the last record. The
            // last segment forgives it as a torn tail (nothing acknowledged is lost); a sealed one does not.
            var next = records.Count > 0 ? records[^1].Position + 1 : firstInSegment;
            var looksTornHeader = offset < dataEnd + 40 && (dataEnd + 40 > damaged.Length || LooksTorn(damaged, dataEnd, dataEnd + 40));
            var torn = isLastSegment && (offset >= dataEnd + 40 || looksTornHeader);
            return torn
                ? new Expectation(Outcome.Torn, path, dataEnd, null, entries.Count)
                : new Expectation(Outcome.Corrupt, path, offset < dataEnd + 40 ? dataEnd : offset, next, entries.Count);
        }

        var headerDamaged = offset < record.Offset + 40;
        var looksTorn = LooksTorn(damaged, record.Offset, headerDamaged ? record.Offset + 40 : record.End);
        var isLastEntry = record.Position == entries[^1].Position;
        Assert.True(isLastEntry || !looksTorn,
            $"{context}: fixture precondition: damage to entry {record.Position}, which is not the last, looks like a torn write; pick another seed");
        if (isLastSegment && looksTorn)
        {
            var firstChunk = records.First(r => r.Position == record.Position);
            return new Expectation(Outcome.Torn, path, firstChunk.Offset, null, entries.Count - 1);
        }

        return new Expectation(Outcome.Corrupt, path, record.Offset, record.Position, entries.Count);
    }

    /// <summary>
    /// The documented rule, implemented again here: damaged bytes look like an interrupted write
    /// when the record runs past the end of the file, when some sector is all zeros from the
    /// record's first byte in it to the sector's end, or when the record's last byte and every byte
    /// after it are zero.
    /// </summary>
    private static bool LooksTorn(byte[] file, long offset, long end)
    {
        if (end > file.Length)
        {
            return true;
        }

        for (var sector = offset / SectorSize * SectorSize; sector < end; sector += SectorSize)
        {
            var from = (int)Math.Max(sector, offset);
            var to = (int)Math.Min(sector + SectorSize, file.Length);
            if (file.AsSpan(from, to - from).IndexOfAnyExcept((byte)0) < 0)
            {
                return true;
            }
        }

        return file.AsSpan((int)end - 1).IndexOfAnyExcept((byte)0) < 0;
    }

    /// <summary>
    /// Checks the outcome read-only (the same scan, without the repair); for a torn tail also the
    /// repair and an append after it; for corruption, when asked, that a writable open refuses too.
    /// </summary>
    private static async Task AssertOutcomeAsync(LogOptions options, Expectation expected, List<LogEntry> entries, string context, bool alsoWritable)
    {
        SegmentedLog log;
        try
        {
            log = SegmentedLog.Open(options with { ReadOnly = true });
        }
        catch (LogCorruptedException e)
        {
            Assert.True(expected.Outcome == Outcome.Corrupt, $"{context}: expected {expected.Outcome}, but open failed: {e.Message}");
            Assert.Equal(expected.File, e.File);
            Assert.True(expected.Offset == e.Offset, $"{context}: reported offset {e.Offset}, expected {expected.Offset} ({e.Message})");
            Assert.True(expected.Position == e.Position, $"{context}: reported position {e.Position}, expected {expected.Position} ({e.Message})");
            if (alsoWritable)
            {
                Assert.Equal(e.Message, Assert.Throws<LogCorruptedException>(() => SegmentedLog.Open(options).Dispose()).Message);
            }

            return;
        }

        using (log)
        {
            Assert.True(expected.Outcome != Outcome.Corrupt, $"{context}: expected corruption at {expected.Offset}, but the log opened (torn tail: {log.TornTail})");
            AssertTorn(log, expected, entries, context + ", read-only");
        }

        using var repaired = SegmentedLog.Open(options);
        AssertTorn(repaired, expected, entries, context);
        var next = LogKit.Entry("after", 100, term: 8);
        Assert.Equal((ulong)expected.Survivors + 1, await repaired.AppendAsync(next));
        LogKit.AssertEntries([.. entries[..expected.Survivors], next], LogKit.ReadAll(repaired), context + ", appended after recovery");
    }

    private static void AssertTorn(SegmentedLog log, Expectation expected, List<LogEntry> entries, string context)
    {
        Assert.True(log.TornTail is not null, $"{context}: expected a torn tail at {expected.Offset}");
        Assert.Equal(expected.File, log.TornTail.File);
        Assert.Equal(expected.Offset, log.TornTail.Offset);
        LogKit.AssertEntries(entries[..expected.Survivors], LogKit.ReadAll(log), context);
    }

    private sealed record Expectation(Outcome Outcome, string File, long Offset, ulong? Position, int Survivors);
}
