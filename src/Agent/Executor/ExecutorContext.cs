using Microsoft.Extensions.Logging;

namespace Aurora.Agent.Executor;

/// <summary>What every task supervisor of one executor shares.</summary>
internal sealed class ExecutorContext(
    ExecutorOptions options,
    TimeProvider time,
    ILogger logger,
    CheckpointStore store,
    ProcessLauncher launcher,
    HealthChecker health)
{
    /// <summary>The only variables a process inherits from the agent; the rest of its environment comes from the launch.</summary>
    private static readonly string[] InheritedVariables = ["PATH", "HOME", "LANG"];

    public ExecutorOptions Options => options;

    public TimeProvider Time => time;

    public ILogger Logger => logger;

    public CheckpointStore Store => store;

    public ProcessLauncher Launcher => launcher;

    public HealthChecker Health => health;

    public string SandboxesDirectory { get; } = Path.Combine(options.WorkDir, "sandboxes");

    /// <summary>The user processes run as: the agent's own, for {{thermos.user}}.</summary>
    public string User { get; } = Environment.UserName;

    public long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    public Dictionary<string, string> InheritedEnvironment()
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in InheritedVariables)
        {
            if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
            {
                environment[name] = value;
            }
        }

        environment.TryAdd("PATH", "/usr/local/bin:/usr/bin:/bin");
        return environment;
    }
}
