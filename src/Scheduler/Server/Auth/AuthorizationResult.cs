namespace Aurora.Scheduler.Server.Auth;

/// <summary>The outcome of <see cref="HttpSecurity.Check(string, WildcardPermission)"/>.</summary>
/// <param name="Permitted">True when the subject holds the permission.</param>
/// <param name="Message">
/// For people, either way; when denied, Aurora's wording for the 403 answer:
/// <c>Subject sally lacks permission thrift.AuroraAdmin:setQuota.</c>
/// </param>
internal sealed record AuthorizationResult(bool Permitted, string Message)
{
    public static AuthorizationResult Permit(string subject, WildcardPermission permission) =>
        new(true, $"Subject {subject} holds permission {permission.Text}.");

    public static AuthorizationResult Deny(string subject, WildcardPermission permission) =>
        new(false, $"Subject {subject} lacks permission {permission.Text}.");
}
