using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// Write groups bound what recovery may forgive: damage that looks like an unwritten sector is a
/// torn tail only inside the last group; a later group on disk proves it was durable.
/// </summary>
public class WriteGroupTests
{
    /// <summary>An entry whose own bytes hold whole zero sectors, so damage to it always "looks torn".</summary>
    private static LogEntry EntryWithZeroSectors(string id, int seed)
    {
        var bytes = new byte[2200];
        var random = new Random(seed);
        random.NextBytes(bytes.AsSpan(0, 600));
        random.NextBytes(bytes.AsSpan(2100));
        bytes[^1] = 0x5A;
        return new LogEntry { Term = 1, Principal = "tester", Payload = new Any { TypeUrl = "type.test/" + id, Value = ByteString.CopyFrom(bytes) } };
    }

    private static async Task<(string Segment, List<RecordLayout> Records)> WriteTwoGroupsAsync(string directory)
    {
        using (var log = SegmentedLog.Open(LogKit.DiskOptions(directory, segmentSize: 64 << 10, maxEntrySize: 4096)))
        {
            // Awaited one by one: each append is its own write group.
            await log.AppendAsync(EntryWithZeroSectors("first", 1));
            await log.AppendAsync(EntryWithZeroSectors("second", 2));
        }

        var segment = Directory.GetFiles(Path.Combine(directory, "log"), "segment-*.log").Single();
        return (segment, LogKit.WalkRecords(segment, File.ReadAllBytes(segment)));
    }

    private static void FlipBit(string file, long offset)
    {
        var bytes = File.ReadAllBytes(file);
        bytes[offset] ^= 0x10;
        File.WriteAllBytes(file, bytes);
    }

    [Fact]
    public async Task Every_write_group_starts_with_a_flagged_record()
    {
        using var dir = new TempDirectory();
        var (segment, records) = await WriteTwoGroupsAsync(dir.Path);
        var bytes = File.ReadAllBytes(segment);

        Assert.Equal(2, records.Count);
        foreach (var record in records)
        {
            Assert.True(RecordHeader.TryRead(bytes.AsSpan((int)record.Offset, RecordHeader.Size), LogKit.FreshFormat, out var header, out var problem), problem);
            Assert.Equal(RecordFlags.GroupStart, header.Flags);
        }
    }

    [Fact]
    public async Task Torn_looking_damage_followed_by_a_later_write_group_is_refused_not_cut()
    {
        using var dir = new TempDirectory();
        var (segment, records) = await WriteTwoGroupsAsync(dir.Path);
        var damagedAt = records[0].Offset + RecordHeader.Size + 100;
        FlipBit(segment, damagedAt);

        var e = Assert.Throws<LogCorruptedException>(() => SegmentedLog.Open(LogKit.DiskOptions(dir.Path, segmentSize: 64 << 10, maxEntrySize: 4096)));
        Assert.Equal(segment, e.File);
        Assert.Equal(records[0].Offset, e.Offset);
        Assert.Equal(1UL, e.Position);
        Assert.True(LogVerifier.Verify(LogKit.DiskOptions(dir.Path)).HasErrors);
    }

    [Fact]
    public async Task Torn_looking_damage_in_the_last_write_group_is_cut_as_a_torn_tail()
    {
        using var dir = new TempDirectory();
        var (segment, records) = await WriteTwoGroupsAsync(dir.Path);
        FlipBit(segment, records[1].Offset + RecordHeader.Size + 100);

        using var log = SegmentedLog.Open(LogKit.DiskOptions(dir.Path, segmentSize: 64 << 10, maxEntrySize: 4096));
        Assert.Equal(records[1].Offset, log.TornTail?.Offset);
        Assert.Equal(1UL, log.LastDurablePosition);
        Assert.Equal("first", LogKit.IdOf(Assert.Single(LogKit.ReadAll(log))));
    }
}
