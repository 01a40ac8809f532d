using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Aurora.Scheduler.Model;
using Google.Protobuf;

namespace Aurora.Scheduler.Server.Http;

/// <summary>How the API reads and writes JSON: views with System.Text.Json, model messages in protobuf's JSON form.</summary>
internal static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    // Unknown fields are refused: a misspelt field must not vanish silently.
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default);

    private static readonly JsonDocumentOptions StrictDocument = new() { AllowDuplicateProperties = false };

    /// <summary>
    /// How much of a body is read, at most, before an answer: a body over a handler's limit is read
    /// to here and thrown away (<see cref="ReadBytesAsync"/>). It is also the server's own limit
    /// (Kestrel's MaxRequestBodySize), which lets Kestrel drain the body of a request answered
    /// before its body was read (a 401, a 404, a bad job key in the path) instead of resetting the
    /// connection under a client that is still sending.
    /// </summary>
    public const long DrainBytes = 32L << 20;

    /// <summary>A model message as a JSON node to embed in a view.</summary>
    public static JsonNode? Node(IMessage? message) => message is null ? null : JsonNode.Parse(Formatter.Format(message));

    /// <summary>The request body as a JSON object; an empty body is an empty object.</summary>
    /// <remarks>A key given twice is refused (400 naming it): which of the two would count is not the caller's to guess.</remarks>
    public static async Task<JsonObject> ReadBodyAsync(HttpRequest request, long maxBytes)
    {
        var body = await ReadBytesAsync(request, maxBytes, "-dlog_max_entry_size: what fits in one log entry").ConfigureAwait(false);
        if (body.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            return [];
        }

        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            throw ApiException.Invalid("The request body is not UTF-8 text.");
        }

        JsonObject document;
        try
        {
            document = JsonNode.Parse(body, documentOptions: StrictDocument) as JsonObject ?? throw ApiException.Invalid("The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw ApiException.Invalid($"The request body is not valid JSON: {e.Message}");
        }

        try
        {
            RequireReadableStrings(document);
        }
        catch (InvalidOperationException e)
        {
            // A property name with half a surrogate pair fails as the object's names are read.
            throw ApiException.Invalid($"The request body holds a name that is not valid text: {e.Message}");
        }

        return document;
    }

    /// <summary>
    /// Refuses a string no handler could read: JSON may escape half of a surrogate pair (<c>"\ud800"</c>),
    /// which parses but is not text. Checked once here, so that no field read later can fail on it.
    /// </summary>
    private static void RequireReadableStrings(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, child) in obj)
                {
                    RequireReadableStrings(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    RequireReadableStrings(child);
                }

                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                try
                {
                    _ = value.GetValue<string>();
                }
                catch (InvalidOperationException e)
                {
                    throw ApiException.Invalid($"The request body holds a string at {value.GetPath()} that is not valid text: {e.Message}");
                }

                break;
        }
    }

    /// <summary>
    /// The whole request body, refused with 413 once it passes <paramref name="maxBytes"/> however it is
    /// sent: with a Content-Length or chunked, whose length is known only by counting.
    /// </summary>
    /// <remarks>
    /// A body over the limit is still read to its end (and thrown away), up to <see cref="DrainBytes"/>,
    /// before the 413 goes out: a server that answers while the client is still sending closes the
    /// connection under it, and the client sees a reset instead of the answer.
    /// </remarks>
    /// <param name="limit">Says where the limit comes from, for the 413's message.</param>
    public static async Task<byte[]> ReadBytesAsync(HttpRequest request, long maxBytes, string limit)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength > Math.Max(DrainBytes, maxBytes))
        {
            throw TooLarge($"The request body ({request.ContentLength} bytes) is larger than the {maxBytes} bytes allowed ({limit}).");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        long total = 0;
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
            {
                total += read;
                if (total <= maxBytes)
                {
                    buffer.Write(chunk, 0, read);
                }
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge($"The request body is larger than the {maxBytes} bytes allowed ({limit}).");
        }

        return total <= maxBytes ? buffer.ToArray() : throw TooLarge($"The request body ({total} bytes) is larger than the {maxBytes} bytes allowed ({limit}).");
    }

    private static ApiException TooLarge(string message) => new(System.Net.HttpStatusCode.RequestEntityTooLarge, "TOO_LARGE", message);

    /// <summary>The body's <paramref name="field"/> as a model message; the error names the field.</summary>
    public static T Message<T>(JsonObject body, string field)
        where T : IMessage<T>, new()
    {
        var node = body[field] ?? throw ApiException.Invalid($"The request body needs \"{field}\".");
        try
        {
            return Parser.Parse<T>(node.ToJsonString());
        }
        catch (InvalidProtocolBufferException e)
        {
            throw ApiException.Invalid($"\"{field}\" is not a valid {typeof(T).Name}: {e.Message}");
        }
        catch (InvalidJsonException e)
        {
            throw ApiException.Invalid($"\"{field}\" is not a valid {typeof(T).Name}: {e.Message}");
        }
    }

    public static string? String(JsonObject body, string field)
    {
        var node = body[field];
        if (node is null)
        {
            return null;
        }

        return node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : throw ApiException.Invalid($"\"{field}\" must be a string.");
    }

    public static int? Int(JsonObject body, string field)
    {
        var node = body[field];
        if (node is null)
        {
            return null;
        }

        return node.GetValueKind() == JsonValueKind.Number && node is JsonValue value && value.TryGetValue<int>(out var number)
            ? number
            : throw ApiException.Invalid($"\"{field}\" must be a whole number.");
    }

    /// <summary>A required finite number.</summary>
    public static double Number(JsonObject body, string field)
    {
        var node = body[field] ?? throw ApiException.Invalid($"The request body needs \"{field}\".");
        return node.GetValueKind() == JsonValueKind.Number && node is JsonValue value && value.TryGetValue<double>(out var number) && double.IsFinite(number)
            ? number
            : throw ApiException.Invalid($"\"{field}\" must be a number.");
    }

    /// <summary>A required whole number within a 64-bit integer: no fraction is dropped silently, no huge value wraps.</summary>
    public static long WholeNumber(JsonObject body, string field)
    {
        var node = body[field] ?? throw ApiException.Invalid($"The request body needs \"{field}\".");
        return node.GetValueKind() == JsonValueKind.Number && node is JsonValue value && value.TryGetValue<long>(out var number)
            ? number
            : throw ApiException.Invalid($"\"{field}\" must be a whole number from {long.MinValue} to {long.MaxValue}.");
    }

    /// <summary>An optional array of strings; null when absent or JSON null.</summary>
    public static IReadOnlyList<string>? Strings(JsonObject body, string field) => Array(body, field, n =>
        n?.GetValueKind() == JsonValueKind.String ? n.GetValue<string>() : throw ApiException.Invalid($"\"{field}\" must be an array of strings."));

    /// <summary>An optional array of whole numbers; null when absent or JSON null.</summary>
    public static IReadOnlyList<int>? Ints(JsonObject body, string field) => Array(body, field, n =>
        n is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var i) ? i : throw ApiException.Invalid($"\"{field}\" must be an array of whole numbers."));

    /// <summary>Enum values by Aurora's names (<c>RUNNING</c>, <c>ROLLING_FORWARD</c>); the error names the field and lists the valid ones.</summary>
    public static HashSet<T> Enums<T>(IEnumerable<string> names, string field)
        where T : struct, Enum
    {
        var valid = Enum.GetValues<T>().Where(v => Convert.ToInt32(v, CultureInfo.InvariantCulture) != 0).ToList();
        return names.Select(name => ProtoNames.TryParse<T>(name, out var value) && valid.Contains(value)
                ? value
                : throw ApiException.Invalid($"{field}: '{name}' is not one of {string.Join(", ", valid.Select(v => ProtoNames.Of(v)))}."))
            .ToHashSet();
    }

    public static string Time(long micros) =>
        DateTimeOffset.UnixEpoch.AddTicks(micros * TimeSpan.TicksPerMicrosecond).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private static List<T>? Array<T>(JsonObject body, string field, Func<JsonNode?, T> item)
    {
        var node = body[field];
        if (node is null)
        {
            return null;
        }

        return node is JsonArray array ? array.Select(item).ToList() : throw ApiException.Invalid($"\"{field}\" must be an array.");
    }
}
