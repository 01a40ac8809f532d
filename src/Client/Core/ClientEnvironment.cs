namespace Aurora.Client;

/// <summary>
/// Everything the clients take from the process they run in: environment variables, the home
/// directory, the user name, whether stdout and stderr are terminals, and the timings of requests
/// and waits. Tests build one of their own instead of touching the real process environment.
/// </summary>
public sealed record ClientEnvironment
{
    /// <summary>The environment variables the clients read (<c>AURORA_CONFIG_ROOT</c>, <c>USER</c>, <c>NO_COLOR</c>, <c>COLUMNS</c>).</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Where <c>.aurora/clusters.json</c> and <c>.netrc</c> are looked for.</summary>
    public required string HomeDirectory { get; init; }

    /// <summary>The system-wide configuration directory; Aurora's <c>/etc/aurora</c>.</summary>
    public string SystemConfigDirectory { get; init; } = "/etc/aurora";

    /// <summary>Sent as <c>X-Aurora-User</c>: who the scheduler records when it does not authenticate.</summary>
    public required string UserName { get; init; }

    public bool StdoutIsTerminal { get; init; }

    public bool StderrIsTerminal { get; init; }

    /// <summary>How long one HTTP request may take before the command fails with <see cref="ExitCodes.Timeout"/>.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often waiting commands (<c>update wait</c>, <c>job create --wait-until</c>) ask the scheduler again.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public string? Variable(string name) =>
        Variables.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value : null;

    /// <summary>The environment of this process.</summary>
    public static ClientEnvironment FromProcess()
    {
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && entry.Value is string value)
            {
                variables[key] = value;
            }
        }

        var home = variables.GetValueOrDefault("HOME") is { Length: > 0 } fromVariable
            ? fromVariable
            : System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile);
        var user = variables.GetValueOrDefault("USER") is { Length: > 0 } name
            ? name
            : variables.GetValueOrDefault("LOGNAME") is { Length: > 0 } logName ? logName : System.Environment.UserName;
        return new ClientEnvironment
        {
            Variables = variables,
            HomeDirectory = home,
            UserName = user,
            StdoutIsTerminal = !Console.IsOutputRedirected,
            StderrIsTerminal = !Console.IsErrorRedirected,
        };
    }
}
