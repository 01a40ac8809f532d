using Aurora.Agent.Protocol;
using Aurora.CommandLine;

namespace Aurora.Agent.Node;

/// <summary>
/// Mesos's attribute text: <c>host:a;rack:r1;dedicated:db_team/redis</c>. A name may repeat to give
/// a set of values (<c>zone:a;zone:b</c>); a value may itself hold colons (split at the first).
/// Pure functions: every mistake is a <see cref="UsageException"/> naming the flag and the item.
/// </summary>
public static class AttributeText
{
    /// <summary>The attribute Aurora's host constraints and dedicated hosts read.</summary>
    public const string HostAttribute = "host";

    /// <param name="flag">Named in messages, e.g. <c>attributes</c>.</param>
    public static IReadOnlyList<AgentAttribute> Parse(string text, string flag)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(flag);
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var item in FlagItem.Split(text, flag))
        {
            var (name, value) = (item.Name, item.Value);
            if (name.Length == 0)
            {
                throw item.Bad("the attribute name is empty");
            }

            if (name.Any(char.IsWhiteSpace))
            {
                throw item.Bad($"attribute name \"{name}\" contains whitespace");
            }

            if (value.Length == 0)
            {
                throw item.Bad($"{name} has an empty value");
            }

            if (!values.TryGetValue(name, out var list))
            {
                values[name] = list = [];
                order.Add(name);
            }

            if (!list.Contains(value, StringComparer.Ordinal))
            {
                list.Add(value);
            }
        }

        return [.. order.Select(name => new AgentAttribute(name, values[name]))];
    }

    /// <summary>The text <see cref="Parse"/> reads back into the same attributes.</summary>
    public static string Format(IReadOnlyList<AgentAttribute> attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        return string.Join(';', attributes.SelectMany(a => a.Values.Select(v => $"{a.Name}:{v}")));
    }

    /// <summary>Adds Aurora's <c>host</c> attribute from the host name unless the operator gave one.</summary>
    public static IReadOnlyList<AgentAttribute> WithHost(IReadOnlyList<AgentAttribute> attributes, string hostname)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        return attributes.Any(a => a.Name == HostAttribute)
            ? attributes
            : [new AgentAttribute(HostAttribute, [hostname]), .. attributes];
    }
}
