using System.Text.Json.Nodes;

namespace Aurora.Client.Api;

/// <summary>
/// What every successful write answers (docs/api.md): a message and the log position of the entry
/// that recorded it (0 when nothing changed). <see cref="Body"/> holds the rest of the answer.
/// </summary>
public sealed record WriteResult(string Message, long Position, JsonObject Body)
{
    public static WriteResult From(JsonNode? node)
    {
        var body = node as JsonObject ?? [];
        return new WriteResult(Views.String(body, "message") ?? string.Empty, Views.Long(body, "position") ?? 0, body);
    }
}
