using System.Collections.Concurrent;
using System.Reflection;
using System.Text.RegularExpressions;
using Google.Protobuf.Reflection;

namespace Aurora.Scheduler.Model;

/// <summary>
/// Enum values as Aurora spells them (<c>ROLLING_FORWARD</c>, <c>DRAINING</c>): the <c>.proto</c>
/// name without the enum-name prefix that proto3's shared scope forces on it.
/// </summary>
public static partial class ProtoNames
{
    private static readonly ConcurrentDictionary<Enum, string> Names = new();

    public static string Of<T>(T value)
        where T : struct, Enum =>
        Names.GetOrAdd(value, static v =>
        {
            var type = v.GetType();
            var original = type.GetField(v.ToString())?.GetCustomAttribute<OriginalNameAttribute>()?.Name ?? v.ToString().ToUpperInvariant();
            var prefix = UpperSnake().Replace(type.Name, "_$1").ToUpperInvariant() + "_";
            return original.StartsWith(prefix, StringComparison.Ordinal) ? original[prefix.Length..] : original;
        });

    /// <summary>Parses Aurora's spelling, case-insensitively; false for unknown names.</summary>
    public static bool TryParse<T>(string? text, out T value)
        where T : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<T>())
        {
            if (string.Equals(Of(candidate), text, StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }

    [GeneratedRegex("(?<!^)([A-Z])", RegexOptions.CultureInvariant)]
    private static partial Regex UpperSnake();
}
