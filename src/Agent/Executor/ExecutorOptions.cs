using Aurora.Agent.Protocol;

namespace Aurora.Agent.Executor;

/// <summary>How a <see cref="TaskExecutor"/> runs tasks on this agent.</summary>
/// <param name="WorkDir">Holds <c>sandboxes/</c> and <c>checkpoints/</c>; the same dir across agent restarts is what makes recovery possible.</param>
/// <param name="Hostname">This agent's host, for <c>{{mesos.hostname}}</c> and messages.</param>
/// <param name="AgentId">This agent's stable id, for messages.</param>
public sealed record ExecutorOptions(string WorkDir, string Hostname, string AgentId)
{
    /// <summary>The agent's own logger default (-max_log_size / -max_log_backups): used when neither the process nor the launch names one. Rotate at 100 MB, keep 10 backups unless set.</summary>
    public LoggerSpec DefaultLogger { get; init; } = new(LoggerSpec.Rotate, 100, 10);

    /// <summary>Whether a container engine is usable here; container tasks fail with a clear message either way in this build.</summary>
    public bool ContainerEngineAvailable { get; init; }

    /// <summary>
    /// Whether each task runs as the Unix user named by its role (setuid, setgid, initgroups, HOME),
    /// as Thermos does; false (-nosetuid) runs every task as the agent's own user. Switching needs
    /// the agent to run as root and util-linux's setpriv.
    /// </summary>
    public bool RunAsRoleUser { get; init; }

    /// <summary>Whether a role whose user is uid 0 may run (-allow_root_role); refused by default.</summary>
    public bool AllowRootRole { get; init; }

    /// <summary>Cgroups and disk watching for every task; null runs tasks without limits (-isolation=none, or cgroups unusable here).</summary>
    public TaskIsolation? Isolation { get; init; }

    /// <summary>How often processes, logs and health checks are looked at.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long processes get between SIGTERM and SIGKILL when a task ends on its own (a process failed, a health check failed, or ephemerals outlive the rest).</summary>
    public TimeSpan StopGracePeriod { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Bytes in one "MB" of a rotate threshold; tests shrink it to show rotation with small files.</summary>
    internal long RotateBytesPerMb { get; init; } = 1024 * 1024;
}
