namespace Aurora.Agent.Protocol;

/// <summary>A credential file (<c>-credential</c>, <c>-agent_credentials</c>) that cannot be used: missing, unreadable or malformed.</summary>
/// <remarks>The message names the flag, the file and what is wrong, never a secret.</remarks>
public sealed class AgentCredentialFileException(string flag, string path, string problem) : Exception($"-{flag}={path}: {problem}")
{
    /// <summary>The flag that named the file, without its dash.</summary>
    public string Flag { get; } = flag;

    /// <summary>The file as the flag gave it.</summary>
    public string FilePath { get; } = path;
}
