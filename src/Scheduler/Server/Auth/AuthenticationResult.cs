namespace Aurora.Scheduler.Server.Auth;

/// <summary>What an <c>Authorization</c> header proves.</summary>
internal enum AuthenticationOutcome
{
    /// <summary>No credentials were sent (or the mechanism is <see cref="AuthenticationMechanism.None"/>).</summary>
    Anonymous,

    /// <summary>The credentials match a user's password.</summary>
    Authenticated,

    /// <summary>Credentials were sent but prove nothing: answer 401.</summary>
    Failed,
}

/// <summary>The outcome of <see cref="HttpSecurity.Authenticate"/>.</summary>
/// <param name="Outcome">Which of the three it is.</param>
/// <param name="User">The user as the INI file spells it, when <see cref="AuthenticationOutcome.Authenticated"/>; otherwise null.</param>
/// <param name="Reason">
/// Why, when <see cref="AuthenticationOutcome.Failed"/>; otherwise null. Safe to show the caller: it says
/// whether the header was malformed, never whether the user or the password was wrong.
/// </param>
internal sealed record AuthenticationResult(AuthenticationOutcome Outcome, string? User, string? Reason)
{
    public static readonly AuthenticationResult Anonymous = new(AuthenticationOutcome.Anonymous, null, null);

    public static AuthenticationResult Authenticated(string user) => new(AuthenticationOutcome.Authenticated, user, null);

    public static AuthenticationResult Failed(string reason) => new(AuthenticationOutcome.Failed, null, reason);
}
