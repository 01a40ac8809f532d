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

    /// <summary>A model message as a JSON node to embed in a view.</summary>
    public static JsonNode? Node(IMessage? message) => message is null ? null : JsonNode.Parse(Formatter.Format(message));

    /// <summary>The request body as a JSON object; an empty body is an empty object.</summary>
    public static async Task<JsonObject> ReadBodyAsync(HttpRequest request, long maxBytes)
    {
        if (request.ContentLength > maxBytes)
        {
            throw new ApiException(System.Net.HttpStatusCode.RequestEntityTooLarge, "TOO_LARGE", $"The request body ({request.ContentLength} bytes) is larger than the {maxBytes} bytes a log entry may hold (-dlog_max_entry_size).");
        }

        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        try
        {
            return JsonNode.Parse(text) as JsonObject ?? throw ApiException.Invalid("The request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw ApiException.Invalid($"The request body is not valid JSON: {e.Message}");
        }
    }

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

    public static double Number(JsonObject body, string field)
    {
        var node = body[field] ?? throw ApiException.Invalid($"The request body needs \"{field}\".");
        return node.GetValueKind() == JsonValueKind.Number ? node.GetValue<double>() : throw ApiException.Invalid($"\"{field}\" must be a number.");
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
