namespace Aurora.Scheduler.Server.Auth;

/// <summary>A <c>[users]</c> line: <c>name = password, role1, role2</c>.</summary>
/// <remarks>A class rather than a record so that no generated <c>ToString</c> prints the password.</remarks>
internal sealed class ShiroUser(string name, string password, IReadOnlyList<string> roles, int line)
{
    public string Name { get; } = name;

    /// <summary>The plaintext password, as Aurora's INI realm stores it.</summary>
    public string Password { get; } = password;

    /// <summary>Role names in the order written, without duplicates; each is defined in <c>[roles]</c>.</summary>
    public IReadOnlyList<string> Roles { get; } = roles;

    /// <summary>The 1-based line that defines the user, for messages.</summary>
    public int Line { get; } = line;

    public override string ToString() => Name;
}
