using System.Collections.Concurrent;
using Aurora.Agent.Protocol;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Server.Agents;

/// <summary>Counters of the agent side, for /vars and /metrics.</summary>
internal sealed class AgentMetrics
{
    private long _heartbeats;
    private long _launchesSent;
    private long _killsSent;
    private long _tasksPlaced;
    private long _placementRounds;
    private long _preemptions;
    private long _agentsLost;

    public long Heartbeats => Interlocked.Read(ref _heartbeats);

    public long LaunchesSent => Interlocked.Read(ref _launchesSent);

    public long KillsSent => Interlocked.Read(ref _killsSent);

    public long TasksPlaced => Interlocked.Read(ref _tasksPlaced);

    public long PlacementRounds => Interlocked.Read(ref _placementRounds);

    public long Preemptions => Interlocked.Read(ref _preemptions);

    public long AgentsLost => Interlocked.Read(ref _agentsLost);

    public void Heartbeat(int launches, int kills)
    {
        Interlocked.Increment(ref _heartbeats);
        Interlocked.Add(ref _launchesSent, launches);
        Interlocked.Add(ref _killsSent, kills);
    }

    public void Placed(int tasks)
    {
        Interlocked.Increment(ref _placementRounds);
        Interlocked.Add(ref _tasksPlaced, tasks);
    }

    public void Preempted() => Interlocked.Increment(ref _preemptions);

    public void AgentLost() => Interlocked.Increment(ref _agentsLost);
}

/// <summary>Everything the scheduler keeps about agents outside the log, and the settings their answers need.</summary>
internal sealed class AgentServices(ServerOptions options, TimeProvider time, ILogger logger)
{
    /// <summary>The credentials a heartbeat must carry; null when heartbeats are open (no -agent_credentials).</summary>
    public Auth.AgentAuthenticator? Authenticator { get; } = options.AgentAuthenticator;

    /// <summary>Where refused heartbeats and task reports are logged.</summary>
    public ILogger Logger { get; } = logger;

    public AgentRegistry Registry { get; } = new(time, options.AgentTimeout);

    public AgentMetrics Metrics { get; } = new();

    /// <summary>How often a launch the agent lacks may be sent again.</summary>
    public LaunchBackoff Launches { get; } = new(time);

    /// <summary>Set once the store is open (the pump writes through it).</summary>
    public StatusPump Pump { get; set; } = null!;

    /// <summary>Why each PENDING task was not placed in the last placement round.</summary>
    public IReadOnlyDictionary<string, string> PendingReasons { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>When each coordinated update was last pulsed; kept in memory as Aurora does (a failover means waiting for the next pulse).</summary>
    public ConcurrentDictionary<JobUpdateKey, long> Pulses { get; } = new();

    public LoggerSpec? DefaultLogger { get; } = options.ThermosLoggerDefaults;

    public string? ThermosExecutorFlags { get; } = string.IsNullOrWhiteSpace(options.Flags.GetValueOrDefault("thermos_executor_flags")) ? null : options.Flags["thermos_executor_flags"];

    public IReadOnlyList<ContainerMount> GlobalMounts { get; } = options.GlobalContainerMounts;

    public TimeSpan AgentTimeout { get; } = options.AgentTimeout;

    /// <summary>Agents are asked to heartbeat three times per timeout, so one lost heartbeat does not lose the agent.</summary>
    public int HeartbeatIntervalMs { get; } = (int)Math.Clamp(options.AgentTimeout.TotalMilliseconds / 3, 100, AgentApi.MaxWaitMs);

    /// <summary>The reason shown for a PENDING task: the last placement round's, else what is known without one.</summary>
    public string PendingReason(string taskId) =>
        PendingReasons.TryGetValue(taskId, out var reason) ? reason
        : Registry.AnyPresent() ? "Waiting for the next placement round" : Vetoes.NoAgents;
}
