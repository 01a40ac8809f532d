using System.Net;
using System.Text.RegularExpressions;
using Aurora.Agent.Protocol;
using Aurora.CommandLine;
using Aurora.Replication.Membership;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Server.Auth;
using Aurora.Scheduler.Settings;

namespace Aurora.Scheduler.Server;

/// <summary>A mount every container gets (<c>-global_container_mounts</c>).</summary>
internal sealed record ContainerMount(string HostPath, string ContainerPath, bool ReadOnly)
{
    /// <summary>Parses <c>host:container[:ro|rw],...</c>; both paths absolute.</summary>
    public static IReadOnlyList<ContainerMount> ParseList(string text)
    {
        var mounts = new List<ContainerMount>();
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = item.Split(':');
            if (parts.Length is < 2 or > 3 || parts[0].Length == 0 || parts[1].Length == 0)
            {
                throw new UsageException($"-global_container_mounts: '{item}' is not host:container[:ro|rw]");
            }

            if (!parts[0].StartsWith('/') || !parts[1].StartsWith('/'))
            {
                throw new UsageException($"-global_container_mounts: '{item}': both paths must be absolute");
            }

            var mode = parts.Length == 3 ? parts[2] : "rw";
            if (mode is not ("ro" or "rw"))
            {
                throw new UsageException($"-global_container_mounts: '{item}': mode must be ro or rw, got '{mode}'");
            }

            mounts.Add(new ContainerMount(parts[0], parts[1], mode == "ro"));
        }

        return mounts;
    }
}

/// <summary>What the scheduler runs with, resolved and validated from its flags.</summary>
internal sealed record ServerOptions
{
    public required IReadOnlyDictionary<string, string?> Flags { get; init; }

    public required string ClusterName { get; init; }

    public required IPAddress? BindAddress { get; init; }

    public required int HttpPort { get; init; }

    public required string LogDirectory { get; init; }

    public required string BackupDirectory { get; init; }

    public required TimeSpan SnapshotInterval { get; init; }

    public required int MaxEntrySize { get; init; }

    public required TimeSpan BackupInterval { get; init; }

    public required int MaxSavedBackups { get; init; }

    public required int QuorumSize { get; init; }

    /// <summary>The replicated log's membership, port, secret and timings; null for a lone replica (no -native_log_replicas).</summary>
    public ReplicationOptions? Replication { get; init; }

    /// <summary>
    /// The host in the HTTP address the other replicas send clients to: -hostname, else -ip unless it
    /// is every interface, else (replicated) the machine's name; null keeps the address the server bound.
    /// </summary>
    public string? AdvertisedHost { get; init; }

    public required HttpSecurity Security { get; init; }

    /// <summary>
    /// The credentials an agent must present to heartbeat: from <c>-agent_credentials</c>, or generated for the
    /// <c>-dev</c> agent; null leaves heartbeats open to anyone (logged as a warning at startup).
    /// </summary>
    public AgentAuthenticator? AgentAuthenticator { get; init; }

    /// <summary>The credential the <c>-dev</c> agent presents; null without a -dev agent or when heartbeats are open.</summary>
    public AgentCredential? DevAgentCredential { get; init; }

    public required IReadOnlyList<ContainerMount> GlobalContainerMounts { get; init; }

    public required SchedulerSettings Settings { get; init; }

    public required TimeSpan TaskHistoryPruningInterval { get; init; }

    public required TimeSpan JobUpdateHistoryPruningInterval { get; init; }

    public required TimeZoneInfo CronTimeZone { get; init; }

    public required TimeSpan AgentTimeout { get; init; }

    public required TimeSpan TransientTaskStateTimeout { get; init; }

    /// <summary>The logger defaults of <c>-thermos_executor_flags</c>; null leaves agents their own.</summary>
    public required LoggerSpec? ThermosLoggerDefaults { get; init; }

    /// <summary>Set with <c>-dev</c>: the log directory may be initialised on first start.</summary>
    public string? DevDirectory { get; init; }

    /// <summary>Where the agent that <c>-dev</c> runs in-process keeps its work; null when there is none.</summary>
    public string? DevAgentDirectory { get; init; }

    /// <exception cref="UsageException">A flag is missing, malformed or contradicts another; the message names it.</exception>
    public static ServerOptions FromFlags(IReadOnlyDictionary<string, string?> flags)
    {
        var dev = SchedulerFlags.Switch(flags, "dev");
        string? devDirectory = dev ? Path.GetFullPath(flags["dev_dir"]!) : null;
        string Required(string name, string? devDefault) =>
            Nonempty(flags[name]) ?? devDefault ?? throw new UsageException($"missing required flag -{name} (or run with -dev for a local single-node cluster)");

        var backend = flags["log_backend"];
        if (backend != "native")
        {
            throw new UsageException(backend == "postgres"
                ? "-log_backend=postgres: the PostgreSQL log backend is not in this build yet; use -log_backend=native"
                : $"-log_backend={backend}: must be native (or postgres, once that backend lands)");
        }

        if (Nonempty(flags["zk_endpoints"]) is { } zk)
        {
            throw new UsageException($"-zk_endpoints={zk}: ZooKeeper discovery is not in this build yet; run one replica without it");
        }

        var (replication, quorum) = LoadReplication(flags, dev);

        IPAddress? bind = null;
        var ip = Nonempty(flags["ip"]) ?? (dev ? "127.0.0.1" : null);
        if (ip is not null && !IPAddress.TryParse(ip, out bind))
        {
            throw new UsageException($"-ip={ip} is not an IP address");
        }

        var environments = flags["allowed_job_environments"]!;
        try
        {
            _ = new Regex(environments, RegexOptions.None, TimeSpan.FromSeconds(1));
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"-allowed_job_environments={environments} is not a regular expression: {e.Message}");
        }

        var maxEntry = SchedulerFlags.Bytes(flags, "dlog_max_entry_size");
        if (maxEntry is < 1024 or > 64L << 20)
        {
            throw new UsageException($"-dlog_max_entry_size={flags["dlog_max_entry_size"]} must be between 1KB and 64MB");
        }

        var settings = SchedulerSettings.Default with
        {
            Tiers = LoadTiers(Nonempty(flags["tier_config"])),
            AllowedJobEnvironments = environments,
            MaxTasksPerJob = SchedulerFlags.Integer(flags, "max_tasks_per_job", 1, TaskIds.InstanceIdLimit),
            HistoryPruneThreshold = SchedulerFlags.Duration(flags, "history_prune_threshold"),
            HistoryMaxPerJobThreshold = SchedulerFlags.Integer(flags, "history_max_per_job_threshold", 0, 1_000_000),
            HistoryMinRetentionThreshold = SchedulerFlags.Duration(flags, "history_min_retention_threshold"),
            JobUpdateHistoryPruningThreshold = SchedulerFlags.Duration(flags, "job_update_history_pruning_threshold"),
            JobUpdateHistoryPerJobThreshold = SchedulerFlags.Integer(flags, "job_update_history_per_job_threshold", 0, 1_000_000),
            PreemptionDelay = SchedulerFlags.Duration(flags, "preemption_delay"),
            EnablePreemptor = SchedulerFlags.Switch(flags, "enable_preemptor"),
            ReceiveRevocableResources = SchedulerFlags.Switch(flags, "receive_revocable_resources"),
            AllowRootRole = SchedulerFlags.Switch(flags, "allow_root_role"),
            MinRequiredInstancesForSlaCheck = SchedulerFlags.Integer(flags, "min_required_instances_for_sla_check", 1, 1_000_000),
        };

        var agentTimeout = SchedulerFlags.Duration(flags, "agent_timeout");
        if (agentTimeout < TimeSpan.FromSeconds(1))
        {
            throw new UsageException($"-agent_timeout={flags["agent_timeout"]} must be at least 1secs");
        }

        var devAgentDirectory = SchedulerFlags.Switch(flags, "dev_agent") && devDirectory is not null ? Path.Combine(devDirectory, "agent") : null;
        var (agentAuthenticator, devAgentCredential) = LoadAgentCredentials(Nonempty(flags["agent_credentials"]), devAgentDirectory is not null);

        return new ServerOptions
        {
            Flags = flags,
            ClusterName = Required("cluster_name", dev ? "devcluster" : null),
            BindAddress = bind,
            HttpPort = SchedulerFlags.Integer(flags, "http_port", 0, 65535),
            LogDirectory = Path.GetFullPath(Required("native_log_file_path", devDirectory is null ? null : Path.Combine(devDirectory, "log"))),
            BackupDirectory = Path.GetFullPath(Required("backup_dir", devDirectory is null ? null : Path.Combine(devDirectory, "backups"))),
            SnapshotInterval = SchedulerFlags.Duration(flags, "dlog_snapshot_interval"),
            MaxEntrySize = (int)maxEntry,
            BackupInterval = SchedulerFlags.Duration(flags, "backup_interval"),
            MaxSavedBackups = SchedulerFlags.Integer(flags, "max_saved_backups", 1, 100_000),
            QuorumSize = quorum,
            Replication = replication,
            AdvertisedHost = Nonempty(flags[ReplicationFlags.Hostname])
                ?? (bind is not null && !bind.Equals(IPAddress.Any) && !bind.Equals(IPAddress.IPv6Any) ? bind.ToString() : null)
                ?? (replication is null ? null : System.Net.Dns.GetHostName()),
            Security = LoadSecurity(flags["http_authentication_mechanism"]!, Nonempty(flags["shiro_ini_path"])),
            GlobalContainerMounts = ContainerMount.ParseList(flags["global_container_mounts"] ?? string.Empty),
            Settings = settings,
            TaskHistoryPruningInterval = SchedulerFlags.Duration(flags, "task_history_pruning_interval"),
            JobUpdateHistoryPruningInterval = SchedulerFlags.Duration(flags, "job_update_history_pruning_interval"),
            CronTimeZone = CronZone(flags["cron_timezone"]!),
            AgentTimeout = agentTimeout,
            TransientTaskStateTimeout = SchedulerFlags.Duration(flags, "transient_task_state_timeout"),
            ThermosLoggerDefaults = Agents.ThermosExecutorFlags.Parse(flags["thermos_executor_flags"] ?? string.Empty),
            DevDirectory = devDirectory,
            DevAgentDirectory = devAgentDirectory,
            AgentAuthenticator = agentAuthenticator,
            DevAgentCredential = devAgentCredential,
        };
    }

    private static string? Nonempty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    /// <summary>
    /// The replication flags, checked as a whole. Without -native_log_replicas this is a lone
    /// replica, whose quorum is 1. Aurora warns that a quorum size that is not a majority corrupts
    /// data; we refuse it, with the rule.
    /// </summary>
    private static (ReplicationOptions? Replication, int Quorum) LoadReplication(IReadOnlyDictionary<string, string?> flags, bool dev)
    {
        if (Nonempty(flags[ReplicationFlags.Replicas]) is null)
        {
            var replicationOnly = new[] { ReplicationFlags.ReplicationPort, ReplicationFlags.BindPort, ReplicationFlags.SecretFile, ReplicationFlags.Hostname }
                .FirstOrDefault(name => Nonempty(flags[name]) is not null);
            if (replicationOnly is not null)
            {
                throw new UsageException($"-{replicationOnly} is given without -{ReplicationFlags.Replicas}: list every replica (this one included) to replicate the log, or drop -{replicationOnly} for a lone replica");
            }

            var quorumText = Nonempty(flags[ReplicationFlags.QuorumSize]);
            if (quorumText is not null && quorumText.Trim() != "1")
            {
                throw new UsageException($"-{ReplicationFlags.QuorumSize}={quorumText} is not a majority of the replicas: without -{ReplicationFlags.Replicas} this is a lone replica, whose quorum is 1");
            }

            return (null, 1);
        }

        if (dev)
        {
            throw new UsageException($"-dev runs a lone replica; drop -{ReplicationFlags.Replicas} (docs/operations.md shows how to run three)");
        }

        var built = ReplicationOptions.Build(flags);
        if (built.Options is not { } options)
        {
            throw new UsageException(string.Join(Environment.NewLine, built.Problems));
        }

        return (options, options.QuorumSize);
    }

    private static TimeZoneInfo CronZone(string name)
    {
        if (name is "GMT" or "UTC")
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(name);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new UsageException($"-cron_timezone={name} is not a known time zone (e.g. GMT, Europe/Berlin, America/New_York)");
        }
    }

    private static TierSettings LoadTiers(string? path)
    {
        if (path is null)
        {
            return TierSettings.Default;
        }

        try
        {
            return TierSettings.Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"-tier_config={path}: cannot read it: {e.Message}");
        }
        catch (Exception e) when (e is FormatException or InvalidDataException or System.Text.Json.JsonException or ArgumentException)
        {
            throw new UsageException($"-tier_config={path}: {e.Message}");
        }
    }

    /// <summary>
    /// The agents' credentials from <c>-agent_credentials</c>; the -dev agent presents the file's first. Without
    /// the flag, a -dev agent gets a credential generated for this run and is the only agent accepted; without
    /// either, heartbeats stay open.
    /// </summary>
    private static (AgentAuthenticator? Authenticator, AgentCredential? DevAgent) LoadAgentCredentials(string? path, bool devAgent)
    {
        if (path is not null)
        {
            try
            {
                var accepted = AgentCredentialFile.LoadAll("agent_credentials", path);
                return (new AgentAuthenticator(accepted, path), devAgent ? accepted[0] : null);
            }
            catch (AgentCredentialFileException e)
            {
                throw new UsageException(e.Message);
            }
        }

        if (!devAgent)
        {
            return (null, null);
        }

        var generated = AgentCredential.Generate("aurora-dev-agent");
        return (new AgentAuthenticator([generated], "the credential generated for the -dev agent"), generated);
    }

    private static HttpSecurity LoadSecurity(string mechanismText, string? iniPath)
    {
        try
        {
            return HttpSecurity.Create(mechanismText, iniPath);
        }
        catch (Exception e) when (e is ShiroIniException or FormatException or IOException or ArgumentException)
        {
            throw new UsageException(e.Message);
        }
    }
}
