using System.Net;
using Aurora.Agent.Protocol;

namespace Aurora.Agent.Node;

/// <summary>Everything a running agent needs, as <see cref="AgentFlags.Parse"/> produces it (or -dev and tests build it).</summary>
public sealed record AgentOptions
{
    /// <summary>The scheduler heartbeats go to first; a non-leading replica redirects to its leader.</summary>
    public required Uri Scheduler { get; init; }

    /// <summary>Every scheduler replica to try, <see cref="Scheduler"/> first: when the one heartbeats go to stops answering, the next.</summary>
    public IReadOnlyList<Uri> Schedulers
    {
        get => _schedulers is { Count: > 0 } list ? list : [Scheduler];
        init => _schedulers = value;
    }

    private readonly IReadOnlyList<Uri>? _schedulers;

    /// <summary>Absolute; holds the agent id, the executor's checkpoints and the sandboxes.</summary>
    public required string WorkDir { get; init; }

    public required string Hostname { get; init; }

    /// <summary>Where the sandbox HTTP server binds.</summary>
    public IPAddress Ip { get; init; } = IPAddress.Loopback;

    /// <summary>0 binds any free port; <see cref="AgentNode.SandboxUri"/> tells which.</summary>
    public int HttpPort { get; init; } = AgentFlags.DefaultHttpPort;

    /// <summary>Includes <c>host</c>.</summary>
    public required IReadOnlyList<AgentAttribute> Attributes { get; init; }

    public required ResourceSet Resources { get; init; }

    public ResourceSet? RevocableResources { get; init; }

    /// <summary>How processes' stdout/stderr are kept unless the task or the scheduler's cluster defaults say otherwise.</summary>
    public LoggerSpec DefaultLogger { get; init; } = new(LoggerSpec.Rotate, 100, 10);

    /// <summary>How long the scheduler may hold an idle heartbeat (at most <see cref="AgentApi.MaxWaitMs"/>).</summary>
    public TimeSpan HeartbeatWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary><c>-gc_delay</c>: how long a forgotten task's sandbox is kept.</summary>
    public TimeSpan SandboxGcDelay { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Whether Docker is usable here: <c>docker</c> on PATH and its socket present.</summary>
    public bool ContainerEngine { get; init; }

    /// <summary>What every heartbeat presents (HTTP Basic) to a scheduler with <c>-agent_credentials</c>; null sends none.</summary>
    public AgentCredential? Credential { get; init; }

    /// <summary>How often the executor looks at its processes.</summary>
    public TimeSpan ExecutorPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The first retry delay after a failed heartbeat; it doubles up to <see cref="RetryBackoffMax"/>.</summary>
    public TimeSpan RetryBackoffMin { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan RetryBackoffMax { get; init; } = TimeSpan.FromSeconds(5);
}
