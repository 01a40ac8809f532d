using Aurora.Storage.IO;
using Aurora.Storage.Snapshots;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Snapshots;

/// <summary>
/// A blob written through a stream (<see cref="SnapshotStore.Write(ulong, ulong, string, ulong, Action{Stream})"/>)
/// goes to the disk a chunk at a time, each durable before the next is handed over, and is as safe
/// against a crash, a wrong length and an unlucky checksum as a blob written whole.
/// </summary>
public class StreamedSnapshotWriteTests
{
    private const string BlobType = "type.test/SchedulerState";
    private const string Directory = "/replica";

    private static SnapshotStore Store(SimulatedFileSystem fs) => new(new SnapshotOptions
    {
        Directory = Directory,
        FileSystem = fs,
        RetainCount = 2,
        Time = new ManualTimeProvider(),
        Logger = new RecordingLogger(),
    });

    private static byte[] RandomBlob(int length, int seed)
    {
        var blob = new byte[length];
        new Random(seed).NextBytes(blob);
        return blob;
    }

    /// <summary>Writes <paramref name="blob"/> in pieces of uneven sizes, as an encoder would.</summary>
    private static void WriteInPieces(Stream sink, byte[] blob)
    {
        var random = new Random(blob.Length);
        for (var offset = 0; offset < blob.Length;)
        {
            var piece = Math.Min(blob.Length - offset, random.Next(1, 70_000));
            sink.Write(blob, offset, piece);
            offset += piece;
        }
    }

    [Fact]
    public void A_large_blob_reaches_the_disk_a_chunk_at_a_time_each_synced_before_the_next_is_written()
    {
        var fs = new SimulatedFileSystem(seed: 1);
        var store = Store(fs);
        var blob = RandomBlob((BlobSink.ChunkSize * 7 / 2) + 123, seed: 1);

        var info = store.Write(9, 2, BlobType, (ulong)blob.Length, sink => WriteInPieces(sink, blob));

        var snapshot = store.Read(info.Path);
        Assert.Equal(blob, snapshot.Blob);
        Assert.Equal(Crc32C.Compute(blob), info.BlobCrc32C);
        Assert.Empty(store.Verify());

        // Between two fdatasyncs of the file being written, at most one chunk was written.
        var unsynced = 0L;
        var syncs = 0;
        foreach (var operation in fs.History.Where(o => o.Path.EndsWith(".tmp", StringComparison.Ordinal)))
        {
            if (operation.Kind == FsOperationKind.Write)
            {
                unsynced += operation.Length;
                Assert.True(unsynced <= BlobSink.ChunkSize + 64, $"{unsynced} bytes were written without an fdatasync");
            }
            else if (operation.Kind == FsOperationKind.DataSync)
            {
                unsynced = 0;
                syncs++;
            }
        }

        Assert.Equal(4, syncs);
    }

    [Fact]
    public void A_blob_of_the_wrong_length_is_refused_and_leaves_the_previous_snapshots_alone()
    {
        var fs = new SimulatedFileSystem(seed: 2);
        var store = Store(fs);
        var earlier = store.Write(5, 1, BlobType, RandomBlob(1000, seed: 2));
        var blob = RandomBlob(BlobSink.ChunkSize + 10, seed: 3);

        var tooShort = Assert.Throws<InvalidOperationException>(() => store.Write(9, 2, BlobType, (ulong)blob.Length + 1, sink => sink.Write(blob)));
        Assert.Contains($"not the {blob.Length + 1} its header gives", tooShort.Message, StringComparison.Ordinal);
        var tooLong = Assert.Throws<InvalidOperationException>(() => store.Write(9, 2, BlobType, (ulong)blob.Length - 1, sink => sink.Write(blob)));
        Assert.Contains($"longer than the {blob.Length - 1} bytes", tooLong.Message, StringComparison.Ordinal);

        Assert.Equal([earlier], store.List());
        Assert.Equal([store.PathFor(5)], fs.ListFiles(store.Directory));
    }

    [Fact]
    public void A_blob_whose_checksum_is_zero_round_trips()
    {
        // proto3 leaves a zero checksum out of the header; the writer must not, or the header it
        // writes after the blob is shorter than the one the blob's offset was computed from.
        var blob = ForgeZeroCrc(RandomBlob((BlobSink.ChunkSize * 2) + 77, seed: 4));
        Assert.Equal(0u, Crc32C.Compute(blob));
        var fs = new SimulatedFileSystem(seed: 4);
        var store = Store(fs);

        var streamed = store.Write(9, 2, BlobType, (ulong)blob.Length, sink => WriteInPieces(sink, blob));
        var whole = store.Write(10, 2, BlobType, blob);

        foreach (var info in new[] { streamed, whole })
        {
            Assert.Equal(0u, info.BlobCrc32C);
            Assert.Equal(blob, store.Read(info.Path).Blob);
        }

        Assert.Equal(blob, store.LoadNewest().Newest?.Blob);
        Assert.Empty(store.Verify());
    }

    [Fact]
    public void A_crash_at_any_step_of_a_streamed_write_leaves_the_previous_snapshot_or_the_new_one()
    {
        var blob = RandomBlob((BlobSink.ChunkSize * 5 / 2) + 5, seed: 5);
        var earlierBlob = RandomBlob(3000, seed: 6);

        // Every operation of the write (and its retention) crashed in turn, with torn writes.
        var outcomes = new HashSet<ulong>();
        for (var step = 1; ; step++)
        {
            var fs = new SimulatedFileSystem(seed: 100 + step);
            Store(fs).Write(5, 1, BlobType, earlierBlob);
            fs.CrashAtOperation(step, tornWrites: true);
            var completed = false;
            try
            {
                Store(fs).Write(9, 2, BlobType, (ulong)blob.Length, sink => WriteInPieces(sink, blob));
                completed = true;
            }
            catch (IOException)
            {
            }

            fs.Crash(tornWrites: true);
            var loaded = Store(fs).LoadNewest();
            Assert.Empty(loaded.Skipped);
            var newest = Assert.IsType<Snapshot>(loaded.Newest);
            Assert.Equal(newest.Info.Position == 9 ? blob : earlierBlob, newest.Blob);
            outcomes.Add(newest.Info.Position);
            if (completed)
            {
                // The write finished before the armed step: every step has been crashed.
                Assert.Equal(9UL, newest.Info.Position);
                Assert.True(step > 8, $"a chunked write of {blob.Length} bytes finished within {step - 1} operations");
                break;
            }
        }

        Assert.Equal([5UL, 9UL], outcomes.Order());
    }

    /// <summary>
    /// Replaces the last four bytes of <paramref name="blob"/> so that its CRC32C is zero: CRC is
    /// linear, so the register state that ends in the wanted one is found by running the table
    /// backwards over four bytes.
    /// </summary>
    private static byte[] ForgeZeroCrc(byte[] blob)
    {
        const uint Polynomial = 0x82F63B78;
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var entry = i;
            for (var bit = 0; bit < 8; bit++)
            {
                entry = (entry & 1) != 0 ? (entry >> 1) ^ Polynomial : entry >> 1;
            }

            table[i] = entry;
        }

        // The register after all but the last four bytes, and the one wanted after them (the result is inverted).
        var before = Crc32C.Append(~0u, blob.AsSpan(0, blob.Length - 4));
        var wanted = ~0u;
        for (var step = 0; step < 4; step++)
        {
            var index = (uint)Array.FindIndex(table, t => t >> 24 == wanted >> 24);
            wanted = ((wanted ^ table[index]) << 8) | index;
        }

        var forged = (byte[])blob.Clone();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(forged.AsSpan(blob.Length - 4), before ^ wanted);
        return forged;
    }
}
