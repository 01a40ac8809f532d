using System.Text.RegularExpressions;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Model;

/// <summary>Job key rules and the canonical <c>role/environment/name</c> form.</summary>
public static partial class JobKeys
{
    /// <summary>Aurora's <c>GOOD_IDENTIFIER_PATTERN</c>, used for role, environment and name.</summary>
    public const string IdentifierPattern = @"^[\w\-\.]+$";

    public static JobKey Create(string role, string environment, string name) =>
        new() { Role = role, Environment = environment, Name = name };

    /// <summary><c>role/environment/name</c>.</summary>
    public static string Canonical(this JobKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return $"{key.Role}/{key.Environment}/{key.Name}";
    }

    public static bool IsGoodIdentifier(string? value) => !string.IsNullOrEmpty(value) && GoodIdentifier().IsMatch(value);

    /// <summary>Parses <c>role/environment/name</c>; the error names what is wrong.</summary>
    public static bool TryParse(string? text, out JobKey key, out string error)
    {
        key = new JobKey();
        var parts = (text ?? string.Empty).Split('/');
        if (parts.Length != 3)
        {
            error = $"Job key '{text}' is not of the form role/environment/name.";
            return false;
        }

        key = Create(parts[0], parts[1], parts[2]);
        var problem = Problem(key);
        error = problem ?? string.Empty;
        return problem is null;
    }

    /// <summary>Null when the key is valid, otherwise what is wrong with it.</summary>
    public static string? Problem(JobKey? key)
    {
        if (key is null)
        {
            return "Job key is missing.";
        }

        foreach (var (part, value) in new[] { ("role", key.Role), ("environment", key.Environment), ("name", key.Name) })
        {
            if (!IsGoodIdentifier(value))
            {
                return $"Job {part} '{value}' is invalid: it must match {IdentifierPattern}.";
            }
        }

        return null;
    }

    // Aurora matches the whole string (Java's Pattern.matches) with an ASCII \w; .NET's $ would also
    // match before a trailing newline and its \w takes any letter, so the class is spelled out.
    [GeneratedRegex(@"\A[A-Za-z0-9_\-\.]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex GoodIdentifier();
}
