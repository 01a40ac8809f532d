using System.Text.Json;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.LogTool.Tests;

public class InfoTests
{
    [Fact]
    public void Info_on_an_empty_replica_says_so_and_tells_the_operator_to_initialize_a_quorum()
    {
        using var dir = new TempDirectory();

        var result = Tool.Run("info", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Status:         EMPTY", result.Out, StringComparison.Ordinal);
        Assert.Contains($"run 'aurora-log initialize --path={dir.Path}' on a quorum of replicas", result.Out, StringComparison.Ordinal);
        Assert.Contains("Entries:        0 (the log is empty)", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_json_on_an_empty_replica_carries_the_cure()
    {
        using var dir = new TempDirectory();

        var result = Tool.Run("info", $"--path={dir.Path}", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        Assert.Equal("EMPTY", json.RootElement.GetProperty("status").GetString());
        Assert.Contains($"aurora-log initialize --path={dir.Path}", json.RootElement.GetProperty("action").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("appendedPosition").ValueKind);
    }

    [Fact]
    public async Task Info_shows_status_term_id_positions_segments_snapshots_and_size()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);
        var metadataStore = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path);
        var metadata = metadataStore.Load();
        metadata.PromisedTerm = 7;
        metadataStore.Save(metadata);
        await TestLog.AppendAsync(dir.Path, 600);
        var snapshot = new SnapshotStore(new SnapshotOptions { Directory = dir.Path, Time = new FixedTime(FixedTime.Default) })
            .Write(300, 31, "type.test/State", new byte[5000]);
        var segments = TestLog.SegmentFiles(dir.Path);
        Assert.True(segments.Length > 1, "the test needs more than one segment");

        var result = Tool.Run("info", $"-path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        var text = result.Out;
        Assert.Contains("Status:         VOTING", text, StringComparison.Ordinal);
        Assert.Contains($"Log id:         {metadata.LogId}", text, StringComparison.Ordinal);
        Assert.Contains("Initialized:    2024-05-17T12:30:45.000000Z", text, StringComparison.Ordinal);
        Assert.Contains("Promised term:  7", text, StringComparison.Ordinal);
        Assert.Contains("First retained: 1", text, StringComparison.Ordinal);
        Assert.Contains("Last appended:  600 (term 61; ", text, StringComparison.Ordinal);
        Assert.Contains($"Segments:       {segments.Length}", text, StringComparison.Ordinal);
        foreach (var segment in segments)
        {
            Assert.Contains($"  {Path.GetFileName(segment)}  positions ", text, StringComparison.Ordinal);
        }

        Assert.Contains("Snapshots:      1", text, StringComparison.Ordinal);
        Assert.Contains($"  {Path.GetFileName(snapshot.Path)}  position 300, term 31, taken 2024-05-17T12:30:45.000000Z, 5000 bytes (4.9 KiB), type type.test/State", text, StringComparison.Ordinal);
        var size = Directory.GetFiles(dir.Path, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.Contains($"Size on disk:   {size} bytes", text, StringComparison.Ordinal);
        Assert.Contains("Torn tail:      none", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Info_json_lists_segments_and_snapshots()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);
        await TestLog.AppendAsync(dir.Path, 600);
        new SnapshotStore(new SnapshotOptions { Directory = dir.Path }).Write(300, 31, "type.test/State", new byte[] { 1, 2, 3 });

        var result = Tool.Run("info", $"--path={dir.Path}", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.Equal("VOTING", root.GetProperty("status").GetString());
        Assert.Equal(1UL, root.GetProperty("firstRetainedPosition").GetUInt64());
        Assert.Equal(600UL, root.GetProperty("appendedPosition").GetUInt64());
        var segments = root.GetProperty("segments").EnumerateArray().ToList();
        Assert.Equal(TestLog.SegmentFiles(dir.Path), segments.Select(s => s.GetProperty("file").GetString()));
        Assert.Equal(600UL, segments[^1].GetProperty("lastPosition").GetUInt64());
        var snapshot = Assert.Single(root.GetProperty("snapshots").EnumerateArray());
        Assert.Equal(300UL, snapshot.GetProperty("position").GetUInt64());
        Assert.Equal(3, snapshot.GetProperty("blobBytes").GetInt64());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("tornTail").ValueKind);
    }

    [Fact]
    public async Task Info_works_on_a_live_log_and_changes_nothing()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);
        using var live = SegmentedLog.Open(TestLog.Options(dir.Path));
        await live.AppendAsync([.. Enumerable.Range(1, 20).Select(i => TestLog.Entry(i))]);
        var before = TestLog.Fingerprint(dir.Path);

        var result = Tool.Run("info", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Last appended:  20 (term 3; ", result.Out, StringComparison.Ordinal);
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
    }

    [Fact]
    public async Task Info_reports_a_torn_tail_without_cutting_it()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 5);
        var segment = TestLog.SegmentFiles(dir.Path)[^1];
        var tornAt = TestLog.TearTail(segment, 6, 1);
        var before = TestLog.Fingerprint(dir.Path);

        var result = Tool.Run("info", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Torn tail:      {Path.GetFileName(segment)} at offset {tornAt}, ", result.Out, StringComparison.Ordinal);
        Assert.Contains("Last appended:  5 ", result.Out, StringComparison.Ordinal);
        Assert.Equal(before, TestLog.Fingerprint(dir.Path));
    }

    [Fact]
    public async Task Info_on_a_corrupt_log_prints_the_corruption_in_one_line()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 600);
        var first = TestLog.SegmentFiles(dir.Path)[0];
        var record = TestLog.Records(first)[10];
        TestLog.FlipBit(first, record.Offset + 50);

        var result = Tool.Run("info", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 1, $"corrupt log record in {first} at offset {record.Offset} (position {record.Position}): record payload checksum mismatch");
    }

    [Fact]
    public void Info_on_damaged_metadata_prints_the_problem_in_one_line()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Sub(ReplicaMetadataStore.FileName), "garbage that is long enough");

        var result = Tool.Run("info", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 1, "not a replica metadata file");
    }

    [Fact]
    public void Info_names_a_snapshot_whose_header_is_unreadable()
    {
        using var dir = new TempDirectory();
        var store = new SnapshotStore(new SnapshotOptions { Directory = dir.Path });
        var snapshot = store.Write(10, 2, "type.test/State", new byte[] { 1, 2, 3 });
        TestLog.FlipBit(snapshot.Path, 2);

        var result = Tool.Run("info", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Snapshots:      0", result.Out, StringComparison.Ordinal);
        Assert.Contains($"  {Path.GetFileName(snapshot.Path)}  UNREADABLE", result.Out, StringComparison.Ordinal);
    }
}
