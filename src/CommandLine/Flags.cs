using System.Globalization;
using System.Text;

namespace Aurora.CommandLine;

/// <summary>A flag a command accepts.</summary>
/// <param name="Name">Without dashes, e.g. <c>path</c> for <c>--path=DIR</c> or <c>-path=DIR</c>.</param>
/// <param name="ValueName">Shown in usage (<c>--path=DIR</c>); null for a boolean switch.</param>
/// <param name="Default">Shown in usage when set; the parser itself never fills it in.</param>
public sealed record FlagSpec(string Name, string Help, string? ValueName = null, string? Default = null)
{
    public bool IsSwitch => ValueName is null;

    public string Usage => IsSwitch ? $"--{Name}" : $"--{Name}={ValueName}";
}

/// <summary>Bad command-line input: the message is shown as is, with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Parses <c>--name=value</c>, <c>--name value</c>, <c>-name=value</c> and <c>-name value</c>
/// (Aurora's form); switches take no value (<c>--json</c>) or an explicit <c>=true</c>/<c>=false</c>.
/// Positional arguments are returned in order. Unknown, repeated or value-less flags are
/// <see cref="UsageException"/>s naming the flag.
/// </summary>
/// <remarks>Immutable once built; safe to share.</remarks>
public sealed class Flags
{
    private readonly Dictionary<string, FlagSpec> _specs;

    public Flags(IEnumerable<FlagSpec> specs)
    {
        _specs = specs.ToDictionary(s => s.Name, StringComparer.Ordinal);
        Specs = [.. _specs.Values];
    }

    public IReadOnlyList<FlagSpec> Specs { get; }

    /// <summary>True when <paramref name="arg"/> asks for help in any of the usual spellings.</summary>
    public static bool IsHelp(string arg) => arg is "--help" or "-help" or "-h" or "--h" or "-?";

    /// <param name="context">Names what is being parsed in messages, e.g. <c>command info</c>.</param>
    public ParsedFlags Parse(IReadOnlyList<string> args, string context)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var positionals = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg.Length < 2 || arg[0] != '-' || IsNumber(arg))
            {
                positionals.Add(arg);
                continue;
            }

            var body = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..] : arg[1..];
            var equals = body.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? body : body[..equals];
            if (name.Length == 0)
            {
                throw new UsageException($"unexpected argument '{arg}'");
            }

            if (!_specs.TryGetValue(name, out var spec))
            {
                throw new UsageException($"unknown flag -{(arg.StartsWith("--", StringComparison.Ordinal) ? "-" : string.Empty)}{name} for {context}");
            }

            if (values.ContainsKey(name))
            {
                throw new UsageException($"flag --{name} is given more than once");
            }

            string value;
            if (equals >= 0)
            {
                value = body[(equals + 1)..];
            }
            else if (spec.IsSwitch)
            {
                value = "true";
            }
            else if (i + 1 < args.Count && !LooksLikeFlag(args[i + 1]))
            {
                value = args[++i];
            }
            else
            {
                throw new UsageException($"flag --{name} needs a value: {spec.Usage}");
            }

            if (spec.IsSwitch && value is not ("true" or "false"))
            {
                throw new UsageException($"flag --{name} is a switch and takes no value other than true or false, got '{value}'");
            }

            if (!spec.IsSwitch && value.Length == 0)
            {
                throw new UsageException($"flag --{name} needs a value: {spec.Usage}");
            }

            values[name] = value;
        }

        return new ParsedFlags(values, positionals);
    }

    /// <summary>One line per flag, aligned, for usage text.</summary>
    public static void WriteUsage(StringBuilder output, IEnumerable<FlagSpec> specs, string indent)
    {
        var list = specs.ToList();
        var width = list.Count == 0 ? 0 : list.Max(s => s.Usage.Length);
        foreach (var spec in list)
        {
            output.Append(indent).Append(spec.Usage.PadRight(width + 2)).Append(spec.Help);
            if (spec.Default is { Length: > 0 } defaultValue)
            {
                output.Append(" (default: ").Append(defaultValue).Append(')');
            }

            output.Append('\n');
        }
    }

    private static bool LooksLikeFlag(string arg) => arg.Length > 1 && arg[0] == '-' && !IsNumber(arg);

    private static bool IsNumber(string arg) => long.TryParse(arg, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
}

/// <summary>The flags and positional arguments of one command line.</summary>
public sealed class ParsedFlags(IReadOnlyDictionary<string, string> values, IReadOnlyList<string> positionals)
{
    public IReadOnlyList<string> Positionals { get; } = positionals;

    public bool Has(string name) => values.ContainsKey(name);

    public string? GetString(string name) => values.GetValueOrDefault(name);

    public string RequireString(string name, string usage) =>
        GetString(name) ?? throw new UsageException($"missing flag --{name}: {usage}");

    public bool GetSwitch(string name) => values.TryGetValue(name, out var value) && value == "true";

    /// <summary>The flag as an unsigned integer, or null when absent.</summary>
    public ulong? GetUInt64(string name)
    {
        if (!values.TryGetValue(name, out var value))
        {
            return null;
        }

        return ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new UsageException($"flag --{name} must be a non-negative whole number, got '{value}'");
    }
}
