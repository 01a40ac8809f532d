using System.Text.Json;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.LogTool.Tests;

public class DumpTests
{
    [Fact]
    public async Task Dump_prints_one_line_per_entry_with_position_term_time_principal_type_and_content()
    {
        using var dir = new TempDirectory();
        var entries = await TestLog.AppendAsync(dir.Path, 12);

        var result = Tool.Run("dump", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.OutLines;
        Assert.Equal(12, lines.Length);
        var preview = Convert.ToBase64String(entries[1].Payload.Value.Span[..24]);
        Assert.Equal(
            $"position=2 term=1 time=2024-05-17T12:30:47.000000Z principal=alice type={TestLog.TypeUrl} content=200 bytes base64:{preview}...",
            lines[1]);
        Assert.StartsWith("position=11 term=2 time=2024-05-17T12:30:56.000000Z principal=\"aurora scheduler\" ", lines[10], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dump_from_and_to_select_an_inclusive_range_across_segments()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 600);
        Assert.True(TestLog.SegmentFiles(dir.Path).Length > 1, "the test needs more than one segment");

        var range = Tool.Run("dump", $"--path={dir.Path}", "--from=100", "--to", "450");
        var head = Tool.Run("dump", $"--path={dir.Path}", "-to=3");
        var tail = Tool.Run("dump", $"--path={dir.Path}", "-from", "598");

        Assert.True(range.ExitCode == 0, range.ToString());
        Assert.Equal(Enumerable.Range(100, 351).Select(p => $"position={p} "), range.OutLines.Select(l => l[..(l.IndexOf(' ', StringComparison.Ordinal) + 1)]));
        Assert.Equal(["position=1 ", "position=2 ", "position=3 "], head.OutLines.Select(l => l[..(l.IndexOf(' ', StringComparison.Ordinal) + 1)]));
        Assert.Equal(["position=598 ", "position=599 ", "position=600 "], tail.OutLines.Select(l => l[..(l.IndexOf(' ', StringComparison.Ordinal) + 1)]));
    }

    [Fact]
    public async Task Dump_json_prints_one_object_per_line()
    {
        using var dir = new TempDirectory();
        var entries = await TestLog.AppendAsync(dir.Path, 5, payloadSize: 10);

        var result = Tool.Run("dump", $"--path={dir.Path}", "--json", "--from=2", "--to=4");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(3, result.OutLines.Length);
        for (var i = 0; i < 3; i++)
        {
            var entry = entries[i + 1];
            using var json = JsonDocument.Parse(result.OutLines[i]);
            var root = json.RootElement;
            Assert.Equal(entry.Position, root.GetProperty("position").GetUInt64());
            Assert.Equal(entry.Term, root.GetProperty("term").GetUInt64());
            Assert.Equal($"2024-05-17T12:30:{45 + i + 2}.000000Z", root.GetProperty("time").GetString());
            Assert.Equal(entry.Principal, root.GetProperty("principal").GetString());
            Assert.Equal(TestLog.TypeUrl, root.GetProperty("type").GetString());
            var content = root.GetProperty("content");
            Assert.Equal(10, content.GetProperty("length").GetInt32());
            Assert.Equal(Convert.ToBase64String(entry.Payload.Value.Span), content.GetProperty("base64Preview").GetString());
            Assert.False(content.GetProperty("truncated").GetBoolean());
        }
    }

    [Fact]
    public async Task Dump_past_the_last_position_prints_nothing()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 5);

        var result = Tool.Run("dump", $"--path={dir.Path}", "--from=6");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Empty, result.Out + result.Error);
    }

    [Fact]
    public async Task Dump_below_the_first_retained_position_fails_in_one_line()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 600);
        ulong firstRetained;
        using (var log = SegmentedLog.Open(TestLog.Options(dir.Path)))
        {
            firstRetained = log.TruncatePrefix(400);
        }

        Assert.True(firstRetained > 1, "the test needs a truncated log");

        var result = Tool.Run("dump", $"--path={dir.Path}", "--from=1");
        var fromFirst = Tool.Run("dump", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 1, $"position 1 was truncated; the first retained position is {firstRetained}");
        Assert.Equal(0, fromFirst.ExitCode);
        Assert.StartsWith($"position={firstRetained} ", fromFirst.OutLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dump_reads_a_live_log()
    {
        using var dir = new TempDirectory();
        using var live = SegmentedLog.Open(TestLog.Options(dir.Path));
        await live.AppendAsync([.. Enumerable.Range(1, 7).Select(i => TestLog.Entry(i))]);

        var result = Tool.Run("dump", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(7, result.OutLines.Length);
    }

    [Fact]
    public async Task Dump_shows_payloads_through_the_formatter_seam()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 2);
        using var stdout = new StringWriter();
        var context = new ToolContext(stdout, TextWriter.Null, PhysicalFileSystem.Instance, TimeProvider.System, new TypeNameFormatter());

        var exitCode = Program.Run(["dump", $"--path={dir.Path}"], context);

        Assert.Equal(0, exitCode);
        Assert.EndsWith(" content=decoded aurora.test.Blob", stdout.ToString().Split('\n')[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Opaque_formatter_shows_length_and_preview_of_empty_short_and_long_payloads()
    {
        var formatter = new OpaquePayloadFormatter(previewBytes: 3);

        Assert.Equal("0 bytes", formatter.FormatText(null));
        Assert.Equal("1 byte base64:Kg==", formatter.FormatText(new Any { Value = Google.Protobuf.ByteString.CopyFrom(42) }));
        Assert.Equal("4 bytes base64:AQID...", formatter.FormatText(new Any { Value = Google.Protobuf.ByteString.CopyFrom(1, 2, 3, 4) }));
    }

    private sealed class TypeNameFormatter : IPayloadFormatter
    {
        public string FormatText(Any? payload) => "decoded " + payload!.TypeUrl.Split('/')[^1];

        public void WriteJson(Utf8JsonWriter writer, Any? payload) => writer.WriteStringValue(FormatText(payload));
    }
}
