using System.Globalization;
using Aurora.CommandLine;

namespace Aurora.Client;

/// <summary>Instance lists as users write them: <c>0</c>, <c>0-3</c>, <c>0,2,5-7</c>.</summary>
public static class InstanceRanges
{
    /// <summary>The largest instance id accepted, so that <c>0-2000000000</c> cannot exhaust memory.</summary>
    public const int MaxInstance = 99_999;

    /// <summary>The distinct instance ids, ascending; a <see cref="UsageException"/> naming <paramref name="context"/> when malformed.</summary>
    public static IReadOnlyList<int> Parse(string text, string context)
    {
        ArgumentNullException.ThrowIfNull(text);
        var instances = new SortedSet<int>();
        foreach (var part in text.Split(','))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0)
            {
                instances.Add(Number(part, text, context));
                continue;
            }

            var first = Number(part[..dash], text, context);
            var last = Number(part[(dash + 1)..], text, context);
            if (last < first)
            {
                throw new UsageException($"bad instances '{text}' in {context}: range {part} ends before it starts");
            }

            for (var i = first; i <= last; i++)
            {
                instances.Add(i);
            }
        }

        return [.. instances];
    }

    /// <summary><c>0-3,5</c>: the shortest spelling of the ids.</summary>
    public static string Format(IEnumerable<int> instances)
    {
        var parts = new List<string>();
        foreach (var range in Scheduler.Model.Ranges.Of(instances))
        {
            parts.Add(range.First == range.Last
                ? range.First.ToString(CultureInfo.InvariantCulture)
                : string.Create(CultureInfo.InvariantCulture, $"{range.First}-{range.Last}"));
        }

        return string.Join(',', parts);
    }

    private static int Number(string text, string whole, string context)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number <= MaxInstance)
        {
            return number;
        }

        throw new UsageException(
            $"bad instances '{whole}' in {context}: expected a number, a range like 0-3 or a list like 0,2,5-7 (instance ids 0 to {MaxInstance})");
    }
}
