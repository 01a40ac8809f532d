using System.Globalization;
using System.Text.RegularExpressions;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Model;

/// <summary>Job key rules and the canonical <c>role/environment/name</c> form.</summary>
/// <remarks>
/// Identifiers are Aurora's (<c>[A-Za-z0-9_.-]+</c>, at most 255 characters), and may not start with
/// a dot: <c>.</c> and <c>..</c> cannot be addressed in a URL path (clients and servers normalise
/// them away), and a hidden name hides from listings. A job key must also leave room for its task
/// ids, which agents turn into file names (<see cref="TaskIds"/>): role, environment and name
/// together have at most <see cref="TaskIds.MaxJobKeyCharacters"/> characters.
/// </remarks>
public static partial class JobKeys
{
    /// <summary>Aurora's <c>MAX_IDENTIFIER_LENGTH</c>, which is also the file-name limit of every file system we run on.</summary>
    public const int MaxIdentifierLength = 255;

    /// <summary>What an identifier may be, for messages: "it must be {IdentifierRule}".</summary>
    public const string IdentifierRule = "1 to 255 of the characters A-Z a-z 0-9 _ - . and not start with '.'";

    public static JobKey Create(string role, string environment, string name) =>
        new() { Role = role, Environment = environment, Name = name };

    /// <summary><c>role/environment/name</c>.</summary>
    public static string Canonical(this JobKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return $"{key.Role}/{key.Environment}/{key.Name}";
    }

    public static bool IsGoodIdentifier(string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= MaxIdentifierLength && GoodIdentifier().IsMatch(value);

    /// <summary>Parses <c>role/environment/name</c>; the error names what is wrong.</summary>
    public static bool TryParse(string? text, out JobKey key, out string error)
    {
        key = new JobKey();
        var parts = (text ?? string.Empty).Split('/');
        if (parts.Length != 3)
        {
            error = $"Job key '{Shorten(text ?? string.Empty)}' is not of the form role/environment/name.";
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
                return $"Job {part} '{Shorten(value)}' is invalid: it must be {IdentifierRule}.";
            }
        }

        var characters = key.Role.Length + key.Environment.Length + key.Name.Length;
        if (characters > TaskIds.MaxJobKeyCharacters)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"Job key {Shorten(key.Canonical())} is too long: role, environment and name together may have at most {TaskIds.MaxJobKeyCharacters} characters, and they have {characters}. "
                + $"Its task ids (role-environment-name-instance-uuid) would reach {characters + TaskIds.MaxLength - TaskIds.MaxJobKeyCharacters} characters, "
                + $"but agents name sandbox directories and checkpoint files after task ids, which allows at most {TaskIds.MaxLength}. "
                + $"Shorten the role, environment or name by {characters - TaskIds.MaxJobKeyCharacters}.");
        }

        return null;
    }

    /// <summary>The first 80 characters of a value for a message, so that a huge value cannot make a huge answer.</summary>
    internal static string Shorten(string value) => value.Length <= 80 ? value : string.Create(CultureInfo.InvariantCulture, $"{value[..80]}... ({value.Length} characters)");

    // Aurora matches the whole string (Java's Pattern.matches) with an ASCII \w; .NET's $ would also
    // match before a trailing newline and its \w takes any letter, so the class is spelled out.
    [GeneratedRegex(@"\A[A-Za-z0-9_\-][A-Za-z0-9_\-\.]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex GoodIdentifier();
}
