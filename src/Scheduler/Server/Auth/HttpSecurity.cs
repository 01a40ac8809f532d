using System.Collections.Frozen;

namespace Aurora.Scheduler.Server.Auth;

/// <summary>
/// Aurora's HTTP security without Shiro: who the caller is (HTTP Basic against the INI <c>[users]</c>)
/// and whether they may do something (the permissions of their <c>[roles]</c>). No ASP.NET types: the
/// server passes the raw <c>Authorization</c> header and the permission an endpoint needs.
/// </summary>
/// <remarks>
/// <para>
/// Built once at startup from the flags and immutable afterwards; every method may be called from any
/// number of request threads at once.
/// </para>
/// <para>
/// With <see cref="AuthenticationMechanism.None"/> every request is allowed and the header is ignored, as
/// in Aurora. With <see cref="AuthenticationMechanism.Basic"/> an endpoint that needs a permission answers
/// 401 without valid credentials and 403 without the permission; reads that need none stay open.
/// </para>
/// </remarks>
internal sealed class HttpSecurity
{
    /// <summary>The realm named in the Basic challenge, as Aurora's.</summary>
    public const string Realm = "Aurora";

    /// <summary>The <c>WWW-Authenticate</c> value of a 401 answer.</summary>
    public const string Challenge = "Basic realm=\"" + Realm + "\"";

    private readonly FrozenDictionary<string, Account> _accounts;

    private HttpSecurity(AuthenticationMechanism mechanism, ShiroIni? ini)
    {
        Mechanism = mechanism;
        Ini = ini;
        _accounts = ini is null
            ? FrozenDictionary<string, Account>.Empty
            : ini.Users.Values.ToFrozenDictionary(
                u => u.Name,
                u => new Account(u.Name, BasicCredentials.Digest(u.Password), ini.PermissionsOf(u.Name)),
                StringComparer.Ordinal);
    }

    /// <summary>No authentication: every request is allowed.</summary>
    public static HttpSecurity Open { get; } = new(AuthenticationMechanism.None, null);

    public AuthenticationMechanism Mechanism { get; }

    /// <summary>The users and roles, or null when no INI file was given.</summary>
    public ShiroIni? Ini { get; }

    /// <summary>True when endpoints that need a permission must check it (the mechanism is Basic).</summary>
    public bool IsEnforced => Mechanism == AuthenticationMechanism.Basic;

    /// <summary>Basic authentication and authorization against <paramref name="ini"/>.</summary>
    /// <exception cref="ShiroIniException">The file defines no users, so nobody could log in.</exception>
    public static HttpSecurity Basic(ShiroIni ini)
    {
        ArgumentNullException.ThrowIfNull(ini);
        if (ini.Users.Count == 0)
        {
            throw new ShiroIniException(ini.FileName, null, "defines no users in [users], so nobody could log in with -http_authentication_mechanism=BASIC.");
        }

        return new HttpSecurity(AuthenticationMechanism.Basic, ini);
    }

    /// <summary>
    /// From the flags <c>-http_authentication_mechanism</c> and <c>-shiro_ini_path</c> (null or empty when
    /// not given). With NONE a given INI file is still loaded, so its mistakes show before BASIC is turned on.
    /// </summary>
    /// <exception cref="FormatException">The mechanism is not NONE or BASIC (NEGOTIATE: Kerberos is not supported).</exception>
    /// <exception cref="ArgumentException">BASIC without an INI file.</exception>
    /// <exception cref="ShiroIniException">The INI file is missing, unreadable or wrong, or defines no users under BASIC.</exception>
    public static HttpSecurity Create(string mechanismFlag, string? shiroIniPath)
    {
        var mechanism = ParseMechanism(mechanismFlag);
        var ini = string.IsNullOrWhiteSpace(shiroIniPath) ? null : ShiroIni.Load(shiroIniPath);
        return mechanism switch
        {
            AuthenticationMechanism.Basic when ini is null => throw new ArgumentException(
                "-http_authentication_mechanism=BASIC needs -shiro_ini_path: the Shiro INI file with the [users] and [roles] (see docs/security.md)."),
            AuthenticationMechanism.Basic => Basic(ini!),
            _ => new HttpSecurity(AuthenticationMechanism.None, ini),
        };
    }

    /// <summary>Parses the flag value <c>NONE</c> or <c>BASIC</c>, in any case.</summary>
    /// <exception cref="FormatException">Anything else; NEGOTIATE says that Kerberos is not supported.</exception>
    public static AuthenticationMechanism ParseMechanism(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Trim().ToUpperInvariant() switch
        {
            "NONE" => AuthenticationMechanism.None,
            "BASIC" => AuthenticationMechanism.Basic,
            "NEGOTIATE" => throw new FormatException(
                "-http_authentication_mechanism=NEGOTIATE: Kerberos (SPNEGO) is not supported by this scheduler; use BASIC behind a TLS reverse proxy, or NONE."),
            _ => throw new FormatException($"-http_authentication_mechanism={value}: must be NONE or BASIC."),
        };
    }

    /// <summary>Who the <c>Authorization</c> header value (null when absent) says the caller is.</summary>
    /// <remarks>Checked by <see cref="BasicCredentials.Verify"/>: in constant time, the header never quoted.</remarks>
    public AuthenticationResult Authenticate(string? authorizationHeader)
    {
        if (Mechanism == AuthenticationMechanism.None || authorizationHeader is null)
        {
            return AuthenticationResult.Anonymous;
        }

        return BasicCredentials.Verify(authorizationHeader, user => _accounts.GetValueOrDefault(user)?.PasswordDigest);
    }

    /// <summary>Whether <paramref name="subject"/> holds <paramref name="permission"/>; always permitted when nothing is enforced.</summary>
    public AuthorizationResult Check(string subject, WildcardPermission permission)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(permission);
        var permitted = !IsEnforced || (_accounts.TryGetValue(subject, out var account) && account.Permissions.Any(held => held.Implies(permission)));
        return permitted ? AuthorizationResult.Permit(subject, permission) : AuthorizationResult.Deny(subject, permission);
    }

    /// <inheritdoc cref="Check(string, WildcardPermission)"/>
    /// <exception cref="FormatException"><paramref name="permission"/> is not a permission (a bug in the caller: build it with <see cref="Permissions"/>).</exception>
    public AuthorizationResult Check(string subject, string permission) => Check(subject, WildcardPermission.Parse(permission));

    private sealed record Account(string Name, byte[] PasswordDigest, IReadOnlyList<WildcardPermission> Permissions);
}
