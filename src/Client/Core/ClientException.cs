namespace Aurora.Client;

/// <summary>A failure the clients report as one line on stderr and an exit code from <see cref="ExitCodes"/>.</summary>
public class ClientException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
