using System.Net;
using Aurora.Scheduler.Server.Auth;

namespace Aurora.Scheduler.Server.Http;

/// <summary>
/// Who is calling, and may they: BASIC authentication and Shiro permissions on writes and admin
/// calls (reads are open, as in Aurora), or, with NONE, the name the client claims.
/// </summary>
internal sealed class RequestSecurity(HttpSecurity security)
{
    /// <summary>The header the clients set to the local user name when authentication is off.</summary>
    public const string UserHeader = "X-Aurora-User";

    /// <summary>Aurora's principal for unauthenticated calls.</summary>
    public const string Unsecure = "UNSECURE";

    /// <summary>The caller, authorized for <paramref name="permission"/>; throws 401 or 403 otherwise.</summary>
    public string Authorize(HttpContext http, string permission)
    {
        if (security.Mechanism == AuthenticationMechanism.None)
        {
            return ClaimedUser(http);
        }

        var result = security.Authenticate(http.Request.Headers.Authorization.FirstOrDefault());
        switch (result.Outcome)
        {
            case AuthenticationOutcome.Authenticated:
                var check = security.Check(result.User!, permission);
                return check.Permitted ? result.User! : throw new ApiException(HttpStatusCode.Forbidden, "PERMISSION_DENIED", check.Message);
            case AuthenticationOutcome.Failed:
                throw new ApiException(HttpStatusCode.Unauthorized, "AUTH_REQUIRED", $"Authentication failed: {result.Reason}");
            default:
                throw new ApiException(HttpStatusCode.Unauthorized, "AUTH_REQUIRED", $"This call needs credentials (HTTP BASIC; the clients read them from ~/.netrc); it requires permission {permission}.");
        }
    }

    private static string ClaimedUser(HttpContext http) =>
        http.Request.Headers[UserHeader].FirstOrDefault() is { Length: > 0 and <= 256 } claimed && claimed.All(c => !char.IsControl(c))
            ? claimed
            : Unsecure;
}
