using System.Text;
using System.Text.Json.Nodes;

namespace Aurora.Scheduler.Server.Tests.Fuzz;

/// <summary>
/// Mutates valid request bodies into nearly valid ones: a node replaced by a value of another kind or
/// an extreme one, a field dropped or added, an array emptied or grown; and, on the text, a key given
/// twice, a cut-off document, bytes that are not UTF-8, nesting deeper than any parser allows.
/// </summary>
/// <remarks>
/// Whatever it does, <see cref="MakeSafe"/> runs last: a cmdline or shell health check only ever
/// holds one of <see cref="FuzzValues.SafeCommands"/>, because accepted tasks really run.
/// </remarks>
internal sealed class JsonMutator(FuzzValues values)
{
    private const int MaxRepeatedBytes = 4 << 20;

    private static readonly string[] CommandFields = ["cmdline", "shellCommand", "shell_command"];

    /// <summary>Applies 1 to 3 mutations to <paramref name="document"/> in place, and returns it.</summary>
    public JsonNode? Mutate(JsonNode? document)
    {
        var count = values.Between(1, 3);
        for (var i = 0; i < count; i++)
        {
            document = MutateOnce(document);
        }

        MakeSafe(document);
        return document;
    }

    /// <summary>The body as text, sometimes broken at the text level.</summary>
    public byte[] Serialize(JsonNode? document)
    {
        MakeSafe(document);
        var text = document?.ToJsonString() ?? "null";
        if (!values.Chance(0.15))
        {
            return Encoding.UTF8.GetBytes(text);
        }

        switch (values.Random.Next(7))
        {
            case 5 when text.Contains(":\"", StringComparison.Ordinal):
                // Half of a surrogate pair: valid JSON text, but not a string any encoder can write back.
                var at = text.IndexOf(":\"", StringComparison.Ordinal) + 2;
                return Encoding.UTF8.GetBytes(text[..at] + "\\ud800" + text[at..]);
            case 0 when document is JsonObject { Count: > 0 } root:
                // A key given twice, with another value the second time.
                var key = root.First().Key;
                var duplicate = values.Chance(0.5) ? root[key]?.ToJsonString() ?? "null" : values.AnyJson()?.ToJsonString() ?? "null";
                return Encoding.UTF8.GetBytes("{" + System.Text.Json.JsonSerializer.Serialize(key) + ":" + duplicate + "," + text[1..]);
            case 1:
                return Encoding.UTF8.GetBytes(text[..values.Random.Next(text.Length + 1)]);
            case 2:
                var bytes = Encoding.UTF8.GetBytes(text).ToList();
                bytes.Insert(values.Random.Next(bytes.Count + 1), (byte)values.Pick([0xC3, 0xFF, 0x00, 0x80]));
                return [.. bytes];
            case 3:
                var depth = values.Pick([65, 1000, 100_000]);
                return Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth));
            case 4:
                return Encoding.UTF8.GetBytes(values.Pick(["", " ", "null", "[]", "\"text\"", "{", "}", "{\"a\":}", "1e999999"]));
            default:
                return Encoding.UTF8.GetBytes(text + values.Pick(["}", "]", ",", " x", "\u0000"]));
        }
    }

    /// <summary>Puts a safe command wherever a command could end up.</summary>
    public static void MakeSafe(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var field in CommandFields)
                {
                    if (obj.ContainsKey(field) && !(obj[field] is JsonValue value && value.TryGetValue<string>(out var text) && FuzzValues.SafeCommands.Contains(text)))
                    {
                        obj[field] = FuzzValues.SafeCommands[0];
                    }
                }

                foreach (var (_, child) in obj.ToList())
                {
                    MakeSafe(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    MakeSafe(child);
                }

                break;
        }
    }

    private JsonNode? MutateOnce(JsonNode? document)
    {
        var nodes = new List<(JsonNode? Parent, string? Key, int Index)>();
        Collect(document, null, null, -1, nodes);
        if (nodes.Count == 0)
        {
            return values.AnyJson();
        }

        var (parent, key, index) = values.Pick(nodes);
        switch (parent)
        {
            case null:
                return values.AnyJson();
            case JsonObject obj when key is not null:
                switch (values.Random.Next(5))
                {
                    case 0:
                        obj.Remove(key);
                        break;
                    case 1:
                        obj[values.Identifier() + "Unknown"] = values.AnyJson();
                        break;
                    default:
                        obj[key] = Replacement(obj[key]);
                        break;
                }

                break;
            case JsonArray array when index >= 0:
                switch (values.Random.Next(4))
                {
                    case 0:
                        array.RemoveAt(index);
                        break;
                    case 1:
                        array.Add(array[index]?.DeepClone());
                        break;
                    default:
                        array[index] = Replacement(array[index]);
                        break;
                }

                break;
        }

        return document;
    }

    /// <summary>Another value for <paramref name="current"/>: of its own kind but extreme, or of another kind.</summary>
    private JsonNode? Replacement(JsonNode? current)
    {
        if (values.Chance(0.3))
        {
            return values.AnyJson();
        }

        return current switch
        {
            JsonValue v when v.TryGetValue<string>(out _) => JsonValue.Create(values.Nasty()),
            JsonValue v when v.TryGetValue<bool>(out var b) => JsonValue.Create(!b),
            JsonValue => values.Number(),
            JsonArray array => values.Chance(0.5) ? new JsonArray() : Repeated(array.FirstOrDefault(), values.Pick([2, 50, 5000])),
            JsonObject => values.Chance(0.5) ? new JsonObject() : values.AnyJson(),
            _ => values.AnyJson(),
        };
    }

    /// <summary>
    /// An array of <paramref name="count"/> copies of <paramref name="item"/>, fewer where they would pass
    /// <see cref="MaxRepeatedBytes"/>: bodies past the limits (a few MiB) are worth sending, bodies of
    /// hundreds of MiB only cost the run its time (the server answers 413 after reading 32 MiB).
    /// </summary>
    private static JsonArray Repeated(JsonNode? item, int count)
    {
        var size = Math.Max(1, item?.ToJsonString().Length ?? 4);
        return new JsonArray([.. Enumerable.Range(0, Math.Min(count, MaxRepeatedBytes / size)).Select(_ => item?.DeepClone())]);
    }

    private static void Collect(JsonNode? node, JsonNode? parent, string? key, int index, List<(JsonNode? Parent, string? Key, int Index)> nodes)
    {
        nodes.Add((parent, key, index));
        switch (node)
        {
            case JsonObject obj:
                foreach (var (childKey, child) in obj)
                {
                    Collect(child, obj, childKey, -1, nodes);
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    Collect(array[i], array, null, i, nodes);
                }

                break;
        }
    }
}
