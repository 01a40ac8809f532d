using System.Globalization;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.LogTool;

/// <summary>
/// How <c>aurora-log dump</c> shows the payload of an entry that is not a scheduler transaction
/// (those are decoded and printed event by event, see <see cref="EventFormatter"/>): storage only
/// knows payloads as typed, opaque bytes, so other types print through this seam,
/// <see cref="OpaquePayloadFormatter"/> by default.
/// </summary>
internal interface IPayloadFormatter
{
    /// <summary>The payload as one line of text (no line breaks).</summary>
    string FormatText(Any? payload);

    /// <summary>Writes the payload's content as a JSON value (the writer is positioned at a property value).</summary>
    void WriteJson(Utf8JsonWriter writer, Any? payload);
}

/// <summary>Shows the payload's length and the base64 of its first bytes.</summary>
/// <remarks>Stateless; safe to share.</remarks>
internal sealed class OpaquePayloadFormatter(int previewBytes = OpaquePayloadFormatter.DefaultPreviewBytes) : IPayloadFormatter
{
    public const int DefaultPreviewBytes = 24;

    public static OpaquePayloadFormatter Instance { get; } = new();

    public string FormatText(Any? payload)
    {
        var bytes = payload?.Value;
        var length = bytes?.Length ?? 0;
        var text = length.ToString(CultureInfo.InvariantCulture) + (length == 1 ? " byte" : " bytes");
        return length == 0 ? text : $"{text} base64:{Preview(bytes!.Span)}{(length > previewBytes ? "..." : string.Empty)}";
    }

    public void WriteJson(Utf8JsonWriter writer, Any? payload)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var bytes = payload is null ? default : payload.Value.Span;
        writer.WriteStartObject();
        writer.WriteNumber("length", bytes.Length);
        writer.WriteString("base64Preview", Preview(bytes));
        writer.WriteBoolean("truncated", bytes.Length > previewBytes);
        writer.WriteEndObject();
    }

    private string Preview(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes[..Math.Min(bytes.Length, previewBytes)]);
}
