using System.Text;

namespace Aurora.Client;

/// <summary>A login and password from <c>.netrc</c>.</summary>
public sealed record NetrcCredentials(string Login, string Password)
{
    // Keeps the password out of logs and exception messages that print the record.
    public override string ToString() => $"NetrcCredentials {{ Login = {Login} }}";
}

/// <summary>
/// The <c>~/.netrc</c> file, where the clients find BASIC credentials for a scheduler's host
/// (Aurora's client does the same). Tokens are separated by any whitespace, so an entry may span
/// lines: <c>machine HOST login USER password PASS</c>, <c>default login USER password PASS</c>;
/// <c>account</c> is read and ignored, <c>macdef</c> skips its macro up to the next blank line,
/// <c>#</c> starts a comment, and a token may be written in double quotes with backslash escapes.
/// The first entry for a host wins, as in curl and ftp; <c>default</c> answers for any host without one.
/// </summary>
/// <remarks>Immutable once parsed.</remarks>
public sealed class Netrc
{
    private readonly List<(string Machine, NetrcCredentials Credentials)> _machines;
    private readonly NetrcCredentials? _default;

    private Netrc(List<(string, NetrcCredentials)> machines, NetrcCredentials? defaultCredentials)
    {
        _machines = machines;
        _default = defaultCredentials;
    }

    public static Netrc Empty { get; } = new([], null);

    public static string DefaultPath(ClientEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return Path.Combine(environment.HomeDirectory, ".netrc");
    }

    /// <summary>Reads the file; a missing file is an empty netrc.</summary>
    public static Netrc Load(string path)
    {
        if (!File.Exists(path))
        {
            return Empty;
        }

        try
        {
            return Parse(File.ReadAllText(path), path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ClientException(ExitCodes.InvalidConfiguration, $"cannot read {path}: {e.Message}", e);
        }
    }

    /// <summary>The credentials for <paramref name="host"/> (case-insensitive), else the <c>default</c> entry, else null.</summary>
    public NetrcCredentials? Find(string host)
    {
        foreach (var (machine, credentials) in _machines)
        {
            if (string.Equals(machine, host, StringComparison.OrdinalIgnoreCase))
            {
                return credentials;
            }
        }

        return _default;
    }

    /// <param name="source">Names the file in errors.</param>
    public static Netrc Parse(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = Tokenize(text, source);
        var machines = new List<(string, NetrcCredentials)>();
        NetrcCredentials? defaultCredentials = null;
        var i = 0;
        while (i < tokens.Count)
        {
            var (keyword, line) = tokens[i];
            string? machine;
            switch (keyword)
            {
                case "machine":
                    machine = Value(tokens, i, source);
                    i += 2;
                    break;
                case "default":
                    machine = null;
                    i += 1;
                    break;
                case "macdef":
                    // Tokenize already dropped the macro body; only its name is left.
                    Value(tokens, i, source);
                    i += 2;
                    continue;
                default:
                    throw Invalid(source, line, $"expected 'machine', 'default' or 'macdef', got '{keyword}'");
            }

            string? login = null, password = null;
            while (i < tokens.Count && tokens[i].Text is "login" or "password" or "account")
            {
                var value = Value(tokens, i, source);
                if (tokens[i].Text == "login")
                {
                    login = value;
                }
                else if (tokens[i].Text == "password")
                {
                    password = value;
                }

                i += 2;
            }

            if (login is null || password is null)
            {
                // An entry without both cannot authenticate; skipping it matches curl, which then
                // asks for what is missing, and the 401 message will point here.
                continue;
            }

            var credentials = new NetrcCredentials(login, password);
            if (machine is null)
            {
                defaultCredentials ??= credentials;
            }
            else
            {
                machines.Add((machine, credentials));
            }
        }

        return new Netrc(machines, defaultCredentials);
    }

    private static string Value(List<(string Text, int Line)> tokens, int index, string source) =>
        index + 1 < tokens.Count
            ? tokens[index + 1].Text
            : throw Invalid(source, tokens[index].Line, $"'{tokens[index].Text}' needs a value");

    private static List<(string Text, int Line)> Tokenize(string text, string source)
    {
        var tokens = new List<(string, int)>();
        var line = 1;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '\n')
            {
                line++;
                i++;
                continue;
            }

            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            // A '#' where a value is expected is part of that value (a password may start with it).
            if (c == '#' && !ExpectsValue(tokens))
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }

                continue;
            }

            var start = line;
            var token = new StringBuilder();
            if (c == '"')
            {
                i++;
                while (true)
                {
                    if (i >= text.Length)
                    {
                        throw Invalid(source, start, "a quoted token is not closed");
                    }

                    if (text[i] == '"')
                    {
                        i++;
                        break;
                    }

                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    if (text[i] == '\n')
                    {
                        line++;
                    }

                    token.Append(text[i]);
                    i++;
                }
            }
            else
            {
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    token.Append(text[i]);
                    i++;
                }
            }

            tokens.Add((token.ToString(), start));
            if (token.ToString() == "macdef" && c != '"')
            {
                i = SkipMacro(text, i, ref line, tokens, source);
            }
        }

        return tokens;
    }

    private static bool ExpectsValue(List<(string Text, int Line)> tokens) =>
        tokens.Count > 0 && tokens[^1].Text is "machine" or "login" or "password" or "account";

    // A macro is its name on the macdef line, then every line up to the first empty one.
    private static int SkipMacro(string text, int i, ref int line, List<(string, int)> tokens, string source)
    {
        while (i < text.Length && text[i] is ' ' or '\t')
        {
            i++;
        }

        var nameStart = i;
        while (i < text.Length && !char.IsWhiteSpace(text[i]))
        {
            i++;
        }

        if (i == nameStart)
        {
            throw Invalid(source, line, "'macdef' needs a macro name");
        }

        tokens.Add((text[nameStart..i], line));
        while (i < text.Length && text[i] != '\n')
        {
            i++;
        }

        // Now at the end of the macdef line; skip body lines until an empty line.
        while (i < text.Length)
        {
            i++;
            line++;
            var lineStart = i;
            while (i < text.Length && text[i] != '\n')
            {
                i++;
            }

            if (text.AsSpan(lineStart, i - lineStart).Trim().IsEmpty)
            {
                break;
            }
        }

        return i;
    }

    private static ClientException Invalid(string source, int line, string problem) =>
        new(ExitCodes.InvalidConfiguration, $"invalid netrc file {source} line {line}: {problem}");
}
