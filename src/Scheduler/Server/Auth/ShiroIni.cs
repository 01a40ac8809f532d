using System.Collections.Frozen;
using System.Text;
using Aurora.Scheduler.Model;

namespace Aurora.Scheduler.Server.Auth;

/// <summary>
/// The users, passwords, roles and permissions of a Shiro INI file (<c>-shiro_ini_path</c>), read the
/// way Aurora's INI realm reads it, with mistakes that Shiro lets through refused at load time.
/// </summary>
/// <remarks>
/// <para>The format, as Shiro's <c>Ini</c> and <c>IniRealm</c> parse it:</para>
/// <list type="bullet">
/// <item>Lines are trimmed. Blank lines and lines starting with <c>#</c> or <c>;</c> are skipped. There
/// are no end-of-line comments: <c>#</c> after a value is part of the value (a password may contain it).</item>
/// <item>A line ending in an odd number of backslashes continues on the next line (the backslash is dropped).</item>
/// <item><c>[users]</c> and <c>[roles]</c> are the only sections (names are case-sensitive, as in Shiro).</item>
/// <item>A key ends at the first <c>=</c>, <c>:</c> or whitespace; separator characters after it are
/// skipped, so <c>sally = apple</c>, <c>sally: apple</c> and <c>sally apple</c> are the same.</item>
/// <item>The value is split on commas outside double quotes (Shiro's <c>StringUtils.split</c>): quotes are
/// removed, <c>""</c> inside quotes is one quote, each token is trimmed. A permission with sub-parts must
/// therefore be quoted: <c>"thrift.AuroraAdmin:setQuota,snapshot"</c>.</item>
/// <item><c>[users]</c>: <c>name = password, role1, role2</c>; the first token is the password.</item>
/// <item><c>[roles]</c>: <c>role = permission1, permission2</c> (<see cref="WildcardPermission"/>).</item>
/// </list>
/// <para>
/// Refused here though Shiro accepts them, because each hides a mistake: other sections (<c>[main]</c>,
/// <c>[urls]</c>: Aurora ignores them), lines before any section, a section, user or role given twice
/// (Shiro keeps the last silently), a user with an empty password or a role that <c>[roles]</c> does not
/// define (Shiro grants such a role nothing, so a typo locks the user out quietly), a role without
/// permissions, an unterminated quote, and a permission that can never match because its first part is
/// not <c>*</c>, <c>thrift.AuroraSchedulerManager</c> or <c>thrift.AuroraAdmin</c>: usually a sub-part
/// that lost its quotes (<c>thrift.AuroraAdmin:setQuota,snapshot</c> reads as two permissions).
/// </para>
/// <para>Immutable once parsed and safe to share between threads.</para>
/// </remarks>
internal sealed class ShiroIni
{
    public const string UsersSection = "users";
    public const string RolesSection = "roles";

    private static readonly string[] AuroraDomains = [Permissions.SchedulerManagerDomain.ToLowerInvariant(), Permissions.AdminDomain.ToLowerInvariant()];

    private readonly FrozenDictionary<string, IReadOnlyList<WildcardPermission>> _userPermissions;

    private ShiroIni(string fileName, FrozenDictionary<string, ShiroUser> users, FrozenDictionary<string, ShiroRole> roles)
    {
        FileName = fileName;
        Users = users;
        Roles = roles;
        _userPermissions = users.Values.ToFrozenDictionary(
            u => u.Name,
            u => (IReadOnlyList<WildcardPermission>)u.Roles.SelectMany(r => roles[r].Permissions).Distinct().ToArray(),
            StringComparer.Ordinal);
    }

    /// <summary>The file (or source name) the text came from.</summary>
    public string FileName { get; }

    /// <summary>Users by name (case-sensitive).</summary>
    public IReadOnlyDictionary<string, ShiroUser> Users { get; }

    /// <summary>Roles by name (case-sensitive).</summary>
    public IReadOnlyDictionary<string, ShiroRole> Roles { get; }

    /// <summary>Every permission <paramref name="user"/> holds through its roles; empty for an unknown user.</summary>
    public IReadOnlyList<WildcardPermission> PermissionsOf(string user) =>
        _userPermissions.TryGetValue(user, out var permissions) ? permissions : [];

    /// <summary>Reads and parses the file at <paramref name="path"/> (UTF-8).</summary>
    /// <exception cref="ShiroIniException">The file is missing or unreadable, or a line is wrong; the message names the file and line.</exception>
    public static ShiroIni Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Directory.Exists(path))
        {
            throw new ShiroIniException(path, null, "is a directory, not a Shiro INI file.");
        }

        if (!File.Exists(path))
        {
            throw new ShiroIniException(path, null, "does not exist; it should hold the [users] and [roles] sections (see docs/security.md).");
        }

        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ShiroIniException(path, null, $"cannot be read: {e.Message}", e);
        }

        return Parse(text, path);
    }

    /// <summary>Parses INI text; <paramref name="fileName"/> only names it in messages.</summary>
    /// <exception cref="ShiroIniException">A line is wrong; the message names the file and line and says what to fix.</exception>
    public static ShiroIni Parse(string text, string fileName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        return new Parser(fileName).Run(text);
    }

    /// <summary>One pass over the text; lives for one <see cref="Parse"/> call.</summary>
    private sealed class Parser(string fileName)
    {
        private readonly Dictionary<string, int> _sectionLines = new(StringComparer.Ordinal);
        private readonly Dictionary<string, ShiroUser> _users = new(StringComparer.Ordinal);
        private readonly Dictionary<string, ShiroRole> _roles = new(StringComparer.Ordinal);
        private string? _section;

        public ShiroIni Run(string text)
        {
            // A logical line being continued with '\': its text so far and the line it started on.
            StringBuilder? continued = null;
            var continuedFrom = 0;
            var lines = text.Split('\n');
            for (var index = 0; index < lines.Length; index++)
            {
                var number = index + 1;
                var line = lines[index].Trim();
                if (line.Length == 0 || line[0] is '#' or ';')
                {
                    continue;
                }

                if (line[0] == '[')
                {
                    if (continued is not null)
                    {
                        throw Error(continuedFrom, $"the line ends with '\\', so it continues, but line {number} starts a section instead.");
                    }

                    EnterSection(line, number);
                    continue;
                }

                if (_section is null)
                {
                    throw Error(number, $"'{KeyOf(line)}' is outside any section; put users under [users] and roles under [roles].");
                }

                if (EndsWithContinuation(line))
                {
                    if (continued is null)
                    {
                        continued = new StringBuilder();
                        continuedFrom = number;
                    }

                    continued.Append(line, 0, line.Length - 1);
                    continue;
                }

                if (continued is not null)
                {
                    AddEntry(continued.Append(line).ToString(), continuedFrom);
                    continued = null;
                }
                else
                {
                    AddEntry(line, number);
                }
            }

            if (continued is not null)
            {
                throw Error(continuedFrom, "the line ends with '\\', so it continues, but the file ends before another line.");
            }

            foreach (var user in _users.Values.OrderBy(u => u.Line))
            {
                foreach (var role in user.Roles.Where(r => !_roles.ContainsKey(r)))
                {
                    var hint = _roles.Keys.FirstOrDefault(r => string.Equals(r, role, StringComparison.OrdinalIgnoreCase)) is { } near
                        ? $" (role names are case-sensitive: did you mean '{near}'?)"
                        : string.Empty;
                    throw Error(user.Line, $"user '{user.Name}' has role '{role}', which [roles] does not define{hint}; define it or remove it from the user.");
                }
            }

            return new ShiroIni(fileName, _users.ToFrozenDictionary(StringComparer.Ordinal), _roles.ToFrozenDictionary(StringComparer.Ordinal));
        }

        private void EnterSection(string line, int number)
        {
            if (!line.EndsWith(']'))
            {
                throw Error(number, $"'{KeyOf(line)}...' is not a section header; write [users] or [roles] alone on the line.");
            }

            var name = line[1..^1].Trim();
            if (name is not (UsersSection or RolesSection))
            {
                throw Error(number, name switch
                {
                    "main" or "urls" => $"section [{name}] is not supported: Aurora reads only [users] and [roles] from its Shiro INI file.",
                    _ when name.Equals(UsersSection, StringComparison.OrdinalIgnoreCase) || name.Equals(RolesSection, StringComparison.OrdinalIgnoreCase) =>
                        $"section [{name}] is not supported; section names are case-sensitive: write [{name.ToLowerInvariant()}].",
                    _ => $"section [{name}] is not supported; only [users] and [roles] are.",
                });
            }

            if (_sectionLines.TryGetValue(name, out var first))
            {
                throw Error(number, $"section [{name}] appears again (first at line {first}); Shiro would keep only the last one, so merge them into one.");
            }

            _sectionLines.Add(name, number);
            _section = name;
        }

        private void AddEntry(string line, int number)
        {
            var (key, value) = SplitKeyValue(line, number);
            var tokens = SplitDelimited(value, number);
            if (_section == UsersSection)
            {
                AddUser(key, tokens, number);
            }
            else
            {
                AddRole(key, tokens, number);
            }
        }

        private void AddUser(string name, IReadOnlyList<string> tokens, int number)
        {
            if (_users.TryGetValue(name, out var existing))
            {
                throw Error(number, $"user '{name}' is defined again (first at line {existing.Line}); keep one line per user.");
            }

            if (Principals.IsReserved(name))
            {
                throw Error(number, $"user '{name}' has a name reserved for the scheduler's own entries in the log ({string.Join(", ", Principals.Reserved)}); "
                    + "what it did would be recorded as the system's. Give the user another name.");
            }

            if (tokens[0].Length == 0)
            {
                throw Error(number, $"user '{name}' has an empty password; write '{name} = password, role1, role2'.");
            }

            var roles = new List<string>();
            for (var i = 1; i < tokens.Count; i++)
            {
                if (tokens[i].Length == 0)
                {
                    throw Error(number, $"user '{name}' has an empty role name (two commas in a row, or a trailing comma?).");
                }

                if (!roles.Contains(tokens[i], StringComparer.Ordinal))
                {
                    roles.Add(tokens[i]);
                }
            }

            _users.Add(name, new ShiroUser(name, tokens[0], roles, number));
        }

        private void AddRole(string name, IReadOnlyList<string> tokens, int number)
        {
            if (_roles.TryGetValue(name, out var existing))
            {
                throw Error(number, $"role '{name}' is defined again (first at line {existing.Line}); keep one line per role.");
            }

            var permissions = new List<WildcardPermission>();
            foreach (var token in tokens)
            {
                if (token.Length == 0)
                {
                    throw Error(number, $"role '{name}' has an empty permission (two commas in a row, or a trailing comma?).");
                }

                if (!WildcardPermission.TryParse(token, out var permission, out var error))
                {
                    throw Error(number, $"role '{name}': {error}");
                }

                if (!permission.Parts[0].Any(domain => domain == WildcardPermission.Wildcard || AuroraDomains.Contains(domain)))
                {
                    throw Error(number, $"role '{name}': permission '{token}' can never match: Aurora checks only "
                        + $"{Permissions.SchedulerManagerDomain}:<rpc>:<role>:<env>:<job> and {Permissions.AdminDomain}:<rpc>. "
                        + "If it was meant as a sub-part of the permission before it, quote the whole permission, "
                        + "e.g. \"thrift.AuroraAdmin:setQuota,snapshot\".");
                }

                permissions.Add(permission);
            }

            _roles.Add(name, new ShiroRole(name, permissions, number));
        }

        // Shiro's Ini.Section.splitKeyValue: the key ends at the first whitespace, ':' or '=', and every
        // separator character after it is skipped. Backslash escapes in keys are refused rather than
        // imitated: Shiro's handling drops the backslashes, and no useful user or role name needs them.
        private (string Key, string Value) SplitKeyValue(string line, int number)
        {
            var key = KeyOf(line);
            var start = key.Length;
            while (start < line.Length && IsKeyValueSeparator(line[start]))
            {
                start++;
            }

            var value = line[start..].Trim();
            var what = _section == UsersSection ? "user" : "role";
            var shape = _section == UsersSection ? "name = password, role1, role2" : "role = permission1, permission2";
            if (key.Length == 0)
            {
                throw Error(number, $"the line starts with '{line[0]}' and has no {what} name; write '{shape}'.");
            }

            if (key.Contains('\\', StringComparison.Ordinal) || key.Contains('"', StringComparison.Ordinal))
            {
                throw Error(number, $"{what} name '{key}' contains '\\' or '\"'; names cannot contain them.");
            }

            if (value.Length == 0)
            {
                throw Error(number, _section == UsersSection
                    ? $"user '{key}' has no password; write '{shape}'."
                    : $"role '{key}' has no permissions; write '{shape}'.");
            }

            return (key, value);
        }

        // Shiro's StringUtils.split(line, ',', '"', '"', retainQuotes: false, trimTokens: true): commas
        // inside double quotes do not split, the quotes are removed, "" inside quotes is one quote, and
        // each token is trimmed after its quotes are removed. Unlike Shiro, an unterminated quote is an error.
        private List<string> SplitDelimited(string value, int number)
        {
            var tokens = new List<string>();
            var token = new StringBuilder();
            var quoted = false;
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                if (c == '"')
                {
                    if (quoted && i + 1 < value.Length && value[i + 1] == '"')
                    {
                        token.Append('"');
                        i++;
                    }
                    else
                    {
                        quoted = !quoted;
                    }
                }
                else if (c == ',' && !quoted)
                {
                    tokens.Add(token.ToString().Trim());
                    token.Clear();
                }
                else
                {
                    token.Append(c);
                }
            }

            if (quoted)
            {
                throw Error(number, "a double quote is not closed; close it, and write \"\" for a quote inside quotes.");
            }

            tokens.Add(token.ToString().Trim());
            return tokens;
        }

        private ShiroIniException Error(int line, string detail) => new(fileName, line, detail);
    }

    private static bool IsKeyValueSeparator(char c) => char.IsWhiteSpace(c) || c is ':' or '=';

    // Shiro's Ini.Section.isContinued: an odd number of trailing backslashes continues the line; an even
    // number is escaped backslashes.
    private static bool EndsWithContinuation(string line)
    {
        var count = 0;
        for (var i = line.Length - 1; i >= 0 && line[i] == '\\'; i--)
        {
            count++;
        }

        return count % 2 == 1;
    }

    // Lines may hold passwords: messages quote only what comes before the first separator.
    private static string KeyOf(string line)
    {
        var end = 0;
        while (end < line.Length && !IsKeyValueSeparator(line[end]))
        {
            end++;
        }

        return line[..end];
    }
}
