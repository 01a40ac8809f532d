using System.Text.Json;
using Aurora.Storage.Log;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.LogTool.Tests;

public class VerifyTests
{
    [Fact]
    public async Task Verify_of_a_sound_log_with_snapshots_exits_0()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);
        await TestLog.AppendAsync(dir.Path, 600);
        new SnapshotStore(new SnapshotOptions { Directory = dir.Path }).Write(300, 31, "type.test/State", new byte[3000]);
        var segments = TestLog.SegmentFiles(dir.Path).Length;

        var result = Tool.Run("verify", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(
            [$"Checked {segments} segments (600 entries), 1 snapshot and the replica metadata (status VOTING) in {dir.Path}: no problems."],
            result.OutLines);
        Assert.Equal(string.Empty, result.Error);
    }

    [Fact]
    public void Verify_of_an_empty_replica_exits_0()
    {
        using var dir = new TempDirectory();

        var result = Tool.Run("verify", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("0 segments (0 entries), 0 snapshots and the replica metadata (status EMPTY)", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_names_file_offset_and_position_of_a_bit_flipped_in_the_middle_of_a_segment()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 600);
        var segment = TestLog.SegmentFiles(dir.Path)[1];
        var records = TestLog.Records(segment);
        var record = records[records.Count / 2];
        TestLog.FlipBit(segment, record.Offset + 100);

        var result = Tool.Run("verify", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal(
            [
                $"ERROR   {segment} at offset {record.Offset}, position {record.Position}: record payload checksum mismatch",
                $"Checked {TestLog.SegmentFiles(dir.Path).Length} segments (599 entries), 0 snapshots and the replica metadata (status EMPTY) in {dir.Path}: 1 error, 0 warnings.",
            ],
            result.OutLines);
    }

    [Fact]
    public async Task Verify_reports_both_of_two_separate_corruptions()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 600);
        var segments = TestLog.SegmentFiles(dir.Path);
        var payloadDamage = TestLog.Records(segments[0])[5];
        var headerDamage = TestLog.Records(segments[1])[7];
        TestLog.FlipBit(segments[0], payloadDamage.Offset + 60);
        TestLog.FlipBit(segments[1], headerDamage.Offset + 17); // inside the position field

        var result = Tool.Run("verify", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 1, result.ToString());
        var errors = result.OutLines.Where(l => l.StartsWith("ERROR", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            [
                $"ERROR   {segments[0]} at offset {payloadDamage.Offset}, position {payloadDamage.Position}: record payload checksum mismatch",
                $"ERROR   {segments[1]} at offset {headerDamage.Offset}, position {headerDamage.Position}: record header checksum mismatch",
            ],
            errors);
        Assert.EndsWith("(598 entries), 0 snapshots and the replica metadata (status EMPTY) in " + dir.Path + ": 2 errors, 0 warnings.", result.OutLines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_reports_a_torn_tail_as_a_warning_and_exits_0()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 600);
        var last = TestLog.SegmentFiles(dir.Path)[^1];
        var tornAt = TestLog.TearTail(last, 601, 61);

        var result = Tool.Run("verify", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith($"WARNING {last} at offset {tornAt}, position 601: torn tail: ", result.OutLines[0], StringComparison.Ordinal);
        Assert.EndsWith("(never acknowledged; cut off when the log is next opened for writing)", result.OutLines[0], StringComparison.Ordinal);
        Assert.EndsWith("0 errors, 1 warning.", result.OutLines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_reports_a_corrupt_snapshot()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 5);
        var store = new SnapshotStore(new SnapshotOptions { Directory = dir.Path });
        var sound = store.Write(3, 1, "type.test/State", new byte[1000]);
        var damaged = store.Write(5, 1, "type.test/State", new byte[1000]);
        TestLog.FlipBit(damaged.Path, new FileInfo(damaged.Path).Length - 10);

        var result = Tool.Run("verify", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 1, result.ToString());
        var error = Assert.Single(result.OutLines, l => l.StartsWith("ERROR", StringComparison.Ordinal));
        Assert.StartsWith($"ERROR   {damaged.Path}: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain(sound.Path, result.Out, StringComparison.Ordinal);
        Assert.Contains("2 snapshots", result.OutLines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_reports_damaged_replica_metadata()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);
        var metadata = dir.Sub(ReplicaMetadataStore.FileName);
        TestLog.FlipBit(metadata, new FileInfo(metadata).Length - 1);

        var result = Tool.Run("verify", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.StartsWith($"ERROR   {metadata}: checksum mismatch", result.OutLines[0], StringComparison.Ordinal);
        Assert.Contains("(status unreadable)", result.OutLines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_json_lists_every_problem()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 600);
        var segment = TestLog.SegmentFiles(dir.Path)[0];
        var record = TestLog.Records(segment)[3];
        TestLog.FlipBit(segment, record.Offset + 45);
        var last = TestLog.SegmentFiles(dir.Path)[^1];
        var tornAt = TestLog.TearTail(last, 601, 61);

        var result = Tool.Run("verify", $"--path={dir.Path}", "--json");

        Assert.True(result.ExitCode == 1, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.False(root.GetProperty("ok").GetBoolean());
        Assert.Equal(599UL, root.GetProperty("entries").GetUInt64());
        var problems = root.GetProperty("problems").EnumerateArray().ToList();
        Assert.Equal(["error", "warning"], problems.Select(p => p.GetProperty("severity").GetString()));
        Assert.Equal([segment, last], problems.Select(p => p.GetProperty("file").GetString()));
        Assert.Equal([record.Offset, tornAt], problems.Select(p => p.GetProperty("offset").GetInt64()));
        Assert.Equal([record.Position, 601UL], problems.Select(p => p.GetProperty("position").GetUInt64()));
    }

    [Fact]
    public async Task Verify_and_open_agree_that_a_bit_flip_is_corruption()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 600);
        var segment = TestLog.SegmentFiles(dir.Path)[0];
        var record = TestLog.Records(segment)[20];
        TestLog.FlipBit(segment, record.Offset + 3);

        var verify = Tool.Run("verify", $"--path={dir.Path}");
        var open = Assert.Throws<LogCorruptedException>(() => SegmentedLog.Open(TestLog.Options(dir.Path) with { ReadOnly = true }).Dispose());

        Assert.Equal(1, verify.ExitCode);
        Assert.Contains($"{open.File} at offset {open.Offset}, position {open.Position}: {open.Problem}", verify.Out, StringComparison.Ordinal);
    }
}
