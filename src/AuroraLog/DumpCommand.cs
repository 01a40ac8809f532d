using System.Text.Json;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;

namespace Aurora.LogTool;

/// <summary>
/// <c>aurora-log dump --path=DIR [--from=POS] [--to=POS] [--json]</c>: one line per entry, for
/// audits. Reads through <see cref="SegmentedLog.Read"/> on a read-only open, so it is safe on a live log.
/// </summary>
internal static class DumpCommand
{
    private static readonly FlagSpec FromFlag = new("from", "first position to print", "POS", "the first retained position");
    private static readonly FlagSpec ToFlag = new("to", "last position to print", "POS", "the last durable position");

    public static Command Command { get; } = new(
        "dump",
        "Print one line per entry: position, term, time (UTC), principal, payload type and content. Read-only; safe on a live log.",
        [LogDirectory.PathFlag, FromFlag, ToFlag, new FlagSpec("json", "print one JSON object per entry (JSON Lines)")],
        Run);

    private static int Run(ParsedFlags flags, ToolContext context)
    {
        var from = flags.GetUInt64(FromFlag.Name);
        var to = flags.GetUInt64(ToFlag.Name);
        if (from == 0 || to == 0)
        {
            throw new UsageException($"positions start at 1; got --{(from == 0 ? FromFlag.Name : ToFlag.Name)}=0");
        }

        if (from > to)
        {
            throw new UsageException($"--from={from} is after --to={to}");
        }

        var directory = LogDirectory.RequireExisting(flags, context, "dump");
        var json = flags.GetSwitch(LogDirectory.JsonFlag.Name);
        using var log = SegmentedLog.Open(LogDirectory.ReadOnlyLog(directory, context));
        foreach (var entry in log.Read(from ?? log.FirstRetainedPosition, to ?? ulong.MaxValue))
        {
            context.Out.WriteLine(json ? Json(entry, context.Formatter) : Text(entry, context.Formatter));
        }

        return ExitCodes.Ok;
    }

    internal static string Text(LogEntry entry, IPayloadFormatter formatter) =>
        $"position={entry.Position} term={entry.Term} time={LogDirectory.FormatMicros(entry.TimestampMicros)} "
        + $"principal={Quote(entry.Principal)} type={Quote(entry.Payload?.TypeUrl ?? string.Empty)} content={formatter.FormatText(entry.Payload)}";

    internal static string Json(LogEntry entry, IPayloadFormatter formatter) => LogDirectory.Json(
        w =>
        {
            w.WriteStartObject();
            w.WriteNumber("position", entry.Position);
            w.WriteNumber("term", entry.Term);
            w.WriteString("time", LogDirectory.FormatMicros(entry.TimestampMicros));
            w.WriteString("principal", entry.Principal);
            w.WriteString("type", entry.Payload?.TypeUrl ?? string.Empty);
            w.WritePropertyName("content");
            formatter.WriteJson(w, entry.Payload);
            w.WriteEndObject();
        },
        indented: false);

    /// <summary>The value as is when it is one plain word, else as a JSON string, so every line splits on spaces.</summary>
    private static string Quote(string value) =>
        value.Length > 0 && !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '"' or '\\' or '=')
            ? value
            : JsonSerializer.Serialize(value);
}
