using System.Globalization;
using System.Text;
using Aurora.CommandLine;

namespace Aurora.Scheduler.Server;

/// <summary>
/// Every flag <c>aurora-scheduler</c> accepts, with Aurora's names and defaults. Parsing yields the
/// effective value of every flag (given or default), which <c>/vars</c> publishes.
/// </summary>
internal static class SchedulerFlags
{
    private static readonly IReadOnlyList<FlagSpec> Own =
    [
        new("cluster_name", "Name of the cluster this scheduler serves; recorded in backups. Required (devcluster with -dev).", "NAME", null),
        new("ip", "Address the HTTP server binds; empty binds every interface (127.0.0.1 with -dev).", "ADDRESS", string.Empty),
        new("http_port", "Port of the HTTP API, web UI and admin endpoints; 0 picks a free port.", "PORT", "8081"),
        new("native_log_file_path", "Directory of this replica's log. Required (DIR/log with -dev). Initialize it once with aurora-log initialize.", "DIR", null),
        new("native_log_quorum_size", "Replicas that must have an entry before it is committed: at least a majority of -native_log_replicas (the default), 1 for a lone replica. Any other value is refused.", "N", null),
        new("dlog_snapshot_interval", "How often the state is snapshotted (the log behind the oldest kept snapshot is truncated).", "DURATION", "1hrs"),
        new("dlog_max_entry_size", "Largest log entry; larger transactions are chunked into frames.", "SIZE", "512KB"),
        new("backup_dir", "Directory for backups. Required (DIR/backups with -dev).", "DIR", null),
        new("backup_interval", "How often a backup is written to -backup_dir.", "DURATION", "1hrs"),
        new("max_saved_backups", "Backups kept in -backup_dir; older ones are deleted.", "N", "48"),
        new("zk_endpoints", "ZooKeeper ensemble host:port,... for discovery and leader publication (not in this build).", "HOSTS", string.Empty),
        new("zk_session_timeout", "ZooKeeper session timeout.", "DURATION", "4secs"),
        new("zk_chroot_path", "ZooKeeper chroot for every path below.", "PATH", string.Empty),
        new("serverset_path", "ZooKeeper path where the leader publishes its endpoint.", "PATH", "/aurora/scheduler"),
        new("native_log_zk_group_path", "ZooKeeper path where log replicas register.", "PATH", "/aurora/replicated-log"),
        new("http_authentication_mechanism", "NONE or BASIC (users and permissions from -shiro_ini_path).", "MECHANISM", "NONE"),
        new("shiro_ini_path", "Shiro INI file with [users] and [roles] for BASIC authentication.", "FILE", string.Empty),
        new("agent_credentials", "File of the principals and secrets agents must present to heartbeat (Mesos' --credentials: JSON {\"credentials\": [{\"principal\": ..., \"secret\": ...}]} or lines 'principal secret'). Without it any caller may act as an agent (insecure; with -dev the in-process agent gets a generated credential).", "FILE", string.Empty),
        new("tier_config", "JSON file with the task tiers (Aurora's tiers.json); built-in tiers when empty.", "FILE", string.Empty),
        new("global_container_mounts", "Mounts added to every container: host:container[:ro|rw],... ", "MOUNTS", string.Empty),
        new("allowed_job_environments", "Regular expression job environments must match.", "REGEX", @"^(prod|devel|test|staging\d*)$"),
        new("max_tasks_per_job", "Most instances a job may have.", "N", "4000"),
        new("history_prune_threshold", "Terminal tasks older than this are pruned.", "DURATION", "2days"),
        new("history_max_per_job_threshold", "Terminal tasks kept per job.", "N", "100"),
        new("history_min_retention_threshold", "Terminal tasks younger than this are never pruned.", "DURATION", "1hrs"),
        new("task_history_pruning_interval", "How often task history is pruned.", "DURATION", "1mins"),
        new("job_update_history_pruning_interval", "How often job update history is pruned.", "DURATION", "15mins"),
        new("job_update_history_pruning_threshold", "Terminal updates older than this are pruned.", "DURATION", "30days"),
        new("job_update_history_per_job_threshold", "Terminal updates kept per job.", "N", "10"),
        new("cron_timezone", "Time zone cron schedules are read in (an IANA name, e.g. Europe/Berlin).", "ZONE", "GMT"),
        new("log_backend", "Where the log lives: native (local disk). postgres arrives with the PostgreSQL backend.", "BACKEND", "native"),
        new("agent_timeout", "An agent not heard from for this long is gone: its tasks become LOST and are rescheduled.", "DURATION", "75secs"),
        new("transient_task_state_timeout", "A task stuck in ASSIGNED or a kill-requested state for this long becomes LOST.", "DURATION", "5mins"),
        new("preemption_delay", "How long a production task must be PENDING before preemptible tasks are preempted for it.", "DURATION", "3mins"),
        new("enable_preemptor", "Preempt preemptible-tier tasks for production tasks that do not fit.", "BOOL", "true"),
        new("min_required_instances_for_sla_check", "Jobs with fewer active instances are not held to SLA policies (drains, SLA-aware updates); their percentage and count policies are refused.", "N", "20"),
        new("receive_revocable_resources", "Offer agents' revocable resources to revocable-tier tasks.", "BOOL", "false"),
        new("allow_root_role", "Accept jobs of role root, whose tasks the agents run as root (they refuse it too unless started with -allow_root_role).", "BOOL", "false"),
        new("thermos_executor_flags", "Cluster-wide Thermos logger defaults handed to agents with each task, e.g. --runner-logger-mode=rotate --runner-rotate-log-size-mb=100 --runner-rotate-log-backups=10.", "FLAGS", string.Empty),
        new("dev", "Single-node cluster for trying things out: log, backups and an agent under -dev_dir, initialised on first start.", null, "false"),
        new("dev_dir", "Where -dev keeps its state.", "DIR", "./.aurora-dev"),
        new("dev_agent", "With -dev, run an agent inside the scheduler (work dir DIR/agent) so that jobs run; false when real aurora-agent processes join.", "BOOL", "true"),
    ];

    /// <summary>Every flag: the scheduler's own and those of its replicated log.</summary>
    public static readonly IReadOnlyList<FlagSpec> All = [.. Own, .. Aurora.Replication.Membership.ReplicationFlags.Specs];

    private static readonly Flags Parser = new(All);

    /// <summary>The effective value of every flag: given on the command line, else its default (null when it has none).</summary>
    public static IReadOnlyDictionary<string, string?> Parse(IReadOnlyList<string> args)
    {
        var parsed = Parser.Parse(args, "aurora-scheduler");
        if (parsed.Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{parsed.Positionals[0]}': aurora-scheduler takes only flags (-help lists them)");
        }

        var values = new SortedDictionary<string, string?>(StringComparer.Ordinal);
        foreach (var flag in All)
        {
            values[flag.Name] = parsed.GetString(flag.Name) ?? flag.Default;
        }

        return values;
    }

    public static string Usage()
    {
        var output = new StringBuilder("Usage: aurora-scheduler -flag=value ...   (also --flag=value or --flag value)\n\nFlags:\n");
        Flags.WriteUsage(output, All, "  ");
        return output.ToString();
    }

    public static TimeSpan Duration(IReadOnlyDictionary<string, string?> values, string name)
    {
        var text = values[name] ?? string.Empty;
        return Amounts.TryParseDuration(text, TimeSpan.FromSeconds(1), out var duration) && duration > TimeSpan.Zero
            ? duration
            : throw new UsageException($"-{name}={text} is not a positive duration (e.g. 30secs, 15mins, 1hrs, 2days)");
    }

    public static long Bytes(IReadOnlyDictionary<string, string?> values, string name)
    {
        var text = values[name] ?? string.Empty;
        return Amounts.TryParseBytes(text, 1, out var bytes) && bytes > 0
            ? bytes
            : throw new UsageException($"-{name}={text} is not a positive size (e.g. 512KB, 1MB)");
    }

    public static int Integer(IReadOnlyDictionary<string, string?> values, string name, int min, int max)
    {
        var text = values[name] ?? string.Empty;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max
            ? number
            : throw new UsageException($"-{name}={text} must be a whole number from {min} to {max}");
    }

    public static bool Switch(IReadOnlyDictionary<string, string?> values, string name) => values[name] switch
    {
        "true" => true,
        "false" => false,
        var other => throw new UsageException($"-{name}={other} must be true or false"),
    };
}
