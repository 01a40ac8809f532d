using System.Text;
using System.Text.Json.Nodes;

namespace Aurora.Scheduler.Server.Tests.Fuzz;

/// <summary>
/// The raw material of the API fuzzer: names and values drawn from one seeded <see cref="Random"/>,
/// mostly plausible and sometimes nasty (the values that broke schedulers before: dots, lengths at
/// and past every limit, control characters, numbers no machine has, the wrong JSON kind).
/// </summary>
/// <remarks>Not thread-safe; one per fuzz run, so that a seed replays the same run.</remarks>
internal sealed class FuzzValues(int seed)
{
    /// <summary>Commands tasks may run: the fuzzer never puts anything else in a cmdline or a shell health check.</summary>
    public static readonly string[] SafeCommands = ["sleep 30", "true", "echo fuzz", "exit 3", "sleep 0.2; exit 1"];

    private static readonly string[] Roles = ["www-data", "fuzz", "a.b", "x_y-z", "r"];

    private static readonly string[] Environments = ["prod", "devel", "test", "staging1"];

    private static readonly string[] NastyStrings =
    [
        "", ".", "..", ".hidden", "a/b", "%2e%2e", "a b", "a\u0000b", "a\nb", "\r\n", "\t", "ünïcödé", "😀", "javascript:alert(1)",
        "http://x", "/etc/passwd", "../../etc/passwd", "${HOME}", "%n%s", "'; DROP TABLE jobs; --", "<script>", "\\", "\"", "null", "true", "-1",
        "NaN", "Infinity", "1e308", "0x10", "scheduler", "cron", "agent",
    ];

    private static readonly JsonNode?[] NastyNumbers =
    [
        0, -1, 1, 2, -0.0, 0.5, 1e308, -1e308, 1e-308, int.MaxValue, int.MinValue, long.MaxValue, long.MinValue, 9.3e18, 4294967296L,
        65536, 65537, 1_000_000, 999_999, JsonValue.Create("NaN"), JsonValue.Create("Infinity"), JsonValue.Create("-Infinity"), JsonValue.Create("12"),
    ];

    public Random Random { get; } = new(seed);

    public bool Chance(double probability) => Random.NextDouble() < probability;

    public T Pick<T>(IReadOnlyList<T> items) => items[Random.Next(items.Count)];

    public int Between(int min, int maxInclusive) => Random.Next(min, maxInclusive + 1);

    /// <summary>A role: one of a few, so that quotas and jobs meet; rarely a new or broken one.</summary>
    public string Role() => Chance(0.9) ? Pick(Roles) : Chance(0.5) ? Identifier() : Nasty();

    public string Environment() => Chance(0.9) ? Pick(Environments) : Chance(0.5) ? Identifier() : Nasty();

    /// <summary>A job name: usually short; often near or past the length the task ids leave.</summary>
    public string JobName() => Random.Next(10) switch
    {
        < 6 => Identifier(Between(1, 12)),
        6 => Identifier(Between(150, 200)),
        7 => Identifier(Between(1, 255)),
        8 => Identifier(Between(256, 10_000)),
        _ => Nasty(),
    };

    /// <summary>Letters, digits, '_', '-' and '.' (which may come first: the server must refuse that).</summary>
    public string Identifier(int? length = null)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
        var builder = new StringBuilder();
        var count = length ?? Between(1, 10);
        for (var i = 0; i < count; i++)
        {
            // Dots are rarer inside a name than the other characters, but not rare enough to miss.
            var c = alphabet[Random.Next(alphabet.Length)];
            builder.Append(c == '.' && Chance(0.5) ? 'x' : c);
        }

        return builder.ToString();
    }

    public string Nasty() => Random.Next(6) switch
    {
        0 => new string('x', Pick([255, 256, 1024, 100_000])),
        1 => RandomText(Between(1, 40)),
        _ => Pick(NastyStrings),
    };

    /// <summary>Any characters of the Basic Multilingual Plane, control characters included; lone surrogates come from <see cref="JsonMutator"/>, on the text.</summary>
    public string RandomText(int length)
    {
        var builder = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            var c = (char)(Chance(0.7) ? Random.Next(0x20, 0x7F) : Random.Next(0, 0xFFFF));
            builder.Append(char.IsSurrogate(c) ? '?' : c);
        }

        return builder.ToString();
    }

    /// <summary>A number a field might hold, from plausible to absurd, sometimes as a string.</summary>
    public JsonNode? Number() => Chance(0.5) ? JsonValue.Create(Between(0, 4)) : Pick(NastyNumbers)?.DeepClone();

    /// <summary>Any JSON value, up to <paramref name="depth"/> levels deep.</summary>
    public JsonNode? AnyJson(int depth = 2) => Random.Next(depth > 0 ? 7 : 5) switch
    {
        0 => null,
        1 => JsonValue.Create(Chance(0.5)),
        2 => Number(),
        3 => JsonValue.Create(Nasty()),
        4 => JsonValue.Create(Identifier()),
        5 => new JsonArray([.. Enumerable.Range(0, Between(0, 3)).Select(_ => AnyJson(depth - 1))]),
        _ => new JsonObject(Enumerable.Range(0, Between(0, 3)).Select(i => KeyValuePair.Create($"{Identifier()}{i}", AnyJson(depth - 1)))),
    };
}
