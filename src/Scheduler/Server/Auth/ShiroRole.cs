namespace Aurora.Scheduler.Server.Auth;

/// <summary>A <c>[roles]</c> line: <c>role = permission1, "permission,with,sub-parts", ...</c>.</summary>
/// <param name="Name">The role name (case-sensitive, as in Shiro).</param>
/// <param name="Permissions">The permissions in the order written.</param>
/// <param name="Line">The 1-based line that defines the role, for messages.</param>
internal sealed record ShiroRole(string Name, IReadOnlyList<WildcardPermission> Permissions, int Line);
