using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// A log written before segment format version 3 (Log/Fixtures/version2-log, written by the code of
/// main at eddf199: segment format 2, record format 1) still opens, reads and continues.
/// </summary>
/// <remarks>
/// The fixture was written with <c>SegmentSize = 2048, MaxEntrySize = 1024, Compression = Deflate,
/// CompressionMinBytes = 64</c>: <see cref="Entry"/>(1..30) appended one at a time, then
/// <c>TruncatePrefix(10)</c>, which removed the first segment (the next-segment file is not kept).
/// </remarks>
public class OldFormatTests
{
    private static LogOptions Options(string directory) => new()
    {
        Directory = directory,
        SegmentSize = 2048,
        MaxEntrySize = 1024,
        Compression = CompressionCodec.Deflate,
        CompressionMinBytes = 64,
    };

    /// <summary>The fixture's entry <paramref name="i"/> as it was appended (position and timestamp as the log then had them).</summary>
    private static LogEntry Entry(int i)
    {
        var size = i == 17 ? 2500 : i % 5 == 0 ? 400 : 150;
        var value = new byte[size];
        for (var b = 0; b < size; b++)
        {
            value[b] = (byte)(i % 3 == 0 ? 'a' + (b % 7) : ((b * 31) + i) & 0xFF);
        }

        return new LogEntry
        {
            Position = (ulong)i,
            Term = (ulong)(1 + (i / 12)),
            TimestampMicros = 1_764_000_000_000_000 + i,
            Principal = "fixture",
            Payload = new Any { TypeUrl = "type.test/fixture", Value = ByteString.CopyFrom(value) },
        };
    }

    private static string CopyFixture(TempDirectory dir)
    {
        var source = Path.Combine(AppContext.BaseDirectory, "Log", "Fixtures", "version2-log", "log");
        var target = Path.Combine(dir.Path, "log");
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        return dir.Path;
    }

    [Fact]
    public void The_fixture_is_a_log_of_segment_format_version_2()
    {
        using var dir = new TempDirectory();
        var files = Directory.GetFiles(Path.Combine(CopyFixture(dir), "log")).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["segment-00000000000000000010.log", "segment-00000000000000000019.log", "segment-00000000000000000028.log"], files.Select(Path.GetFileName));
        Assert.All(files, file => Assert.Equal(2, File.ReadAllBytes(file)[8]));
        Assert.All(files, file => Assert.Equal(RecordHeader.FirstVersion, File.ReadAllBytes(file)[SegmentHeader.LegacySize + 4]));
    }

    [Fact]
    public void A_log_written_before_format_version_3_opens_and_reads_as_it_was_written()
    {
        using var dir = new TempDirectory();
        var options = Options(CopyFixture(dir)) with { ReadOnly = true };
        Assert.Empty(LogVerifier.Verify(options).Problems);
        using var log = SegmentedLog.Open(options);
        Assert.Null(log.TornTail);
        Assert.Equal((10UL, 30UL, 3UL), (log.FirstRetainedPosition, log.LastDurablePosition, log.LastDurableTerm));
        Assert.Equal(1UL, log.TermAt(9)); // from the first retained segment's version-2 header
        LogKit.AssertEntries([.. Enumerable.Range(10, 21).Select(Entry)], [.. log.Read(10)], "the fixture");
    }

    [Fact]
    public async Task A_log_written_before_format_version_3_continues_in_version_3_segments_and_recycles_its_old_ones()
    {
        using var dir = new TempDirectory();
        var options = Options(CopyFixture(dir));
        var expected = Enumerable.Range(10, 21).Select(Entry).ToList();
        using (var log = SegmentedLog.Open(options))
        {
            for (var round = 0; round < 3; round++)
            {
                // Fill a few segments, then truncate the old ones away: they become the next segments.
                for (var i = 0; i < 15; i++)
                {
                    var entry = LogKit.Entry($"new-{round}-{i:D2}", 300, term: 4, seed: i);
                    expected.Add(entry.Clone());
                    expected[^1].Position = await log.AppendAsync(entry);
                }

                var first = log.TruncatePrefix(log.Segments[^2].FirstPosition);
                expected.RemoveAll(e => e.Position < first);
            }

            LogKit.AssertEntries(expected, [.. log.Read(log.FirstRetainedPosition)], "before reopening");
        }

        var segments = Directory.GetFiles(Path.Combine(dir.Path, "log"), "segment-*.log");
        Assert.All(segments, file => Assert.Equal(3, File.ReadAllBytes(file)[8]));
        Assert.Contains(segments, file => SegmentHeader.TryRead(File.ReadAllBytes(file), out _, out _, out var format, out _) && format.Recycled);
        Assert.Empty(LogVerifier.Verify(options with { ReadOnly = true }).Problems);
        using var reopened = SegmentedLog.Open(options);
        Assert.Null(reopened.TornTail);
        LogKit.AssertEntries(expected, [.. reopened.Read(reopened.FirstRetainedPosition)], "after reopening");
    }
}
