using Aurora.Replication.Consensus;
using Aurora.Replication.Storage;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;
using Google.Protobuf;

namespace Aurora.Replication.Tests.Storage;

/// <summary>
/// <see cref="LogReplicaStorage.Read"/> serves the newest entries from memory: whatever it serves
/// them from, it answers what the log holds, through appends, suffix truncations, prefix
/// truncations and snapshot installs, and hands out entries nobody else changes.
/// </summary>
public sealed class LogReplicaStorageTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly SegmentedLog _log;
    private readonly LogReplicaStorage _storage;

    public LogReplicaStorageTests()
    {
        _log = SegmentedLog.Open(new LogOptions { Directory = _root.Path, SegmentSize = 256 * 1024, MaxEntrySize = 4096 });
        _storage = NewStorage();
    }

    public void Dispose()
    {
        _log.Dispose();
        _root.Dispose();
    }

    [Fact]
    public void Reads_answer_what_the_log_holds_through_appends_and_truncations()
    {
        // 1,000 entries of ~1 KiB in batches of 1 to 64: more than the memory holds, over several segments.
        var random = new Random(7);
        var term = 1UL;
        AppendEntries(1000, term, random);
        AssertReadsMatchTheLog(random);

        // A new leader's entries replace the suffix.
        _storage.TruncateSuffix(_storage.LastPosition - 37);
        AssertReadsMatchTheLog(random);
        term++;
        AppendEntries(100, term, random);
        AssertReadsMatchTheLog(random);

        // The host drops the log before a snapshot, from its own thread.
        _log.TruncatePrefix(_storage.LastPosition - 300);
        Assert.Throws<PositionTruncatedException>(() => _storage.Read(1, 10, 1 << 20));
        AppendEntries(50, term, random);
        AssertReadsMatchTheLog(random);

        // A snapshot beyond the log resets it; appends go on after the snapshot.
        var snapshotAt = _storage.LastPosition + 500;
        _storage.InstallSnapshot(new ReplicaSnapshot(snapshotAt, term, "test", 0, 4, Aurora.Storage.Crc32C.Compute("blob"u8)), "blob"u8.ToArray());
        Assert.Empty(_storage.Read(snapshotAt + 1, snapshotAt + 10, 1 << 20));
        AppendEntries(80, term + 1, random);
        AssertReadsMatchTheLog(random);
    }

    [Fact]
    public async Task Entries_the_memory_lacks_are_read_from_the_log()
    {
        var random = new Random(3);
        AppendEntries(100, 1, random);

        // Written to the log without the storage (as a failed append that kept part of its
        // entries would leave it): the memory no longer ends where the log does.
        await _log.AppendAsync([NewEntry(101, 1, 100), NewEntry(102, 1, 100)]);
        Assert.Equal([101UL, 102UL], _storage.Read(101, 102, 1 << 20).Select(e => e.Position));
        AssertReadsMatchTheLog(random);
        AppendEntries(10, 1, random);
        AssertReadsMatchTheLog(random);
    }

    [Fact]
    public void Entries_read_are_copies_of_what_was_appended()
    {
        var entry = NewEntry(1, 1, 100);
        _storage.Append([entry]);
        entry.Principal = "changed after the append";
        var read = _storage.Read(1, 1, 1 << 20).Single();
        Assert.Equal("bench", read.Principal);
        read.Principal = "changed by a reader";
        Assert.Equal("bench", _storage.Read(1, 1, 1 << 20).Single().Principal);
    }

    private LogReplicaStorage NewStorage() => new(
        _log,
        new SnapshotStore(new SnapshotOptions { Directory = _root.Path }),
        new ReplicaMetadataStore(PhysicalFileSystem.Instance, _root.Path));

    private void AppendEntries(int count, ulong term, Random random)
    {
        var next = _storage.LastPosition + 1;
        var end = next + (ulong)count;
        while (next < end)
        {
            var batch = new List<LogEntry>();
            for (var n = random.Next(1, 65); n > 0 && next < end; n--)
            {
                batch.Add(NewEntry(next++, term, random.Next(0, 2048)));
            }

            _storage.Append(batch);
        }
    }

    /// <summary>Reads of random ranges and byte limits, against a fresh storage over the same log, which has nothing in memory.</summary>
    private void AssertReadsMatchTheLog(Random random)
    {
        var fromTheLog = NewStorage();
        var first = _storage.FirstPosition;
        var last = _storage.LastPosition;
        for (var i = 0; i < 200; i++)
        {
            // Most near the tail, where the reads of a running replica are; some beyond the end.
            var from = i % 4 == 0 ? first + (ulong)random.NextInt64(0, (long)(last - first + 2)) : last - Math.Min(last - first, (ulong)random.Next(0, 200));
            var to = from + (ulong)random.Next(0, 300);
            var maxBytes = random.Next(1, 200_000);
            var expected = fromTheLog.Read(from, to, maxBytes);
            var actual = _storage.Read(from, to, maxBytes);
            Assert.Equal(expected.Select(e => e.ToByteString()), actual.Select(e => e.ToByteString()));
        }
    }

    private static LogEntry NewEntry(ulong position, ulong term, int size) => new()
    {
        Position = position,
        Term = term,
        TimestampMicros = 1_763_000_000_000_000 + (long)position,
        Principal = "bench",
        Payload = new Google.Protobuf.WellKnownTypes.Any { TypeUrl = "type.aurora/test.Blob", Value = ByteString.CopyFrom(new byte[size]) },
    };
}
