using System.Globalization;
using System.Text;
using Aurora.CommandLine;

namespace Aurora.Scheduler.Server;

/// <summary>A flag of <c>aurora-scheduler</c>: its Aurora name, default and meaning.</summary>
/// <param name="Default">The value used when the flag is absent (shown in <c>-help</c> and <c>/vars</c>); null when it has none.</param>
internal sealed record SchedulerFlag(string Name, string? Default, string Help, string ValueName = "VALUE")
{
    public bool IsSwitch => ValueName.Length == 0;
}

/// <summary>
/// Every flag <c>aurora-scheduler</c> accepts, with Aurora's names and defaults. Parsing yields the
/// effective value of every flag (given or default), which <c>/vars</c> publishes.
/// </summary>
internal static class SchedulerFlags
{
    public static readonly IReadOnlyList<SchedulerFlag> All =
    [
        new("cluster_name", null, "Name of the cluster this scheduler serves; recorded in backups. Required (devcluster with -dev).", "NAME"),
        new("ip", string.Empty, "Address the HTTP server binds; empty binds every interface (127.0.0.1 with -dev).", "ADDRESS"),
        new("http_port", "8081", "Port of the HTTP API, web UI and admin endpoints; 0 picks a free port.", "PORT"),
        new("native_log_file_path", null, "Directory of this replica's log. Required (DIR/log with -dev). Initialize it once with aurora-log initialize.", "DIR"),
        new("native_log_quorum_size", "1", "Replicas that must have an entry before it is committed. Must be a majority of the replicas; this build serves one replica, so 1.", "N"),
        new("dlog_snapshot_interval", "1hrs", "How often the state is snapshotted (the log behind the oldest kept snapshot is truncated).", "DURATION"),
        new("dlog_max_entry_size", "512KB", "Largest log entry; larger transactions are chunked into frames.", "SIZE"),
        new("backup_dir", null, "Directory for backups. Required (DIR/backups with -dev).", "DIR"),
        new("backup_interval", "1hrs", "How often a backup is written to -backup_dir.", "DURATION"),
        new("max_saved_backups", "48", "Backups kept in -backup_dir; older ones are deleted.", "N"),
        new("zk_endpoints", string.Empty, "ZooKeeper ensemble host:port,... for discovery and leader publication (not in this build).", "HOSTS"),
        new("zk_session_timeout", "4secs", "ZooKeeper session timeout.", "DURATION"),
        new("zk_chroot_path", string.Empty, "ZooKeeper chroot for every path below.", "PATH"),
        new("serverset_path", "/aurora/scheduler", "ZooKeeper path where the leader publishes its endpoint.", "PATH"),
        new("native_log_zk_group_path", "/aurora/replicated-log", "ZooKeeper path where log replicas register.", "PATH"),
        new("http_authentication_mechanism", "NONE", "NONE or BASIC (users and permissions from -shiro_ini_path).", "MECHANISM"),
        new("shiro_ini_path", string.Empty, "Shiro INI file with [users] and [roles] for BASIC authentication.", "FILE"),
        new("tier_config", string.Empty, "JSON file with the task tiers (Aurora's tiers.json); built-in tiers when empty.", "FILE"),
        new("global_container_mounts", string.Empty, "Mounts added to every container: host:container[:ro|rw],... ", "MOUNTS"),
        new("allowed_job_environments", @"^(prod|devel|test|staging\d*)$", "Regular expression job environments must match.", "REGEX"),
        new("max_tasks_per_job", "4000", "Most instances a job may have.", "N"),
        new("history_prune_threshold", "2days", "Terminal tasks older than this are pruned.", "DURATION"),
        new("history_max_per_job_threshold", "100", "Terminal tasks kept per job.", "N"),
        new("history_min_retention_threshold", "1hrs", "Terminal tasks younger than this are never pruned.", "DURATION"),
        new("task_history_pruning_interval", "1mins", "How often task history is pruned.", "DURATION"),
        new("job_update_history_pruning_interval", "15mins", "How often job update history is pruned.", "DURATION"),
        new("job_update_history_pruning_threshold", "30days", "Terminal updates older than this are pruned.", "DURATION"),
        new("job_update_history_per_job_threshold", "10", "Terminal updates kept per job.", "N"),
        new("cron_timezone", "GMT", "Time zone cron schedules are read in (an IANA name, e.g. Europe/Berlin).", "ZONE"),
        new("log_backend", "native", "Where the log lives: native (local disk). postgres arrives with the PostgreSQL backend.", "BACKEND"),
        new("dev", "false", "Single-node cluster for trying things out: log, backups and (later) an agent under -dev_dir, initialised on first start.", string.Empty),
        new("dev_dir", "./.aurora-dev", "Where -dev keeps its state.", "DIR"),
    ];

    private static readonly Flags Parser = new(All.Select(f => new FlagSpec(f.Name, f.Help, f.IsSwitch ? null : f.ValueName, f.Default)));

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
        var output = new StringBuilder("Usage: aurora-scheduler -flag=value ...\n\nFlags (also --flag=value or --flag value):\n");
        foreach (var flag in All)
        {
            output.Append("  -").Append(flag.Name);
            if (!flag.IsSwitch)
            {
                output.Append('=').Append(flag.ValueName);
            }

            output.Append('\n').Append("      ").Append(flag.Help);
            if (flag.Default is { Length: > 0 } value)
            {
                output.Append(" (default: ").Append(value).Append(')');
            }

            output.Append('\n');
        }

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

    public static bool Switch(IReadOnlyDictionary<string, string?> values, string name) => values[name] == "true";
}
