using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Storage.Tests;

public class SegmentedLogSmokeTests
{
    private static LogEntry Entry(int size, byte seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return new LogEntry
        {
            Term = 1,
            Principal = "tester",
            Payload = new Any { TypeUrl = "type.test/blob", Value = ByteString.CopyFrom(bytes) },
        };
    }

    [Fact]
    public async Task Appended_entries_read_back_after_reopen_across_segment_rolls()
    {
        using var dir = new TempDirectory();
        var options = new LogOptions { Directory = dir.Path, SegmentSize = 64 * 1024, MaxEntrySize = 4096, Compression = CompressionCodec.Brotli, CompressionMinBytes = 100 };
        var expected = new List<LogEntry>();
        using (var log = SegmentedLog.Open(options))
        {
            var tasks = new List<Task<ulong>>();
            for (var i = 0; i < 200; i++)
            {
                var e = Entry(i * 97 % 10000, (byte)i);
                expected.Add(e);
                tasks.Add(log.AppendAsync(e));
            }

            await Task.WhenAll(tasks);
            Assert.Equal(200UL, log.LastDurablePosition);
            Assert.True(log.Segments.Count > 2);
        }

        using (var log = SegmentedLog.Open(options))
        {
            Assert.Null(log.TornTail);
            var read = log.Read(1).ToList();
            Assert.Equal(expected.Count, read.Count);
            for (var i = 0; i < read.Count; i++)
            {
                Assert.Equal(expected[i], read[i]);
            }

            Assert.Equal(expected[150], log.Read(151, 151).Single());
            Assert.Equal(201UL, await log.AppendAsync(Entry(10, 1)));
        }
    }
}
