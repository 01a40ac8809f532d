namespace Aurora.Scheduler.Settings;

/// <summary>
/// Everything a decision depends on besides the state and the command: the operator's flags. The
/// defaults are Aurora's.
/// </summary>
public sealed record SchedulerSettings
{
    public static SchedulerSettings Default { get; } = new();

    public TierSettings Tiers { get; init; } = TierSettings.Default;

    /// <summary><c>-allowed_job_environments</c>.</summary>
    public string AllowedJobEnvironments { get; init; } = @"^(prod|devel|test|staging\d*)$";

    /// <summary><c>-max_tasks_per_job</c>.</summary>
    public int MaxTasksPerJob { get; init; } = 4000;

    /// <summary><c>-max_update_instance_failures</c>.</summary>
    public int MaxUpdateInstanceFailures { get; init; } = 20000;

    /// <summary><c>-allowed_container_types</c>: MESOS, DOCKER.</summary>
    public IReadOnlySet<string> AllowedContainerTypes { get; init; } = new HashSet<string>(StringComparer.Ordinal) { "MESOS" };

    /// <summary><c>-allow_docker_parameters</c>.</summary>
    public bool AllowDockerParameters { get; init; }

    /// <summary><c>-allow_container_volumes</c>.</summary>
    public bool AllowContainerVolumes { get; init; }

    /// <summary><c>-allow_root_role</c>: jobs of role <c>root</c> (whose tasks agents run as root) are accepted.</summary>
    public bool AllowRootRole { get; init; }

    /// <summary><c>-allow_gpu_resource</c>.</summary>
    public bool AllowGpuResource { get; init; }

    /// <summary><c>-flapping_task_threshold</c>: a task that ran for less than this flapped.</summary>
    public TimeSpan FlappingTaskThreshold { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary><c>-initial_flapping_task_delay</c>.</summary>
    public TimeSpan InitialFlappingTaskDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary><c>-max_flapping_task_delay</c>.</summary>
    public TimeSpan MaxFlappingTaskDelay { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary><c>-history_prune_threshold</c>: terminal tasks older than this are pruned.</summary>
    public TimeSpan HistoryPruneThreshold { get; init; } = TimeSpan.FromDays(2);

    /// <summary><c>-history_min_retention_threshold</c>: no terminal task younger than this is pruned.</summary>
    public TimeSpan HistoryMinRetentionThreshold { get; init; } = TimeSpan.FromHours(1);

    /// <summary><c>-history_max_per_job_threshold</c>: terminal tasks kept per job.</summary>
    public int HistoryMaxPerJobThreshold { get; init; } = 100;

    /// <summary><c>-job_update_history_pruning_threshold</c>.</summary>
    public TimeSpan JobUpdateHistoryPruningThreshold { get; init; } = TimeSpan.FromDays(30);

    /// <summary><c>-job_update_history_per_job_threshold</c>.</summary>
    public int JobUpdateHistoryPerJobThreshold { get; init; } = 10;

    /// <summary><c>-min_required_instances_for_sla_check</c>.</summary>
    public int MinRequiredInstancesForSlaCheck { get; init; } = 20;

    /// <summary><c>-max_sla_duration_secs</c>.</summary>
    public TimeSpan MaxSlaDuration { get; init; } = TimeSpan.FromHours(2);

    /// <summary><c>-receive_revocable_resources</c>: revocable-tier tasks are placed only on the revocable capacity of offers, and only when this is set.</summary>
    public bool ReceiveRevocableResources { get; init; }

    /// <summary><c>-enable_preemptor</c>: pending tasks may preempt lower-ranked tasks to make room.</summary>
    public bool EnablePreemptor { get; init; } = true;

    /// <summary><c>-preemption_delay</c>: how long a task must have been PENDING before it may preempt.</summary>
    public TimeSpan PreemptionDelay { get; init; } = TimeSpan.FromMinutes(3);
}
