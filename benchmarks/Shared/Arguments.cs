using System.Globalization;

namespace Aurora.Benchmarks.Shared;

/// <summary><c>--name value</c> / <c>--name=value</c> options of a harness mode; unknown names are errors.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public Arguments(IReadOnlyList<string> args, params string[] known)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{arg}'");
            }

            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? arg[2..equals] : arg[2..];
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentException($"unknown option --{name} (known: {string.Join(", ", known.Select(k => "--" + k))})");
            }

            if (equals > 0)
            {
                _values[name] = arg[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                _values[name] = args[++i];
            }
            else
            {
                throw new ArgumentException($"--{name} needs a value");
            }
        }
    }

    public double Double(string name, double defaultValue, double min) =>
        Get(name, defaultValue, min, s => double.Parse(s, CultureInfo.InvariantCulture));

    public long Long(string name, long defaultValue, long min) =>
        Get(name, defaultValue, min, s => long.Parse(s, CultureInfo.InvariantCulture));

    public string? String(string name) => _values.GetValueOrDefault(name);

    private T Get<T>(string name, T defaultValue, T min, Func<string, T> parse)
        where T : IComparable<T>
    {
        if (!_values.TryGetValue(name, out var text))
        {
            return defaultValue;
        }

        T value;
        try
        {
            value = parse(text);
        }
        catch (FormatException)
        {
            throw new ArgumentException($"--{name}: '{text}' is not a number");
        }

        return value.CompareTo(min) >= 0 ? value : throw new ArgumentException($"--{name} must be at least {min}");
    }
}
