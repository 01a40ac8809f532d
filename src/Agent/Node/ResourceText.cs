using System.Globalization;
using System.Text;
using Aurora.Agent.Protocol;
using Aurora.CommandLine;

namespace Aurora.Agent.Node;

/// <summary>The resources an operator gave in <c>-resources</c> or <c>-revocable_resources</c>; null where the text is silent.</summary>
public sealed record ResourceAmounts(double? Cpus, long? RamMb, long? DiskMb, long? Gpus, IReadOnlyList<PortRange>? Ports)
{
    public static readonly ResourceAmounts None = new(null, null, null, null, null);

    /// <summary>What was given, and <paramref name="defaults"/> for the rest.</summary>
    public ResourceSet Complete(ResourceSet defaults)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        return new ResourceSet(Cpus ?? defaults.Cpus, RamMb ?? defaults.RamMb, DiskMb ?? defaults.DiskMb, Ports ?? defaults.Ports, Gpus ?? defaults.Gpus);
    }
}

/// <summary>
/// Mesos's resource text: <c>cpus:4;mem:8192;disk:20480;gpus:1;ports:[31000-31999,33000-33099]</c>
/// (mem and disk in MB). Pure functions: every mistake is a <see cref="UsageException"/> naming the
/// flag, the offending item and what is wrong with it.
/// </summary>
public static class ResourceText
{
    public const int LowestPort = 1;
    public const int HighestPort = 65535;

    private static readonly string[] Known = ["cpus", "mem", "disk", "gpus", "ports"];

    /// <param name="flag">Named in messages, e.g. <c>resources</c>.</param>
    /// <param name="allowPorts">False for revocable resources: ports are never revocable.</param>
    public static ResourceAmounts Parse(string text, string flag, bool allowPorts = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(flag);
        var amounts = ResourceAmounts.None;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in FlagItem.Split(text, flag))
        {
            var (name, value) = (item.Name, item.Value);
            if (!Known.Contains(name, StringComparer.Ordinal))
            {
                throw item.Bad(name.Length == 0 ? "the resource name is empty" : $"unknown resource {name} (known: {string.Join(", ", Known)})");
            }

            if (!seen.Add(name))
            {
                throw item.Bad($"{name} is given more than once");
            }

            amounts = name switch
            {
                "cpus" => amounts with { Cpus = PositiveNumber(value) ?? throw item.Bad("cpus must be a positive number") },
                "mem" => amounts with { RamMb = PositiveWhole(value) ?? throw item.Bad("mem must be a positive whole number of MB") },
                "disk" => amounts with { DiskMb = PositiveWhole(value) ?? throw item.Bad("disk must be a positive whole number of MB") },
                "gpus" => amounts with { Gpus = Whole(value) ?? throw item.Bad("gpus must be a whole number (0 or more)") },
                _ => amounts with { Ports = allowPorts ? ParsePorts(value, item.Bad) : throw item.Bad("ports cannot be revocable") },
            };
        }

        return amounts;
    }

    /// <summary>The text <see cref="Parse"/> reads back into the same set (gpus only when there are any).</summary>
    public static string Format(ResourceSet resources, bool includePorts = true)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"cpus:{resources.Cpus.ToString("R", CultureInfo.InvariantCulture)};mem:{resources.RamMb};disk:{resources.DiskMb}");
        if (resources.Gpus > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $";gpus:{resources.Gpus}");
        }

        if (includePorts)
        {
            text.Append(";ports:").Append(FormatPorts(resources.Ports));
        }

        return text.ToString();
    }

    public static string FormatPorts(IReadOnlyList<PortRange> ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        return "[" + string.Join(',', ports.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.First}-{r.Last}"))) + "]";
    }

    private static List<PortRange> ParsePorts(string value, Func<string, UsageException> bad)
    {
        if (value.Length < 2 || value[0] != '[' || value[^1] != ']')
        {
            throw bad("ports must be ranges in brackets, e.g. [31000-31999,33000-33099]");
        }

        var ranges = new List<PortRange>();
        var inside = value[1..^1].Trim();
        if (inside.Length == 0)
        {
            return ranges;
        }

        foreach (var rawRange in inside.Split(','))
        {
            var range = rawRange.Trim();
            var dash = range.IndexOf('-', StringComparison.Ordinal);
            if (dash < 0 || Port(range[..dash]) is not { } first || Port(range[(dash + 1)..]) is not { } last)
            {
                throw bad($"port range \"{range}\" must be FIRST-LAST, e.g. 31000-31999");
            }

            foreach (var port in new[] { first, last })
            {
                if (port is < LowestPort or > HighestPort)
                {
                    throw bad($"port {port} is outside {LowestPort}-{HighestPort}");
                }
            }

            if (last < first)
            {
                throw bad($"port range {first}-{last} ends before it starts");
            }

            ranges.Add(new PortRange((int)first, (int)last));
        }

        ranges.Sort((a, b) => a.First.CompareTo(b.First));
        for (var i = 1; i < ranges.Count; i++)
        {
            if (ranges[i].First <= ranges[i - 1].Last)
            {
                throw bad($"port ranges {ranges[i - 1].First}-{ranges[i - 1].Last} and {ranges[i].First}-{ranges[i].Last} overlap");
            }
        }

        return ranges;
    }

    private static long? Port(string text) =>
        long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : null;

    private static double? PositiveNumber(string text) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number) && number > 0 ? number : null;

    private static long? PositiveWhole(string text) => Whole(text) is > 0 and var number ? number : null;

    private static long? Whole(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : null;
}
