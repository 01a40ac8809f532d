using Aurora.CommandLine;

namespace Aurora.Agent.Node;

/// <summary>One <c>name:value</c> item of a Mesos-style list flag (<c>-attributes</c>, <c>-resources</c>).</summary>
internal readonly record struct FlagItem(string Name, string Value, string Text, string Flag)
{
    /// <summary>The error for this item: one line naming the flag, the item and the problem.</summary>
    public UsageException Bad(string problem) => new($"-{Flag}: \"{Text}\": {problem}");

    /// <summary>The non-empty items of <c>a:1;b:2</c>, each split at its first colon (values may hold more).</summary>
    public static IEnumerable<FlagItem> Split(string text, string flag)
    {
        foreach (var raw in text.Split(';'))
        {
            var item = raw.Trim();
            if (item.Length == 0)
            {
                continue;
            }

            var colon = item.IndexOf(':', StringComparison.Ordinal);
            yield return colon < 0
                ? throw new FlagItem(string.Empty, string.Empty, item, flag).Bad("expected name:value")
                : new FlagItem(item[..colon].Trim(), item[(colon + 1)..].Trim(), item, flag);
        }
    }
}
