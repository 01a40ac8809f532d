using System.Text;
using System.Text.Json;

namespace Aurora.Client.Config;

/// <summary>
/// Reads JSON into <see cref="ConfigNode"/>s with line numbers (which <c>JsonDocument</c> does not
/// keep) and rejects duplicate keys (which it would silently accept, losing one of them).
/// Comments and trailing commas are allowed: configuration files are edited by hand.
/// </summary>
internal static class JsonTreeReader
{
    private static readonly JsonReaderOptions Options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static ConfigNode Read(string text, string sourceName)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new JobConfigException(sourceName, null, 0, "the file is empty");
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        var lines = new LineIndex(bytes);
        var reader = new Utf8JsonReader(bytes, Options);
        try
        {
            reader.Read();
            var root = ReadValue(ref reader, lines, sourceName);
            reader.Read(); // Throws on anything but whitespace and comments after the value.
            return root;
        }
        catch (JsonException e)
        {
            var line = (int)(e.LineNumber ?? -1) + 1;
            var column = (e.BytePositionInLine ?? 0) + 1;
            throw new JobConfigException(sourceName, null, line, $"malformed JSON: {Describe(e)}", e, (int)column);
        }
    }

    private static ConfigNode ReadValue(ref Utf8JsonReader reader, LineIndex lines, string sourceName)
    {
        var line = lines.LineOf(reader.TokenStartIndex);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var entries = new List<KeyValuePair<string, ConfigNode>>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var key = reader.GetString()!;
                    var keyLine = lines.LineOf(reader.TokenStartIndex);
                    if (!seen.Add(key))
                    {
                        throw new JobConfigException(sourceName, null, keyLine, $"duplicate key {Quoting.Quote(key)} in one object");
                    }

                    reader.Read();
                    entries.Add(new(key, ReadValue(ref reader, lines, sourceName)));
                }

                return new MapNode(line, entries);
            case JsonTokenType.StartArray:
                var items = new List<ConfigNode>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    items.Add(ReadValue(ref reader, lines, sourceName));
                }

                return new ListNode(line, items);
            case JsonTokenType.String:
                return new ScalarNode(line, ScalarKind.String, reader.GetString()!);
            case JsonTokenType.Number:
                return new ScalarNode(line, ScalarKind.Number, Encoding.UTF8.GetString(reader.ValueSpan));
            case JsonTokenType.True:
                return new ScalarNode(line, ScalarKind.Boolean, "true");
            case JsonTokenType.False:
                return new ScalarNode(line, ScalarKind.Boolean, "false");
            case JsonTokenType.Null:
                return new ScalarNode(line, ScalarKind.Null, "null");
            default:
                throw new JobConfigException(sourceName, null, line, $"malformed JSON: unexpected {reader.TokenType}");
        }
    }

    // The reader's message ends with "LineNumber: 2 | BytePositionInLine: 10."; we say that ourselves.
    private static string Describe(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        }

        return (cut < 0 ? message : message[..cut]).TrimEnd();
    }

    /// <summary>Byte offset to 1-based line, by binary search over the offsets of the newlines.</summary>
    private sealed class LineIndex
    {
        private readonly List<long> _newlines = [];

        public LineIndex(byte[] bytes)
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] == (byte)'\n')
                {
                    _newlines.Add(i);
                }
            }
        }

        public int LineOf(long offset)
        {
            var index = _newlines.BinarySearch(offset);
            return (index < 0 ? ~index : index) + 1;
        }
    }
}
