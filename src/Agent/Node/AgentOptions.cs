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

    /// <summary>Whether tasks run as their role's Unix user; the flags make it true unless -nosetuid is given, options built in code keep the agent's own user unless they say so.</summary>
    public bool RunAsRoleUser { get; init; }

    /// <summary><c>-allow_root_role</c>: a role whose user is root may run as root.</summary>
    public bool AllowRootRole { get; init; }

    /// <summary><c>-isolation</c>: whether tasks get cgroups. Options built in code isolate nothing unless they say so; the flag's default is <see cref="IsolationMode.Auto"/>.</summary>
    public IsolationMode Isolation { get; init; } = IsolationMode.None;

    /// <summary><c>-cgroups_root</c>: the agent's cgroup under each hierarchy.</summary>
    public string CgroupsRoot { get; init; } = "aurora";

    /// <summary><c>-cgroups_enable_cfs</c>: CPU hard-capped at the task's cpus.</summary>
    public bool CgroupsEnableCfs { get; init; }

    /// <summary><c>-cgroups_pids_max</c>: processes and threads per task.</summary>
    public long CgroupsPidsMax { get; init; } = Executor.TaskIsolation.DefaultPidsMax;

    /// <summary><c>-container_disk_watch_interval</c>: how often sandboxes are measured.</summary>
    public TimeSpan DiskWatchInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>What every heartbeat presents (HTTP Basic) to a scheduler with <c>-agent_credentials</c>; null sends none.</summary>
    public AgentCredential? Credential { get; init; }

    /// <summary>How often the executor looks at its processes.</summary>
    public TimeSpan ExecutorPollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The first retry delay after a failed heartbeat; it doubles up to <see cref="RetryBackoffMax"/>.</summary>
    public TimeSpan RetryBackoffMin { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan RetryBackoffMax { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>What <c>-isolation</c> asks for.</summary>
public enum IsolationMode
{
    /// <summary>Cgroups when the machine lets the agent make them; otherwise none, with a warning (event 4114).</summary>
    Auto,

    /// <summary>Cgroups, or the agent does not start.</summary>
    Cgroups,

    /// <summary>No limits: resources are placement accounting only.</summary>
    None,
}
