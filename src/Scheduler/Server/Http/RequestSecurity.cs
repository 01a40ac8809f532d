using System.Net;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Server.Auth;

namespace Aurora.Scheduler.Server.Http;

/// <summary>
/// Who is calling, and may they: BASIC authentication and Shiro permissions on writes and admin
/// calls (reads are open, as in Aurora), or, with NONE, the name the client claims.
/// </summary>
/// <remarks>
/// Authentication comes first, before a request's body is read or validated: the pipeline calls
/// <see cref="Authenticate"/> for every write, so that a caller without credentials learns nothing
/// from validation messages (401 before 400). The permission, which may depend on the body (a job
/// key), is checked afterwards by <see cref="Authorize"/>, which reuses the request's authentication.
/// </remarks>
internal sealed class RequestSecurity(HttpSecurity security)
{
    /// <summary>The header the clients set to the local user name when authentication is off.</summary>
    public const string UserHeader = "X-Aurora-User";

    /// <summary>The longest name a caller may claim through <see cref="UserHeader"/>.</summary>
    public const int MaxClaimedUserLength = 256;

    private static readonly object AuthenticatedKey = new();

    /// <summary>The caller's principal; throws 401 when BASIC auth is on and the credentials are missing or wrong.</summary>
    /// <remarks>Remembered for the request: later calls (and <see cref="Authorize"/>) do not authenticate again.</remarks>
    public string Authenticate(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.Items.TryGetValue(AuthenticatedKey, out var known) && known is string principal)
        {
            return principal;
        }

        principal = security.Mechanism == AuthenticationMechanism.None ? ClaimedUser(http) : BasicUser(http);
        http.Items[AuthenticatedKey] = principal;
        return principal;
    }

    /// <summary>The caller, authorized for <paramref name="permission"/>; throws 401 or 403 otherwise.</summary>
    public string Authorize(HttpContext http, string permission)
    {
        var principal = Authenticate(http);
        if (security.Mechanism == AuthenticationMechanism.None)
        {
            return principal;
        }

        var check = security.Check(principal, permission);
        return check.Permitted ? principal : throw new ApiException(HttpStatusCode.Forbidden, "PERMISSION_DENIED", check.Message);
    }

    private string BasicUser(HttpContext http)
    {
        var result = security.Authenticate(http.Request.Headers.Authorization.FirstOrDefault());
        return result.Outcome switch
        {
            AuthenticationOutcome.Authenticated => result.User!,
            AuthenticationOutcome.Failed => throw new ApiException(HttpStatusCode.Unauthorized, "AUTH_REQUIRED", $"Authentication failed: {result.Reason}"),
            _ => throw new ApiException(HttpStatusCode.Unauthorized, "AUTH_REQUIRED", "This call needs credentials (HTTP BASIC; the clients read them from ~/.netrc)."),
        };
    }

    /// <summary>The name in <see cref="UserHeader"/>, or <see cref="Principals.Unsecure"/> without one; a system principal cannot be claimed.</summary>
    private static string ClaimedUser(HttpContext http)
    {
        var claimed = http.Request.Headers[UserHeader].FirstOrDefault();
        if (string.IsNullOrEmpty(claimed))
        {
            return Principals.Unsecure;
        }

        if (claimed.Length > MaxClaimedUserLength || claimed.Any(char.IsControl) || claimed.Trim().Length == 0)
        {
            throw ApiException.Invalid($"{UserHeader} must be a user name of 1 to {MaxClaimedUserLength} printable characters.");
        }

        if (Principals.IsReserved(claimed))
        {
            throw new ApiException(HttpStatusCode.Forbidden, "PERMISSION_DENIED",
                $"{UserHeader}: '{claimed.Trim()}' is reserved for the scheduler's own entries in the log ({string.Join(", ", Principals.Reserved)}); no caller may act as it.");
        }

        return claimed;
    }
}
