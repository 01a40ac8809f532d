using System.Collections.Frozen;
using Aurora.Agent.Protocol;

namespace Aurora.Scheduler.Server.Auth;

/// <summary>
/// Which agents may heartbeat: the principals and secrets of <c>-agent_credentials</c> (Mesos' master
/// <c>--credentials</c>), presented by each agent with HTTP Basic from its <c>-credential</c> file.
/// </summary>
/// <remarks>
/// Built once at startup and immutable; called from any number of request threads at once. Secrets are
/// kept only as SHA-256 digests and compared in constant time (<see cref="BasicCredentials"/>).
/// </remarks>
internal sealed class AgentAuthenticator
{
    private readonly FrozenDictionary<string, byte[]> _secretDigests;

    public AgentAuthenticator(IReadOnlyList<AgentCredential> accepted, string source)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        _secretDigests = accepted.ToFrozenDictionary(c => c.Principal, c => BasicCredentials.Digest(c.Secret), StringComparer.Ordinal);
        Source = source;
    }

    /// <summary>Where the credentials came from, for messages: the file, or the generated -dev credential.</summary>
    public string Source { get; }

    public int Count => _secretDigests.Count;

    /// <summary>Whose credential the <c>Authorization</c> header value presents, or why it presents none.</summary>
    public AuthenticationResult Authenticate(string? authorizationHeader) =>
        BasicCredentials.Verify(authorizationHeader, principal => _secretDigests.GetValueOrDefault(principal));
}
