using System.Security.Cryptography;
using System.Text;

namespace Aurora.Scheduler.Server.Auth;

/// <summary>
/// HTTP Basic credentials checked against stored password digests, for the users of the Shiro INI file
/// (<see cref="HttpSecurity"/>) and the agents' principals (<see cref="AgentAuthenticator"/>) alike.
/// </summary>
/// <remarks>
/// Passwords are compared as SHA-256 digests of their UTF-8 bytes with
/// <see cref="CryptographicOperations.FixedTimeEquals"/>: comparing the raw bytes would return early on a
/// length mismatch and so time would tell the password's length; an unknown user is compared against a
/// dummy digest so that time does not tell which users exist either. A failure's reason never quotes the
/// header: whatever it holds may be someone's secret. Stateless and thread-safe.
/// </remarks>
internal static class BasicCredentials
{
    /// <summary>The reason for a well-formed header whose user or password is wrong (it does not say which).</summary>
    public const string InvalidCredentials = "Invalid user name or password.";

    // Basic credentials are a few hundred bytes; anything far larger is not a browser or client sending them.
    private const int MaxCredentialsLength = 8192;

    // Compared against when the user is unknown, so that an unknown user costs the same as a wrong password.
    private static readonly byte[] UnknownUserDigest = SHA256.HashData("unknown user"u8);

    /// <summary>The digest a password is stored as.</summary>
    public static byte[] Digest(string password) => SHA256.HashData(Encoding.UTF8.GetBytes(password));

    /// <summary>Who the <c>Authorization</c> header value says the caller is, or why it proves nothing.</summary>
    /// <param name="authorizationHeader">The header's value; null when the request has none (<see cref="AuthenticationResult.Anonymous"/>).</param>
    /// <param name="digestOf">The stored password digest of a user, null for an unknown user.</param>
    public static AuthenticationResult Verify(string? authorizationHeader, Func<string, byte[]?> digestOf)
    {
        ArgumentNullException.ThrowIfNull(digestOf);
        if (authorizationHeader is null)
        {
            return AuthenticationResult.Anonymous;
        }

        var header = authorizationHeader.Trim();
        if (header.Length == 0)
        {
            return AuthenticationResult.Failed("The Authorization header is empty; send 'Authorization: Basic base64(user:password)'.");
        }

        var space = header.IndexOfAny([' ', '\t']);
        var scheme = space < 0 ? header : header[..space];
        if (!scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticationResult.Failed("The Authorization header does not use the Basic scheme; send 'Authorization: Basic base64(user:password)'.");
        }

        var encoded = space < 0 ? string.Empty : header[(space + 1)..].Trim();
        if (encoded.Length is 0 or > MaxCredentialsLength)
        {
            return AuthenticationResult.Failed("The Basic credentials are missing or too long; send base64(user:password).");
        }

        var bytes = new byte[encoded.Length];
        try
        {
            if (!Convert.TryFromBase64String(encoded, bytes, out var length))
            {
                return AuthenticationResult.Failed("The Basic credentials are not valid base64; send base64(user:password).");
            }

            var credentials = bytes.AsSpan(0, length);
            var colon = credentials.IndexOf((byte)':');
            if (colon < 0 || !System.Text.Unicode.Utf8.IsValid(credentials))
            {
                return AuthenticationResult.Failed("The Basic credentials are not 'user:password' in UTF-8.");
            }

            var user = Encoding.UTF8.GetString(credentials[..colon]);
            var given = SHA256.HashData(credentials[(colon + 1)..]);
            var stored = digestOf(user);
            var matches = CryptographicOperations.FixedTimeEquals(given, stored ?? UnknownUserDigest);
            return stored is not null && matches
                ? AuthenticationResult.Authenticated(user)
                : AuthenticationResult.Failed(InvalidCredentials);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
    }
}
