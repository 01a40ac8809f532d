using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Aurora.Agent.Protocol;

/// <summary>One agent principal and its secret, as a Mesos credential.</summary>
/// <remarks>A class rather than a record so that no generated <c>ToString</c> prints the secret.</remarks>
public sealed class AgentCredential
{
    public AgentCredential(string principal, string secret)
    {
        ArgumentNullException.ThrowIfNull(principal);
        ArgumentNullException.ThrowIfNull(secret);
        Principal = principal;
        Secret = secret;
    }

    public string Principal { get; }

    public string Secret { get; }

    /// <summary>The <c>Authorization</c> header value that presents this credential: HTTP Basic, <c>principal:secret</c>.</summary>
    public string BasicHeader() => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(Principal + ":" + Secret));

    /// <summary>A fresh random credential (for the <c>-dev</c> agent, which lives in the scheduler's process).</summary>
    public static AgentCredential Generate(string principal) =>
        new(principal, Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant());

    public override string ToString() => Principal;
}

/// <summary>
/// Reads the Mesos credential files: the agent's <c>--credential</c> (one credential) and the master's
/// <c>--credentials</c> (the accepted ones), in Mesos' two forms.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>JSON: <c>{"principal": "agent", "secret": "s3cret"}</c> for one credential, and
/// <c>{"credentials": [{"principal": "agent", "secret": "s3cret"}, ...]}</c> for a list. A file whose
/// first non-blank character is <c>{</c> is read as JSON.</item>
/// <item>Text: one credential per line, <c>principal secret</c>, separated by spaces or tabs (Mesos
/// tokenizes each line on whitespace and wants exactly two tokens). Blank lines are skipped.</item>
/// <item>The path may be given as <c>file:///path</c>, as Mesos allows.</item>
/// </list>
/// <para>Stricter than Mesos, because each hides a mistake: an empty file, an empty principal or
/// secret, a principal with <c>:</c> (HTTP Basic cannot carry it), whitespace or control characters,
/// a principal given twice, unknown JSON fields, and a one-credential file with several lines.</para>
/// <para>Stateless and thread-safe.</para>
/// </remarks>
public static class AgentCredentialFile
{
    /// <summary>The largest credential file read; a larger one is not a credential file.</summary>
    private const int MaxFileBytes = 1 << 20;

    /// <summary>The agent's own credential (<c>-credential</c>): a file with exactly one.</summary>
    /// <exception cref="AgentCredentialFileException">Missing, unreadable, malformed, or not exactly one credential.</exception>
    public static AgentCredential LoadOne(string flag, string path)
    {
        var text = Read(flag, path);
        List<AgentCredential> credentials;
        if (IsJson(text))
        {
            credentials = [ParseJsonCredential(flag, path, Json(flag, path, text), "the file")];
        }
        else
        {
            credentials = ParseLines(flag, path, text);
            if (credentials.Count > 1)
            {
                throw new AgentCredentialFileException(flag, path, $"holds {credentials.Count} credentials; the agent's credential file holds one line 'principal secret'");
            }
        }

        return credentials[0];
    }

    /// <summary>The credentials the scheduler accepts (<c>-agent_credentials</c>): at least one.</summary>
    /// <exception cref="AgentCredentialFileException">Missing, unreadable, malformed, a principal given twice, or no credential at all.</exception>
    public static IReadOnlyList<AgentCredential> LoadAll(string flag, string path)
    {
        var text = Read(flag, path);
        List<AgentCredential> credentials;
        if (IsJson(text))
        {
            var root = Json(flag, path, text);
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("credentials", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                throw new AgentCredentialFileException(flag, path, "is JSON but not {\"credentials\": [{\"principal\": ..., \"secret\": ...}, ...]}");
            }

            foreach (var property in root.EnumerateObject())
            {
                if (property.Name != "credentials")
                {
                    throw new AgentCredentialFileException(flag, path, $"has an unknown field '{property.Name}'; only \"credentials\" is read");
                }
            }

            credentials = list.EnumerateArray().Select((item, i) => ParseJsonCredential(flag, path, item, $"credentials[{i}]")).ToList();
            if (credentials.Count == 0)
            {
                throw new AgentCredentialFileException(flag, path, "has an empty \"credentials\" list; no agent could authenticate");
            }
        }
        else
        {
            credentials = ParseLines(flag, path, text);
        }

        var twice = credentials.GroupBy(c => c.Principal, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
        {
            throw new AgentCredentialFileException(flag, path, $"gives principal '{twice.Key}' {twice.Count()} times; give each once");
        }

        return credentials;
    }

    private static string Read(string flag, string path)
    {
        ArgumentNullException.ThrowIfNull(flag);
        ArgumentNullException.ThrowIfNull(path);
        var file = path.StartsWith("file://", StringComparison.Ordinal) ? path["file://".Length..] : path;
        if (file.Length == 0)
        {
            throw new AgentCredentialFileException(flag, path, "no file is named");
        }

        if (Directory.Exists(file))
        {
            throw new AgentCredentialFileException(flag, path, "is a directory, not a credential file");
        }

        if (!File.Exists(file))
        {
            throw new AgentCredentialFileException(flag, path, "no such file");
        }

        byte[] bytes;
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (stream.Length > MaxFileBytes)
            {
                throw new AgentCredentialFileException(flag, path, $"has {stream.Length} bytes; a credential file has at most {MaxFileBytes}");
            }

            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AgentCredentialFileException(flag, path, $"cannot read it: {e.Message}");
        }

        try
        {
            var text = new UTF8Encoding(false, true).GetString(bytes);
            return text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
        }
        catch (DecoderFallbackException)
        {
            throw new AgentCredentialFileException(flag, path, "is not UTF-8 text");
        }
    }

    private static bool IsJson(string text) => text.TrimStart().StartsWith('{');

    private static JsonElement Json(string flag, string path, string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            // The parser's message quotes no content beyond a position.
            throw new AgentCredentialFileException(flag, path, $"is not valid JSON: {e.Message}");
        }
    }

    private static AgentCredential ParseJsonCredential(string flag, string path, JsonElement item, string where)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw new AgentCredentialFileException(flag, path, $"{where} is not an object {{\"principal\": ..., \"secret\": ...}}");
        }

        string? principal = null;
        string? secret = null;
        foreach (var property in item.EnumerateObject())
        {
            var value = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : null;
            switch (property.Name)
            {
                case "principal":
                    principal = value ?? throw new AgentCredentialFileException(flag, path, $"{where}: \"principal\" must be a string");
                    break;
                case "secret":
                    secret = value ?? throw new AgentCredentialFileException(flag, path, $"{where}: \"secret\" must be a string");
                    break;
                default:
                    throw new AgentCredentialFileException(flag, path, $"{where} has an unknown field '{property.Name}'; a credential has \"principal\" and \"secret\"");
            }
        }

        return Checked(flag, path, where, principal, secret);
    }

    private static List<AgentCredential> ParseLines(string flag, string path, string text)
    {
        var credentials = new List<AgentCredential>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var tokens = lines[i].TrimEnd('\r').Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length == 0)
            {
                continue;
            }

            var where = $"line {i + 1}";
            if (tokens.Length != 2)
            {
                throw new AgentCredentialFileException(flag, path, $"{where} has {tokens.Length} word(s); each line is 'principal secret' (or use JSON, see docs/security.md)");
            }

            credentials.Add(Checked(flag, path, where, tokens[0], tokens[1]));
        }

        return credentials.Count > 0
            ? credentials
            : throw new AgentCredentialFileException(flag, path, "is empty; it needs a line 'principal secret' (or JSON, see docs/security.md)");
    }

    private static AgentCredential Checked(string flag, string path, string where, string? principal, string? secret)
    {
        if (string.IsNullOrEmpty(principal))
        {
            throw new AgentCredentialFileException(flag, path, $"{where}: the principal is missing or empty");
        }

        if (principal.Contains(':', StringComparison.Ordinal) || principal.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new AgentCredentialFileException(flag, path, $"{where}: the principal may not hold ':', whitespace or control characters (it travels as the HTTP Basic user name)");
        }

        if (string.IsNullOrEmpty(secret))
        {
            throw new AgentCredentialFileException(flag, path, $"{where}: the secret of principal '{principal}' is missing or empty");
        }

        if (secret.Any(char.IsControl))
        {
            throw new AgentCredentialFileException(flag, path, $"{where}: the secret of principal '{principal}' holds control characters");
        }

        return new AgentCredential(principal, secret);
    }
}
