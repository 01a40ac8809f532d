using System.Collections.Frozen;
using System.Globalization;

namespace Aurora.Client.Config;

/// <summary>
/// The fields one kind of struct accepts. Fields Aurora has but Aurora.NET cannot map are listed
/// with the reason, so that they are refused with an explanation instead of vanishing.
/// </summary>
internal sealed class Schema
{
    private Schema(FrozenSet<string> fields, FrozenDictionary<string, string> refused)
    {
        Fields = fields;
        Refused = refused;
    }

    public FrozenSet<string> Fields { get; }

    /// <summary>Field name to why it is refused.</summary>
    public FrozenDictionary<string, string> Refused { get; }

    public static Schema Of(params string[] fields) =>
        new(fields.ToFrozenSet(StringComparer.Ordinal), FrozenDictionary<string, string>.Empty);

    public Schema Refusing(string field, string reason) =>
        new(Fields, Refused.Append(new(field, reason)).ToFrozenDictionary(StringComparer.Ordinal));
}

/// <summary>
/// Typed, path-aware access to one struct of the file. Construction rejects unknown fields; the
/// accessors treat an explicit <c>null</c> as absent and throw <see cref="JobConfigException"/>
/// naming the field for a wrong type or an out-of-range value.
/// </summary>
internal sealed class StructReader
{
    private readonly string _source;

    public StructReader(string source, ConfigNode node, string path, Schema schema)
    {
        _source = source;
        Path = path;
        Map = node as MapNode ?? throw Values.Fail(source, path, node, $"expected a map of fields, got {node.Describe()}");
        foreach (var (key, value) in Map.Entries)
        {
            if (schema.Refused.TryGetValue(key, out var reason))
            {
                throw Values.Fail(source, FieldPath.Field(path, key), value, reason);
            }

            if (!schema.Fields.Contains(key))
            {
                var suggestion = Suggestions.Closest(key, schema.Fields);
                var hint = suggestion is null ? string.Empty : $" (did you mean {Quoting.Quote(suggestion)}?)";
                throw new JobConfigException(source, path, value.Line, $"unknown field {Quoting.Quote(key)}{hint}");
            }
        }
    }

    public string Path { get; }

    public MapNode Map { get; }

    public string Source => _source;

    public string PathOf(string key) => FieldPath.Field(Path, key);

    /// <summary>The field's value; null when it is absent or explicitly null.</summary>
    public ConfigNode? Node(string key) =>
        Map.TryGet(key, out var node) && node is not ScalarNode { Kind: ScalarKind.Null } ? node : null;

    public bool Has(string key) => Node(key) is not null;

    public JobConfigException Fail(string key, string problem) =>
        new(_source, PathOf(key), Node(key)?.Line ?? Map.Line, problem);

    public JobConfigException Fail(string problem) => new(_source, Path, Map.Line, problem);

    public string? String(string key) => Node(key) is { } node ? Values.String(_source, PathOf(key), node) : null;

    public string RequiredString(string key)
    {
        var value = String(key) ?? throw Fail(key, "required");
        return value.Length > 0 ? value : throw Fail(key, "must not be empty");
    }

    public bool Bool(string key, bool defaultValue) =>
        Node(key) is { } node ? Values.Bool(_source, PathOf(key), node) : defaultValue;

    public int Int(string key, int defaultValue, int min = int.MinValue) =>
        OptionalInt(key, min) ?? defaultValue;

    public int? OptionalInt(string key, int min = int.MinValue) =>
        Node(key) is { } node ? (int)Values.Integer(_source, PathOf(key), node, min, int.MaxValue) : null;

    public int RequiredInt(string key, int min = int.MinValue) => OptionalInt(key, min) ?? throw Fail(key, "required");

    public long Long(string key, long defaultValue, long min = long.MinValue) =>
        Node(key) is { } node ? Values.Integer(_source, PathOf(key), node, min, long.MaxValue) : defaultValue;

    public long RequiredLong(string key, long min = long.MinValue) =>
        Has(key) ? Long(key, 0, min) : throw Fail(key, "required");

    public double Double(string key, double defaultValue, double min = double.MinValue) =>
        Node(key) is { } node ? Values.Double(_source, PathOf(key), node, min) : defaultValue;

    public double RequiredDouble(string key, double min = double.MinValue) =>
        Has(key) ? Double(key, 0, min) : throw Fail(key, "required");

    public StructReader? Struct(string key, Schema schema) =>
        Node(key) is { } node ? new StructReader(_source, node, PathOf(key), schema) : null;

    public IReadOnlyList<ConfigNode> List(string key) => Node(key) switch
    {
        null => [],
        ListNode list => list.Items,
        var other => throw Fail(key, $"expected a list, got {other.Describe()}"),
    };

    public MapNode? MapField(string key) => Node(key) switch
    {
        null => null,
        MapNode map => map,
        var other => throw Fail(key, $"expected a map, got {other.Describe()}"),
    };

    /// <summary>
    /// A Pystachio <c>Choice</c>, written as a map with exactly one key naming the alternative:
    /// <c>{"docker": {...}}</c>. Returns the alternative's name and its fields.
    /// </summary>
    public (string Name, StructReader Fields)? OneOf(string key, params (string Name, Schema Schema)[] alternatives)
    {
        if (MapField(key) is not { } map)
        {
            return null;
        }

        var names = string.Join(", ", alternatives.Select(a => Quoting.Quote(a.Name)));
        if (map.Entries.Count != 1)
        {
            throw Fail(key, map.Entries.Count == 0
                ? $"expected exactly one of {names}"
                : $"set only one of {names}, not {string.Join(" and ", map.Entries.Select(e => Quoting.Quote(e.Key)))}");
        }

        var (name, value) = map.Entries[0];
        var choice = alternatives.FirstOrDefault(a => a.Name == name);
        if (choice.Name is null)
        {
            var suggestion = Suggestions.Closest(name, alternatives.Select(a => a.Name));
            var hint = suggestion is null ? string.Empty : $" (did you mean {Quoting.Quote(suggestion)}?)";
            throw Values.Fail(_source, PathOf(key), value, $"unknown kind {Quoting.Quote(name)}{hint}; expected one of {names}");
        }

        return (name, new StructReader(_source, value, FieldPath.Field(PathOf(key), name), choice.Schema));
    }
}

/// <summary>Conversions of single values, for struct fields and list items alike.</summary>
internal static class Values
{
    public static JobConfigException Fail(string source, string path, ConfigNode node, string problem) =>
        new(source, path, node.Line, problem);

    /// <summary>A string; a number is taken as written (<c>version: 1.10</c> stays <c>"1.10"</c>).</summary>
    public static string String(string source, string path, ConfigNode node) => node switch
    {
        ScalarNode { Kind: ScalarKind.String or ScalarKind.Number } scalar => scalar.Text,
        _ => throw Fail(source, path, node, $"expected a string, got {node.Describe()}"),
    };

    public static bool Bool(string source, string path, ConfigNode node) => node switch
    {
        ScalarNode { Kind: ScalarKind.Boolean } scalar => scalar.Text == "true",
        _ => throw Fail(source, path, node, $"expected true or false, got {node.Describe()}"),
    };

    public static long Integer(string source, string path, ConfigNode node, long min, long max)
    {
        if (node is not ScalarNode { Kind: ScalarKind.Number } scalar)
        {
            throw Fail(source, path, node, $"expected a whole number, got {node.Describe()}");
        }

        if (!long.TryParse(scalar.Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            // 1e3 and 5.0 are whole numbers too.
            var isWhole = double.TryParse(scalar.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
                && number == Math.Floor(number) && Math.Abs(number) < 1e18;
            value = isWhole ? (long)number : throw Fail(source, path, node, $"expected a whole number, got {scalar.Text}");
        }

        if (value < min)
        {
            throw Fail(source, path, node, string.Create(CultureInfo.InvariantCulture, $"must be at least {min}, got {value}"));
        }

        return value <= max
            ? value
            : throw Fail(source, path, node, string.Create(CultureInfo.InvariantCulture, $"must be at most {max}, got {value}"));
    }

    public static double Double(string source, string path, ConfigNode node, double min)
    {
        if (node is not ScalarNode { Kind: ScalarKind.Number } scalar
            || !double.TryParse(scalar.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            || !double.IsFinite(value))
        {
            throw Fail(source, path, node, $"expected a number, got {node.Describe()}");
        }

        return value >= min
            ? value
            : throw Fail(source, path, node, string.Create(CultureInfo.InvariantCulture, $"must be at least {min}, got {scalar.Text}"));
    }
}

/// <summary>"Did you mean" for misspelt field names.</summary>
internal static class Suggestions
{
    public static string? Closest(string unknown, IEnumerable<string> known)
    {
        var wanted = Normalize(unknown);
        string? best = null;
        var bestScore = int.MaxValue;
        foreach (var candidate in known.Order(StringComparer.Ordinal))
        {
            var normalized = Normalize(candidate);
            var score = normalized == wanted ? 0
                : wanted.Length >= 3 && (normalized.StartsWith(wanted, StringComparison.Ordinal) || wanted.StartsWith(normalized, StringComparison.Ordinal)) ? 1
                : Distance(wanted, normalized) is var d && d <= Math.Max(1, Math.Min(wanted.Length, normalized.Length) / 3) ? 1 + d
                : int.MaxValue;
            if (score < bestScore)
            {
                (best, bestScore) = (candidate, score);
            }
        }

        return best;
    }

    // maxFailures, max-failures and MAX_FAILURES all mean max_failures.
    private static string Normalize(string name) =>
        name.Replace("_", string.Empty, StringComparison.Ordinal).Replace("-", string.Empty, StringComparison.Ordinal).ToLowerInvariant();

    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        var current = new int[b.Length + 1];
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
