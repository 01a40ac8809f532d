using System.Globalization;
using System.Text.RegularExpressions;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Cron;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;

namespace Aurora.Scheduler.Validation;

/// <summary>
/// Aurora's <c>ConfigurationManager.validateAndPopulate</c>: checks a job or task configuration
/// and fills in what the scheduler derives (the default tier, <c>production</c>, default task links).
/// Messages are Aurora's where Aurora has them, and otherwise name the field and the value.
/// </summary>
public static class ConfigurationValidator
{
    public const string DedicatedAttribute = "dedicated";

    /// <summary>The role refused unless <see cref="SchedulerSettings.AllowRootRole"/>.</summary>
    public const string RootRole = "root";

    /// <summary>A validated copy of <paramref name="config"/> with defaults filled in.</summary>
    /// <exception cref="CommandRejectedException">The configuration is invalid; nothing is changed.</exception>
    public static JobConfiguration ValidateJob(JobConfiguration config, SchedulerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(settings);
        var populated = config.Clone();
        if (populated.Task is null)
        {
            throw Invalid("Job configuration must have taskConfig set.");
        }

        var keyProblem = JobKeys.Problem(populated.Key);
        if (keyProblem is not null)
        {
            throw Invalid($"Job key {DescribeKey(populated.Key)} is invalid: {keyProblem}");
        }

        if (populated.InstanceCount <= 0)
        {
            throw Invalid("Instance count must be positive.");
        }

        // The whole name must match, as Java's Pattern.matches; ECMAScript keeps \d and \w ASCII as in Java.
        if (!Regex.IsMatch(populated.Key.Environment, $@"\A(?:{settings.AllowedJobEnvironments})\z", RegexOptions.ECMAScript, TimeSpan.FromSeconds(1)))
        {
            throw Invalid($"Job environment {populated.Key.Environment} doesn't match: {settings.AllowedJobEnvironments}");
        }

        if (populated.Task.Job is null)
        {
            populated.Task.Job = populated.Key.Clone();
        }
        else if (!populated.Task.Job.Equals(populated.Key))
        {
            throw Invalid($"Task job key {DescribeKey(populated.Task.Job)} does not match the job key {populated.Key.Canonical()}.");
        }

        if (populated.CronSchedule.Length > 0)
        {
            if (populated.Task.IsService)
            {
                throw Invalid($"A service task may not be run on a cron schedule: {populated.Key.Canonical()}");
            }

            if (!CronSchedule.TryParse(populated.CronSchedule, out _, out var cronError))
            {
                throw Invalid(cronError ?? $"Invalid cron schedule: {populated.CronSchedule}");
            }
        }

        if (populated.CronCollisionPolicy == CronCollisionPolicy.RunOverlap)
        {
            throw Invalid("The RUN_OVERLAP collision policy has been removed (AURORA-38).");
        }

        ValidateTaskInPlace(populated.Task, populated.InstanceCount, settings);
        return populated;
    }

    /// <summary>A validated copy of a task configuration (as sent with a job update).</summary>
    public static TaskConfig ValidateTask(TaskConfig task, int instanceCount, SchedulerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(settings);
        var keyProblem = JobKeys.Problem(task.Job);
        if (keyProblem is not null)
        {
            throw Invalid($"Job key {DescribeKey(task.Job)} is invalid: {keyProblem}");
        }

        var populated = task.Clone();
        ValidateTaskInPlace(populated, instanceCount, settings);
        return populated;
    }

    /// <summary>Whether the task asks for dedicated hosts (and is then exempt from quota, as in Aurora).</summary>
    public static bool IsDedicated(TaskConfig task) => task.Constraints.Any(c => c.Name == DedicatedAttribute);

    private static void ValidateTaskInPlace(TaskConfig task, int instanceCount, SchedulerSettings settings)
    {
        if (task.Job?.Role == RootRole && !settings.AllowRootRole)
        {
            // Agents run a task as its role's Unix user: this role would run as root on every agent.
            throw Invalid("Role root is not allowed: its tasks would run as root on the agents. Use another role, or start the scheduler with -allow_root_role.");
        }

        ValidateTier(task, settings.Tiers);
        ValidateResources(task, settings);
        ValidateConstraints(task);
        ValidateContainer(task, settings);
        ValidateProcesses(task);
        ValidateHealthCheck(task);
        ValidateSlaPolicy(task, instanceCount, settings);

        if (task.MaxTaskFailures < -1)
        {
            throw Invalid($"max_task_failures must be -1 (unlimited) or at least 0, not {task.MaxTaskFailures}.");
        }

        foreach (var metadata in task.Metadata)
        {
            if (string.IsNullOrEmpty(metadata.Key))
            {
                throw Invalid("Metadata keys must not be empty.");
            }
        }

        PopulateTaskLinks(task);
    }

    private static void ValidateTier(TaskConfig task, TierSettings tiers)
    {
        if (task.Tier.Length == 0)
        {
            task.Tier = tiers.DefaultTier;
        }

        if (!JobKeys.IsGoodIdentifier(task.Tier))
        {
            throw Invalid($"Tier contains illegal characters: {task.Tier}");
        }

        if (!tiers.Tiers.TryGetValue(task.Tier, out var tier))
        {
            throw Invalid($"Invalid tier '{task.Tier}' in TaskConfig.");
        }

        task.Production = tier.IsProduction;
    }

    private static void ValidateResources(TaskConfig task, SchedulerSettings settings)
    {
        var resources = task.Resources ?? throw Invalid("num_cpus must be greater than 0.0");
        if (!(resources.NumCpus > 0) || double.IsInfinity(resources.NumCpus))
        {
            throw Invalid(Format($"num_cpus must be greater than 0.0 (got {resources.NumCpus})"));
        }

        if (resources.RamMb <= 0)
        {
            throw Invalid(Format($"ram_mb must be greater than 0.0 (got {resources.RamMb})"));
        }

        if (resources.DiskMb <= 0)
        {
            throw Invalid(Format($"disk_mb must be greater than 0.0 (got {resources.DiskMb})"));
        }

        if (resources.NumGpus < 0)
        {
            throw Invalid(Format($"num_gpus must not be negative (got {resources.NumGpus})"));
        }

        if (resources.NumGpus > 0 && !settings.AllowGpuResource)
        {
            throw Invalid("GPU resource support is disabled in this cluster.");
        }

        // Nothing could ever run more: the task would stay PENDING forever (ResourceLimits).
        var excess = resources.NumCpus > ResourceLimits.MaxCpus ? Format($"num_cpus={resources.NumCpus:R} (an agent has at most {ResourceLimits.MaxCpus} CPUs)")
            : resources.RamMb > ResourceLimits.MaxRamMb ? Format($"ram_mb={resources.RamMb} (an agent has at most {ResourceLimits.MaxRamMb} MB of RAM)")
            : resources.DiskMb > ResourceLimits.MaxDiskMb ? Format($"disk_mb={resources.DiskMb} (an agent has at most {ResourceLimits.MaxDiskMb} MB of disk)")
            : resources.NumGpus > ResourceLimits.MaxGpus ? Format($"num_gpus={resources.NumGpus} (an agent has at most {ResourceLimits.MaxGpus} GPUs)")
            : null;
        if (excess is not null)
        {
            throw Invalid($"The task asks for more than any agent can offer, so it could never run: {excess}.");
        }

        var ports = new HashSet<string>(StringComparer.Ordinal);
        foreach (var port in resources.NamedPorts)
        {
            if (!JobKeys.IsGoodIdentifier(port))
            {
                throw Invalid($"Port name '{port}' is invalid: it must be {JobKeys.IdentifierRule}.");
            }

            if (!ports.Add(port))
            {
                throw Invalid($"Port '{port}' is requested more than once.");
            }
        }
    }

    private static void ValidateConstraints(TaskConfig task)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var constraint in task.Constraints)
        {
            if (string.IsNullOrEmpty(constraint.Name))
            {
                throw Invalid("A constraint must name the attribute it constrains.");
            }

            if (!names.Add(constraint.Name))
            {
                throw Invalid($"More than one constraint on attribute '{constraint.Name}'.");
            }

            switch (constraint.KindCase)
            {
                case Constraint.KindOneofCase.Value:
                    if (constraint.Value.Values.Count == 0 || constraint.Value.Values.Any(string.IsNullOrEmpty))
                    {
                        throw Invalid($"Value constraint on '{constraint.Name}' must have at least one value, and no empty ones.");
                    }

                    break;
                case Constraint.KindOneofCase.Limit:
                    if (constraint.Limit.Limit <= 0)
                    {
                        throw Invalid($"Limit constraint on '{constraint.Name}' must be positive, not {constraint.Limit.Limit}.");
                    }

                    break;
                default:
                    throw Invalid($"Constraint on '{constraint.Name}' is neither a value nor a limit constraint.");
            }

            if (constraint.Name == DedicatedAttribute)
            {
                ValidateDedicated(task.Job.Role, constraint);
            }
        }
    }

    private static void ValidateDedicated(string role, Constraint constraint)
    {
        if (constraint.KindCase != Constraint.KindOneofCase.Value)
        {
            throw Invalid("A dedicated constraint must be of value type.");
        }

        if (constraint.Value.Values.Count != 1)
        {
            throw Invalid("A dedicated constraint must have exactly one value");
        }

        var value = constraint.Value.Values[0];
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        var dedicatedRole = slash < 0 ? value : value[..slash];
        if (dedicatedRole != "*" && dedicatedRole != role)
        {
            throw Invalid($"Only {dedicatedRole} may use hosts dedicated for that role.");
        }
    }

    private static void ValidateContainer(TaskConfig task, SchedulerSettings settings)
    {
        var type = task.Container?.KindCase == Container.KindOneofCase.Docker ? "DOCKER" : "MESOS";
        if (!settings.AllowedContainerTypes.Contains(type))
        {
            throw Invalid($"This scheduler is not configured to allow the container type {type}");
        }

        if (task.Container?.KindCase == Container.KindOneofCase.Docker)
        {
            var docker = task.Container.Docker;
            if (string.IsNullOrWhiteSpace(docker.Image))
            {
                throw Invalid("A container must specify an image.");
            }

            if (docker.Parameters.Count > 0 && !settings.AllowDockerParameters)
            {
                throw Invalid("This scheduler is configured to disallow Docker parameters.");
            }
        }
        else if (task.Container?.KindCase == Container.KindOneofCase.Mesos)
        {
            var mesos = task.Container.Mesos;
            if (mesos.Volumes.Count > 0 && !settings.AllowContainerVolumes)
            {
                throw Invalid("This scheduler is configured to disallow container volumes.");
            }

            foreach (var volume in mesos.Volumes)
            {
                if (!volume.ContainerPath.StartsWith('/') || !volume.HostPath.StartsWith('/'))
                {
                    throw Invalid($"Volume '{volume.HostPath}:{volume.ContainerPath}' must use absolute host and container paths.");
                }
            }
        }
    }

    private static void ValidateProcesses(TaskConfig task)
    {
        if (task.Processes.Count == 0 && task.Container?.KindCase != Container.KindOneofCase.Docker)
        {
            throw Invalid("Configuration may not be null: the task has no processes and no Docker image to run.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var process in task.Processes)
        {
            if (!JobKeys.IsGoodIdentifier(process.Name))
            {
                throw Invalid($"Process name '{process.Name}' is invalid: it must be {JobKeys.IdentifierRule}.");
            }

            if (!names.Add(process.Name))
            {
                throw Invalid($"Process '{process.Name}' is defined more than once.");
            }

            if (string.IsNullOrWhiteSpace(process.Cmdline))
            {
                throw Invalid($"Process '{process.Name}' has an empty cmdline.");
            }

            if (process.MaxFailures < 0 || process.MinDurationSecs < 0)
            {
                throw Invalid($"Process '{process.Name}': max_failures and min_duration must not be negative.");
            }

            if (process.Logger is { } logger)
            {
                if (logger.Mode is not ("" or "standard" or "rotate"))
                {
                    throw Invalid($"Process '{process.Name}': logger mode '{logger.Mode}' is not 'standard' or 'rotate'.");
                }

                if (logger.RotateLogSizeMb < 0 || logger.RotateLogBackups < 0)
                {
                    throw Invalid($"Process '{process.Name}': log rotation size and backups must not be negative.");
                }
            }
        }

        foreach (var order in task.ProcessOrder)
        {
            foreach (var name in order.Order)
            {
                if (!names.Contains(name))
                {
                    throw Invalid($"Process order names '{name}', which is not a process of the task.");
                }
            }
        }

        if (task.FinalizationWaitSecs < 0)
        {
            throw Invalid("finalization_wait must not be negative.");
        }
    }

    private static void ValidateHealthCheck(TaskConfig task)
    {
        if (task.HealthCheck is not { } check)
        {
            return;
        }

        if (check.IntervalSecs < 0 || check.InitialIntervalSecs < 0 || check.TimeoutSecs < 0
            || check.MaxConsecutiveFailures < 0 || check.MinConsecutiveSuccesses < 0)
        {
            throw Invalid("Health check intervals, timeout and thresholds must not be negative.");
        }

        switch (check.KindCase)
        {
            case HealthCheck.KindOneofCase.Http when !task.Resources.NamedPorts.Contains("health"):
                throw Invalid("An HTTP health check needs a port named 'health'.");
            case HealthCheck.KindOneofCase.Shell when string.IsNullOrWhiteSpace(check.Shell.ShellCommand):
                throw Invalid("A shell health check needs a shell_command.");
            case HealthCheck.KindOneofCase.None:
                throw Invalid("A health check must be an HTTP or a shell health check.");
        }
    }

    private static void ValidateSlaPolicy(TaskConfig task, int instanceCount, SchedulerSettings settings)
    {
        if (task.SlaPolicy is not { } policy)
        {
            return;
        }

        if (!task.Production)
        {
            throw Invalid($"Tier '{task.Tier}' does not support SlaPolicy.");
        }

        var maxDurationSecs = (long)settings.MaxSlaDuration.TotalSeconds;
        switch (policy.KindCase)
        {
            case SlaPolicy.KindOneofCase.Percentage:
            case SlaPolicy.KindOneofCase.Count:
                if (instanceCount < settings.MinRequiredInstancesForSlaCheck)
                {
                    throw Invalid(Format($"Job with fewer than {settings.MinRequiredInstancesForSlaCheck} instances cannot have Percentage/Count SlaPolicy."));
                }

                if (policy.KindCase == SlaPolicy.KindOneofCase.Percentage)
                {
                    var percentage = policy.Percentage;
                    var ceiling = (instanceCount - 1) * 100.0 / instanceCount;
                    if (percentage.Percentage > ceiling)
                    {
                        throw Invalid(Format($"Current PercentageSlaPolicy: percentage={percentage.Percentage:F6} will not allow any instances to be killed. Must be less than {ceiling:F6}."));
                    }

                    if (percentage.DurationSecs > maxDurationSecs)
                    {
                        throw Invalid(Format($"PercentageSlaPolicy: durationSecs={percentage.DurationSecs} must be less than cluster-wide maximum of {maxDurationSecs} secs."));
                    }
                }
                else
                {
                    var count = policy.Count;
                    if (count.Count >= instanceCount)
                    {
                        throw Invalid(Format($"Current CountSlaPolicy: count={count.Count} will not allow any instances to be killed. Must be less than instanceCount={instanceCount}."));
                    }

                    if (count.DurationSecs > maxDurationSecs)
                    {
                        throw Invalid(Format($"CountSlaPolicy: durationSecs={count.DurationSecs} must be less than cluster-wide maximum of {maxDurationSecs} secs."));
                    }
                }

                break;
            case SlaPolicy.KindOneofCase.Coordinator:
                if (!Uri.TryCreate(policy.Coordinator.CoordinatorUrl, UriKind.Absolute, out _))
                {
                    throw Invalid($"CoordinatorSlaPolicy: coordinator_url '{policy.Coordinator.CoordinatorUrl}' is not an absolute URL.");
                }

                break;
            default:
                throw Invalid("An SlaPolicy must be a percentage, count or coordinator policy.");
        }
    }

    /// <summary>Aurora adds UI links for the well-known ports when the task has none.</summary>
    private static void PopulateTaskLinks(TaskConfig task)
    {
        if (task.TaskLinks.Count > 0)
        {
            return;
        }

        foreach (var port in new[] { "health", "http" })
        {
            if (task.Resources.NamedPorts.Contains(port))
            {
                task.TaskLinks.Add(new TaskLink { Name = port, Url = $"http://%host%:%port:{port}%" });
            }
        }
    }

    private static string DescribeKey(JobKey? key) => key is null ? "(none)" : key.Canonical();

    private static string Format(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static CommandRejectedException Invalid(string message) => CommandRejectedException.Invalid(message);
}
