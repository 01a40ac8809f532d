using System.Text;
using Aurora.Storage.Snapshots;

namespace Aurora.Storage.Tests.Snapshots;

public class SnapshotStoreTests
{
    private const string BlobType = "type.test/SchedulerState";
    private const int SnapshotSkippedEvent = 1010;

    private static SnapshotStore Store(TempDirectory dir, TimeProvider? time = null, RecordingLogger? logger = null, int retain = 3) => new(new SnapshotOptions
    {
        Directory = dir.Path,
        RetainCount = retain,
        Time = time ?? new ManualTimeProvider(),
        Logger = logger ?? new RecordingLogger(),
    });

    private static byte[] Blob(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Written_snapshot_reads_back_with_its_header()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider(new DateTimeOffset(2024, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1234560));
        var store = Store(dir, time);
        var blob = Blob("the whole scheduler state");

        var written = store.Write(42, 7, BlobType, blob);

        Assert.Equal(store.PathFor(42), written.Path);
        Assert.Equal(Path.Combine(dir.Path, "snapshots", "snapshot-00000000000000000042.snap"), written.Path);
        Assert.Equal(42UL, written.Position);
        Assert.Equal(7UL, written.Term);
        Assert.Equal(time.GetUtcNow(), written.CreatedAt);
        Assert.Equal(blob.Length, written.BlobLength);
        Assert.Equal(Crc32C.Compute(blob), written.BlobCrc32C);
        Assert.Equal(BlobType, written.BlobType);

        var loaded = store.LoadNewest();
        Assert.Empty(loaded.Skipped);
        Assert.NotNull(loaded.Newest);
        Assert.Equal(written, loaded.Newest.Info);
        Assert.Equal(blob, loaded.Newest.Blob);
        Assert.Equal(written, Assert.Single(store.List()));
        Assert.Equal(blob, store.Read(written.Path).Blob);
        Assert.Empty(store.Verify());
    }

    [Fact]
    public void A_store_without_snapshots_finds_none_and_creates_nothing()
    {
        using var dir = new TempDirectory();
        var store = Store(dir);

        var loaded = store.LoadNewest();

        Assert.Null(loaded.Newest);
        Assert.Empty(loaded.Skipped);
        Assert.Empty(store.List());
        Assert.Empty(store.Verify());
        Assert.False(Directory.Exists(store.Directory));
    }

    [Fact]
    public void The_newest_snapshot_is_the_one_at_the_highest_position_whatever_the_write_order()
    {
        using var dir = new TempDirectory();
        var store = Store(dir, retain: 10);
        store.Write(5, 1, BlobType, Blob("five"));
        store.Write(900, 2, BlobType, Blob("nine hundred"));
        store.Write(77, 2, BlobType, Blob("seventy-seven"));

        Assert.Equal(Blob("nine hundred"), store.LoadNewest().Newest?.Blob);
        Assert.Equal([900UL, 77UL, 5UL], store.List().Select(s => s.Position));
    }

    [Fact]
    public void A_bit_flip_anywhere_in_the_newest_snapshot_is_reported_logged_and_the_previous_one_used()
    {
        using var dir = new TempDirectory();
        var logger = new RecordingLogger();
        var store = Store(dir, logger: logger);
        store.Write(10, 1, BlobType, Blob("previous state"));
        var newest = store.Write(20, 1, BlobType, Blob("newest state")).Path;
        var pristine = File.ReadAllBytes(newest);

        for (var bit = 0; bit < pristine.Length * 8; bit++)
        {
            var damaged = (byte[])pristine.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            File.WriteAllBytes(newest, damaged);

            var loaded = store.LoadNewest();

            Assert.True(loaded.Newest is { Info.Position: 10 }, $"flipped bit {bit} (byte {bit / 8}) was not detected");
            Assert.Equal(Blob("previous state"), loaded.Newest.Blob);
            var skipped = Assert.Single(loaded.Skipped);
            Assert.Equal(newest, skipped.Path);
            Assert.False(string.IsNullOrWhiteSpace(skipped.Problem));
            Assert.Equal(newest, Assert.Single(store.Verify()).Path);
        }

        var logged = logger.Messages(SnapshotSkippedEvent);
        Assert.Equal(pristine.Length * 8, logged.Count(m => m.Contains(newest, StringComparison.Ordinal)));
    }

    [Fact]
    public void A_newest_snapshot_truncated_at_any_length_or_with_bytes_appended_is_skipped_and_the_previous_one_used()
    {
        using var dir = new TempDirectory();
        var logger = new RecordingLogger();
        var store = Store(dir, logger: logger);
        store.Write(10, 1, BlobType, Blob("previous state"));
        var newest = store.Write(20, 1, BlobType, Blob("newest state")).Path;
        var pristine = File.ReadAllBytes(newest);

        var variants = Enumerable.Range(0, pristine.Length).Select(n => pristine[..n]).Append([.. pristine, 0]);
        foreach (var damaged in variants)
        {
            File.WriteAllBytes(newest, damaged);

            var loaded = store.LoadNewest();

            Assert.True(loaded.Newest is { Info.Position: 10 }, $"a file of {damaged.Length} of {pristine.Length} bytes was not detected");
            Assert.Equal(newest, Assert.Single(loaded.Skipped).Path);
        }

        Assert.Equal(pristine.Length + 1, logger.Messages(SnapshotSkippedEvent).Count);
    }

    [Fact]
    public void When_every_snapshot_is_damaged_none_is_returned_and_all_are_reported_newest_first()
    {
        using var dir = new TempDirectory();
        var store = Store(dir);
        var older = store.Write(1, 1, BlobType, Blob("a")).Path;
        var newer = store.Write(2, 1, BlobType, Blob("b")).Path;
        File.WriteAllBytes(older, []);
        File.WriteAllBytes(newer, Blob("garbage, not a snapshot"));

        var loaded = store.LoadNewest();

        Assert.Null(loaded.Newest);
        Assert.Equal([newer, older], loaded.Skipped.Select(p => p.Path));
        Assert.Equal("not a snapshot file (bad magic)", loaded.Skipped[0].Problem);
        Assert.Equal("empty file", loaded.Skipped[1].Problem);
    }

    [Fact]
    public void Retention_keeps_only_the_newest_RetainCount_snapshots()
    {
        using var dir = new TempDirectory();
        var store = Store(dir, retain: 2);

        for (ulong position = 1; position <= 5; position++)
        {
            store.Write(position * 10, 1, BlobType, Blob($"state {position}"));
        }

        Assert.Equal([50UL, 40UL], store.List().Select(s => s.Position));
        Assert.Equal(2, Directory.GetFiles(store.Directory).Length);
    }

    [Fact]
    public void Retention_never_removes_the_snapshot_just_written_even_at_a_lower_position()
    {
        using var dir = new TempDirectory();
        var store = Store(dir, retain: 1);
        store.Write(100, 1, BlobType, Blob("high"));

        var low = store.Write(50, 1, BlobType, Blob("low"));

        Assert.True(File.Exists(low.Path));
        Assert.Equal([100UL, 50UL], store.List().Select(s => s.Position));

        store.Write(150, 1, BlobType, Blob("higher"));

        Assert.Equal([150UL], store.List().Select(s => s.Position));
    }

    [Fact]
    public void A_snapshot_at_an_existing_position_replaces_it()
    {
        using var dir = new TempDirectory();
        var store = Store(dir);
        store.Write(42, 1, BlobType, Blob("first"));
        store.Write(42, 2, BlobType, Blob("second"));

        var only = Assert.Single(store.List());
        Assert.Equal(2UL, only.Term);
        Assert.Equal(Blob("second"), store.LoadNewest().Newest?.Blob);
    }

    [Fact]
    public void Leftover_temp_files_are_ignored_and_removed_by_the_next_write()
    {
        using var dir = new TempDirectory();
        var store = Store(dir);
        store.Write(1, 1, BlobType, Blob("durable"));
        var leftover = store.PathFor(2) + ".tmp";
        File.WriteAllBytes(leftover, Blob("half a snapshot from a crash"));

        Assert.Equal([1UL], store.List().Select(s => s.Position));
        Assert.Empty(store.LoadNewest().Skipped);
        Assert.Empty(store.Verify());

        store.Write(3, 1, BlobType, Blob("next"));

        Assert.False(File.Exists(leftover));
    }

    [Fact]
    public void Files_that_are_not_named_like_snapshots_are_ignored()
    {
        using var dir = new TempDirectory();
        var store = Store(dir, retain: 1);
        store.Write(1, 1, BlobType, Blob("a"));
        var stranger = Path.Combine(store.Directory, "snapshot-42.snap");
        File.WriteAllBytes(stranger, Blob("someone else's file"));

        store.Write(2, 1, BlobType, Blob("b"));

        Assert.Equal([2UL], store.List().Select(s => s.Position));
        Assert.Empty(store.Verify());
        Assert.True(File.Exists(stranger));
    }

    [Fact]
    public void List_checks_headers_only_and_leaves_out_snapshots_with_a_damaged_header()
    {
        using var dir = new TempDirectory();
        var logger = new RecordingLogger();
        var store = Store(dir, logger: logger, retain: 5);
        store.Write(1, 1, BlobType, Blob("fine"));
        var headerDamaged = store.Write(2, 1, BlobType, Blob("header damaged")).Path;
        var blobDamaged = store.Write(3, 1, BlobType, Blob("blob damaged")).Path;
        FlipBit(headerDamaged, 25);
        FlipBit(blobDamaged, new FileInfo(blobDamaged).Length - 1);

        Assert.Equal([3UL, 1UL], store.List().Select(s => s.Position));
        Assert.Contains(logger.Messages(SnapshotSkippedEvent), m => m.Contains(headerDamaged, StringComparison.Ordinal));
        Assert.Equal([blobDamaged, headerDamaged], store.Verify().Select(p => p.Path));
        Assert.Equal(1UL, store.LoadNewest().Newest?.Info.Position);
    }

    [Fact]
    public void A_snapshot_renamed_to_another_position_is_rejected()
    {
        using var dir = new TempDirectory();
        var store = Store(dir);
        var written = store.Write(5, 1, BlobType, Blob("state at 5")).Path;
        File.Move(written, store.PathFor(6));

        var problem = Assert.Single(store.Verify());

        Assert.Equal(store.PathFor(6), problem.Path);
        Assert.Equal("the file name says position 6 but the header says 5", problem.Problem);
        Assert.Null(store.LoadNewest().Newest);
    }

    [Fact]
    public void An_unknown_format_version_is_a_typed_error_naming_the_file()
    {
        using var dir = new TempDirectory();
        var store = Store(dir);
        var path = store.Write(5, 1, BlobType, Blob("state")).Path;
        var bytes = File.ReadAllBytes(path);
        bytes[8] = 2;
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<InvalidDataException>(() => store.Read(path));

        var version = Assert.IsType<UnknownSnapshotFormatVersionException>(error.InnerException);
        Assert.Equal(2U, version.Version);
        Assert.Equal(1U, version.SupportedVersion);
        Assert.Equal(path, version.Path);
        Assert.StartsWith(path + ": unknown snapshot format version 2 (this build reads version 1)", error.Message, StringComparison.Ordinal);
        Assert.Contains("unknown snapshot format version 2", Assert.Single(store.LoadNewest().Skipped).Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_a_damaged_snapshot_throws_InvalidDataException_naming_the_file_and_the_problem()
    {
        using var dir = new TempDirectory();
        var store = Store(dir);
        var path = store.Write(5, 1, BlobType, Blob("state")).Path;
        FlipBit(path, new FileInfo(path).Length - 2);

        var error = Assert.Throws<InvalidDataException>(() => store.Read(path));

        Assert.StartsWith(path + ": blob checksum mismatch", error.Message, StringComparison.Ordinal);
        Assert.IsType<SnapshotFormatException>(error.InnerException);
    }

    [Fact]
    public void Retain_count_below_one_is_refused()
    {
        using var dir = new TempDirectory();

        var error = Assert.Throws<ArgumentException>(() => Store(dir, retain: 0));

        Assert.Contains("retain count 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Snapshot_file_encoding_is_pinned()
    {
        using var dir = new TempDirectory();
        var time = new ManualTimeProvider(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(6_789_010));
        var store = Store(dir, time);

        var path = store.Write(42, 7, BlobType, Blob("state-bytes")).Path;

        // magic "AURSNAP\n" | version 1 | header length 46 | header CRC32C | SnapshotHeader{position 42,
        // term 7, created 2024-01-02T03:04:05.678901Z, blob length 11, blob CRC, type} | blob
        const string Expected =
            "415552534e41500a" + "01000000" + "2e000000" + "3d6f6d59"
            + "082a" + "1007" + "18b5dee082dcbd8303" + "200b" + "2de86844d4"
            + "3218747970652e746573742f5363686564756c65725374617465"
            + "73746174652d6279746573";
        Assert.Equal(Expected, Convert.ToHexStringLower(File.ReadAllBytes(path)));
        Assert.Equal("snapshot-00000000000000000042.snap", Path.GetFileName(path));
    }

    internal static void FlipBit(string path, long byteOffset)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[byteOffset] ^= 0x10;
        File.WriteAllBytes(path, bytes);
    }
}
