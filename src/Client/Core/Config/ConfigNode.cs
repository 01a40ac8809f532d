using System.Globalization;
using System.Text.Json;

namespace Aurora.Client.Config;

/// <summary>
/// A value read from a JSON or YAML configuration file, with the line it starts on, so that both
/// formats go through one converter and every error can point at the file.
/// </summary>
internal abstract class ConfigNode(int line)
{
    /// <summary>1-based; 0 when unknown.</summary>
    public int Line { get; } = line;

    /// <summary>The value as an error message shows it: <c>"32QB"</c>, <c>true</c>, <c>a list</c>.</summary>
    public abstract string Describe();
}

internal enum ScalarKind
{
    String,
    Number,
    Boolean,
    Null,
}

internal sealed class ScalarNode(int line, ScalarKind kind, string text) : ConfigNode(line)
{
    public ScalarKind Kind { get; } = kind;

    /// <summary>The text as written (numbers keep their spelling, booleans are <c>true</c>/<c>false</c>).</summary>
    public string Text { get; } = text;

    public override string Describe() => Kind switch
    {
        ScalarKind.String => Quoting.Quote(Text),
        ScalarKind.Null => "null",
        _ => Text,
    };
}

internal sealed class ListNode(int line, IReadOnlyList<ConfigNode> items) : ConfigNode(line)
{
    public IReadOnlyList<ConfigNode> Items { get; } = items;

    public override string Describe() => "a list";
}

/// <summary>A mapping whose keys are unique (the readers reject duplicates) and keep file order.</summary>
internal sealed class MapNode : ConfigNode
{
    private readonly Dictionary<string, ConfigNode> _byKey;

    public MapNode(int line, IReadOnlyList<KeyValuePair<string, ConfigNode>> entries)
        : base(line)
    {
        Entries = entries;
        _byKey = entries.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
    }

    public IReadOnlyList<KeyValuePair<string, ConfigNode>> Entries { get; }

    public bool TryGet(string key, out ConfigNode value) => _byKey.TryGetValue(key, out value!);

    public override string Describe() => "a map";
}

/// <summary>Field paths as errors show them: <c>jobs[0].task.processes[1].cmdline</c>.</summary>
internal static class FieldPath
{
    public static string Field(string parent, string name)
    {
        var plain = name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
        var part = plain ? name : "[" + Quoting.Quote(name) + "]";
        return parent.Length == 0 ? part.TrimStart('.') : plain ? $"{parent}.{part}" : parent + part;
    }

    public static string Index(string parent, int index) =>
        parent + "[" + index.ToString(CultureInfo.InvariantCulture) + "]";
}

/// <summary>Values quoted for messages as JSON would write them, but leaving <c>&lt;</c>, <c>'</c> and non-ASCII text readable.</summary>
internal static class Quoting
{
    private static readonly JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Quote(string value) => JsonSerializer.Serialize(value, Readable);
}
