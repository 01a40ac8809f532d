using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Log;

/// <summary>Reads return exactly the requested durable range, or fail; they never stop short silently.</summary>
public class SegmentedLogReadTests
{
    private static async Task<(SimulatedFileSystem Fs, SegmentedLog Log, List<LogEntry> Entries)> OpenWithEntriesAsync(int count)
    {
        var fs = new SimulatedFileSystem(seed: 2);
        var log = SegmentedLog.Open(LogKit.SimOptions(fs, segmentSize: 4 << 10));
        var entries = new List<LogEntry>();
        for (var i = 0; i < count; i++)
        {
            var entry = LogKit.Entry($"r{i}", 100 + (i * 53 % 700));
            await log.AppendAsync(entry);
            entries.Add(entry);
        }

        return (fs, log, entries);
    }

    [Fact]
    public async Task Reading_a_reversed_range_or_one_past_the_end_returns_nothing()
    {
        var (_, log, entries) = await OpenWithEntriesAsync(20);
        using (log)
        {
            Assert.Empty(log.Read(5, 3));
            Assert.Empty(log.Read(12, 11));
            Assert.Empty(log.Read(21));
            Assert.Empty(log.Read(25, 30));
            Assert.Equal(entries[4], Assert.Single(log.Read(5, 5)));
            LogKit.AssertEntries(entries[17..], log.Read(18, 1000).ToList(), "Read(18, 1000)");
        }
    }

    [Fact]
    public async Task A_live_read_fails_rather_than_stop_short_when_acknowledged_records_read_as_zeros()
    {
        var (fs, log, entries) = await OpenWithEntriesAsync(20);
        using (log)
        {
            var path = LogKit.SegmentFiles(fs, LogKit.SimDirectory)[0];
            var bytes = fs.ReadAll(path);
            var records = LogKit.WalkRecords(path, bytes);
            Assert.True(records.Count >= 3);

            // A lost write: the second record of a sealed segment reads back as zeros.
            bytes.AsSpan((int)records[1].Offset, (int)records[1].Length).Clear();
            fs.Overwrite(path, bytes);
            var e = Assert.Throws<LogCorruptedException>(() => log.Read(1).ToList());
            Assert.Equal(path, e.File);
            Assert.Equal(records[1].Offset, e.Offset);
            Assert.Equal(records[1].Position, e.Position);
            Assert.Equal(entries[0], Assert.Single(log.Read(1, 1)));
        }
    }

    [Fact]
    public async Task A_second_open_of_a_log_in_use_fails_until_the_first_is_disposed()
    {
        var (fs, log, entries) = await OpenWithEntriesAsync(3);
        var options = LogKit.SimOptions(fs, segmentSize: 4 << 10);
        using (log)
        {
            var e = Assert.ThrowsAny<IOException>(() => SegmentedLog.Open(options));
            Assert.Contains("locked", e.Message, StringComparison.Ordinal);
            using var reader = SegmentedLog.Open(options with { ReadOnly = true });
            LogKit.AssertEntries(entries, LogKit.ReadAll(reader), "read-only beside the writer");
        }

        using var reopened = SegmentedLog.Open(options);
        LogKit.AssertEntries(entries, LogKit.ReadAll(reopened), "reopened");
    }
}
