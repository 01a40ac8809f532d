namespace Aurora.Scheduler.Server.Auth;

/// <summary>How HTTP callers prove who they are (<c>-http_authentication_mechanism</c>).</summary>
internal enum AuthenticationMechanism
{
    /// <summary>Nobody is authenticated and every request is allowed, as in Aurora's default.</summary>
    None,

    /// <summary>HTTP Basic against the <c>[users]</c> of <c>-shiro_ini_path</c>; writes and admin calls need a permission.</summary>
    Basic,
}
