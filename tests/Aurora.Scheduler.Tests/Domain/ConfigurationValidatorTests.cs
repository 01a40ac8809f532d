using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Cron;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.Validation;

namespace Aurora.Scheduler.Tests.Domain;

/// <summary>Every refusal of <see cref="ConfigurationValidator"/>, each with its exact text, and what it fills in.</summary>
public class ConfigurationValidatorTests
{
    private const string Identifier = JobKeys.IdentifierRule;

    private static readonly SchedulerSettings DockerAllowed = SchedulerSettings.Default with
    {
        AllowedContainerTypes = new HashSet<string>(StringComparer.Ordinal) { "MESOS", "DOCKER" },
    };

    /// <summary>One way to break a valid job, the refusal it must get, and the settings it is judged under.</summary>
    private sealed record Breakage(Action<JobConfiguration> Break, string Message, SchedulerSettings? Settings = null, int Instances = 1);

    private static readonly Dictionary<string, Breakage> BreakagesByName = new(StringComparer.Ordinal)
    {
        ["no task"] = new(j => j.Task = null, "Job configuration must have taskConfig set."),
        ["no key"] = new(j => j.Key = null, "Job key (none) is invalid: Job key is missing."),
        ["bad role"] = new(j => j.Key.Role = "bad role", $"Job key bad role/prod/hello is invalid: Job role 'bad role' is invalid: it must be {Identifier}."),
        ["empty environment"] = new(j => j.Key.Environment = "", $"Job key www-data//hello is invalid: Job environment '' is invalid: it must be {Identifier}."),
        ["bad name"] = new(j => j.Key.Name = "a/b", $"Job key www-data/prod/a/b is invalid: Job name 'a/b' is invalid: it must be {Identifier}."),
        ["zero instances"] = new(j => j.InstanceCount = 0, "Instance count must be positive."),
        ["negative instances"] = new(j => j.InstanceCount = -3, "Instance count must be positive."),
        ["environment not allowed"] = new(
            j => { j.Key.Environment = "qa"; j.Task.Job = j.Key.Clone(); },
            @"Job environment qa doesn't match: ^(prod|devel|test|staging\d*)$"),
        ["task of another job"] = new(j => j.Task.Job = Configs.Key(name: "other"), "Task job key www-data/prod/other does not match the job key www-data/prod/hello."),
        ["service on cron"] = new(j => j.CronSchedule = "0 * * * *", "A service task may not be run on a cron schedule: www-data/prod/hello"),
        ["run overlap"] = new(j => j.CronCollisionPolicy = CronCollisionPolicy.RunOverlap, "The RUN_OVERLAP collision policy has been removed (AURORA-38)."),
        ["tier with illegal characters"] = new(j => j.Task.Tier = "gold plated", "Tier contains illegal characters: gold plated"),
        ["unknown tier"] = new(j => j.Task.Tier = "gold", "Invalid tier 'gold' in TaskConfig."),
        ["no resources"] = new(j => j.Task.Resources = null, "num_cpus must be greater than 0.0"),
        ["zero cpus"] = new(j => j.Task.Resources.NumCpus = 0, "num_cpus must be greater than 0.0 (got 0)"),
        ["negative cpus"] = new(j => j.Task.Resources.NumCpus = -0.5, "num_cpus must be greater than 0.0 (got -0.5)"),
        ["NaN cpus"] = new(j => j.Task.Resources.NumCpus = double.NaN, "num_cpus must be greater than 0.0 (got NaN)"),
        ["infinite cpus"] = new(j => j.Task.Resources.NumCpus = double.PositiveInfinity, "num_cpus must be greater than 0.0 (got Infinity)"),
        ["zero ram"] = new(j => j.Task.Resources.RamMb = 0, "ram_mb must be greater than 0.0 (got 0)"),
        ["negative disk"] = new(j => j.Task.Resources.DiskMb = -5, "disk_mb must be greater than 0.0 (got -5)"),
        ["negative gpus"] = new(j => j.Task.Resources.NumGpus = -1, "num_gpus must not be negative (got -1)"),
        ["gpus disabled"] = new(j => j.Task.Resources.NumGpus = 1, "GPU resource support is disabled in this cluster."),
        ["bad port name"] = new(j => j.Task.Resources.NamedPorts.Add("my port"), $"Port name 'my port' is invalid: it must be {Identifier}."),
        ["duplicate port"] = new(j => j.Task.Resources.NamedPorts.AddRange(new[] { "http", "http" }), "Port 'http' is requested more than once."),
        ["unnamed constraint"] = new(j => j.Task.Constraints.Add(ValueConstraint("", "r1")), "A constraint must name the attribute it constrains."),
        ["two constraints on one attribute"] = new(
            j => j.Task.Constraints.AddRange(new[] { ValueConstraint("rack", "r1"), LimitConstraint("rack", 1) }),
            "More than one constraint on attribute 'rack'."),
        ["value constraint without values"] = new(j => j.Task.Constraints.Add(ValueConstraint("rack")), "Value constraint on 'rack' must have at least one value, and no empty ones."),
        ["value constraint with an empty value"] = new(j => j.Task.Constraints.Add(ValueConstraint("rack", "r1", "")), "Value constraint on 'rack' must have at least one value, and no empty ones."),
        ["zero limit"] = new(j => j.Task.Constraints.Add(LimitConstraint("rack", 0)), "Limit constraint on 'rack' must be positive, not 0."),
        ["negative limit"] = new(j => j.Task.Constraints.Add(LimitConstraint("host", -2)), "Limit constraint on 'host' must be positive, not -2."),
        ["constraint of no kind"] = new(j => j.Task.Constraints.Add(new Constraint { Name = "rack" }), "Constraint on 'rack' is neither a value nor a limit constraint."),
        ["dedicated limit"] = new(j => j.Task.Constraints.Add(LimitConstraint("dedicated", 1)), "A dedicated constraint must be of value type."),
        ["dedicated with two values"] = new(
            j => j.Task.Constraints.Add(ValueConstraint("dedicated", "www-data/a", "www-data/b")),
            "A dedicated constraint must have exactly one value"),
        ["dedicated to another role"] = new(
            j => j.Task.Constraints.Add(ValueConstraint("dedicated", "db-team/redis")),
            "Only db-team may use hosts dedicated for that role."),
        ["dedicated to another role without a suffix"] = new(
            j => j.Task.Constraints.Add(ValueConstraint("dedicated", "db-team")),
            "Only db-team may use hosts dedicated for that role."),
        ["docker not allowed"] = new(j => j.Task.Container = Docker("busybox"), "This scheduler is not configured to allow the container type DOCKER"),
        ["mesos not allowed"] = new(
            j => { },
            "This scheduler is not configured to allow the container type MESOS",
            SchedulerSettings.Default with { AllowedContainerTypes = new HashSet<string>(StringComparer.Ordinal) { "DOCKER" } }),
        ["docker without image"] = new(j => j.Task.Container = Docker(" "), "A container must specify an image.", DockerAllowed),
        ["docker parameters"] = new(
            j => { j.Task.Container = Docker("busybox"); j.Task.Container.Docker.Parameters.Add(new DockerParameter { Name = "net", Value = "host" }); },
            "This scheduler is configured to disallow Docker parameters.",
            DockerAllowed),
        ["container volumes"] = new(j => j.Task.Container = MesosWithVolume("/data", "/srv/data"), "This scheduler is configured to disallow container volumes."),
        ["relative volume"] = new(
            j => j.Task.Container = MesosWithVolume("data", "/srv/data"),
            "Volume '/srv/data:data' must use absolute host and container paths.",
            SchedulerSettings.Default with { AllowContainerVolumes = true }),
        ["no processes"] = new(j => j.Task.Processes.Clear(), "Configuration may not be null: the task has no processes and no Docker image to run."),
        ["bad process name"] = new(j => j.Task.Processes[0].Name = "say hello", $"Process name 'say hello' is invalid: it must be {Identifier}."),
        ["duplicate process"] = new(j => j.Task.Processes.Add(new Process { Name = "hello", Cmdline = "true" }), "Process 'hello' is defined more than once."),
        ["empty cmdline"] = new(j => j.Task.Processes[0].Cmdline = "  ", "Process 'hello' has an empty cmdline."),
        ["negative process max failures"] = new(j => j.Task.Processes[0].MaxFailures = -1, "Process 'hello': max_failures and min_duration must not be negative."),
        ["negative process min duration"] = new(j => j.Task.Processes[0].MinDurationSecs = -1, "Process 'hello': max_failures and min_duration must not be negative."),
        ["unknown logger mode"] = new(j => j.Task.Processes[0].Logger = new ProcessLogger { Mode = "fancy" }, "Process 'hello': logger mode 'fancy' is not 'standard' or 'rotate'."),
        ["negative log rotation"] = new(
            j => j.Task.Processes[0].Logger = new ProcessLogger { Mode = "rotate", RotateLogBackups = -1 },
            "Process 'hello': log rotation size and backups must not be negative."),
        ["order of an unknown process"] = new(
            j => j.Task.ProcessOrder.Add(new ProcessOrder { Order = { "hello", "ghost" } }),
            "Process order names 'ghost', which is not a process of the task."),
        ["negative finalization wait"] = new(j => j.Task.FinalizationWaitSecs = -1, "finalization_wait must not be negative."),
        ["negative health check interval"] = new(
            j => j.Task.HealthCheck = new HealthCheck { Shell = new ShellHealthChecker { ShellCommand = "true" }, IntervalSecs = -1 },
            "Health check intervals, timeout and thresholds must not be negative."),
        ["negative health check threshold"] = new(
            j => j.Task.HealthCheck = new HealthCheck { Shell = new ShellHealthChecker { ShellCommand = "true" }, MaxConsecutiveFailures = -1 },
            "Health check intervals, timeout and thresholds must not be negative."),
        ["http health check without health port"] = new(
            j => j.Task.HealthCheck = new HealthCheck { Http = new HttpHealthChecker { Endpoint = "/health" } },
            "An HTTP health check needs a port named 'health'."),
        ["shell health check without command"] = new(
            j => j.Task.HealthCheck = new HealthCheck { Shell = new ShellHealthChecker() },
            "A shell health check needs a shell_command."),
        ["health check of no kind"] = new(j => j.Task.HealthCheck = new HealthCheck { IntervalSecs = 10 }, "A health check must be an HTTP or a shell health check."),
        ["sla policy on a preemptible tier"] = new(
            j => { j.Task.Tier = "preemptible"; j.Task.SlaPolicy = Count(1, 60); },
            "Tier 'preemptible' does not support SlaPolicy.",
            Instances: 20),
        ["count sla policy on too few instances"] = new(j => j.Task.SlaPolicy = Count(1, 60), "Job with fewer than 20 instances cannot have Percentage/Count SlaPolicy.", Instances: 19),
        ["percentage sla policy on too few instances"] = new(j => j.Task.SlaPolicy = Percentage(50, 60), "Job with fewer than 20 instances cannot have Percentage/Count SlaPolicy.", Instances: 19),
        ["percentage that allows no kill"] = new(
            j => j.Task.SlaPolicy = Percentage(96, 60),
            "Current PercentageSlaPolicy: percentage=96.000000 will not allow any instances to be killed. Must be less than 95.000000.",
            Instances: 20),
        ["percentage duration too long"] = new(
            j => j.Task.SlaPolicy = Percentage(95, 7201),
            "PercentageSlaPolicy: durationSecs=7201 must be less than cluster-wide maximum of 7200 secs.",
            Instances: 20),
        ["count that allows no kill"] = new(
            j => j.Task.SlaPolicy = Count(20, 60),
            "Current CountSlaPolicy: count=20 will not allow any instances to be killed. Must be less than instanceCount=20.",
            Instances: 20),
        ["count duration too long"] = new(
            j => j.Task.SlaPolicy = Count(19, 7201),
            "CountSlaPolicy: durationSecs=7201 must be less than cluster-wide maximum of 7200 secs.",
            Instances: 20),
        ["coordinator without a url"] = new(
            j => j.Task.SlaPolicy = new SlaPolicy { Coordinator = new CoordinatorSlaPolicy { CoordinatorUrl = "not a url" } },
            "CoordinatorSlaPolicy: coordinator_url 'not a url' is not an absolute URL."),
        ["sla policy of no kind"] = new(j => j.Task.SlaPolicy = new SlaPolicy(), "An SlaPolicy must be a percentage, count or coordinator policy."),
        ["max task failures below -1"] = new(j => j.Task.MaxTaskFailures = -2, "max_task_failures must be -1 (unlimited) or at least 0, not -2."),
        ["metadata without key"] = new(j => j.Task.Metadata.Add(new Metadata { Key = "", Value = "x" }), "Metadata keys must not be empty."),
    };

    public static TheoryData<string> Breakages => new(BreakagesByName.Keys);

    [Theory]
    [MemberData(nameof(Breakages))]
    public void Each_invalid_configuration_is_refused_with_its_exact_message(string breakage)
    {
        var (config, expected) = Broken(breakage);

        var rejection = Assert.Throws<CommandRejectedException>(() => ConfigurationValidator.ValidateJob(config, expected.Settings ?? SchedulerSettings.Default));

        Assert.Equal(expected.Message, rejection.Message);
        Assert.Equal(ErrorCode.InvalidRequest, rejection.Code);
    }

    [Theory]
    [MemberData(nameof(Breakages))]
    public void Creating_a_job_with_an_invalid_configuration_is_refused_and_changes_nothing(string breakage)
    {
        var (config, expected) = Broken(breakage);
        var h = new DomainHarness(settings: expected.Settings ?? SchedulerSettings.Default);
        h.Execute(new SetQuota("www-data", DomainScenarios.AmpleQuota));
        if (config.CronSchedule.Length > 0)
        {
            // createJob refuses any cron job before validating it; scheduleCronJob validates.
            Assert.Equal(expected.Message, h.Reject(new ScheduleCronJob(config)).Message);
            return;
        }

        Assert.Equal(expected.Message, h.Reject(new CreateJob(config)).Message);
    }

    [Fact]
    public void An_invalid_cron_schedule_is_refused_with_the_parser_s_reason()
    {
        var config = Configs.Cron(schedule: "61 * * * *");
        Assert.False(CronSchedule.TryParse("61 * * * *", out _, out var parserError));

        var rejection = Assert.Throws<CommandRejectedException>(() => ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default));

        Assert.StartsWith("Invalid cron schedule: 61 * * * *: ", rejection.Message, StringComparison.Ordinal);
        Assert.Equal(parserError, rejection.Message);
    }

    [Theory]
    [InlineData("www-data/redis")]
    [InlineData("www-data")]
    [InlineData("*/redis")]
    public void A_dedicated_constraint_for_the_job_s_own_role_or_any_role_is_accepted(string value)
    {
        var config = Configs.Job();
        config.Task.Constraints.Add(ValueConstraint("dedicated", value));

        var validated = ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default);

        Assert.True(ConfigurationValidator.IsDedicated(validated.Task));
    }

    [Theory]
    [InlineData("prod")]
    [InlineData("devel")]
    [InlineData("test")]
    [InlineData("staging")]
    [InlineData("staging42")]
    public void Aurora_s_default_environments_are_accepted(string environment)
    {
        var config = Configs.Job(Configs.Key(environment: environment));

        Assert.Equal(environment, ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default).Key.Environment);
    }

    [Theory]
    [InlineData("www-data\n")]
    [InlineData("wwwé")]
    public void A_role_with_a_trailing_newline_or_a_non_ascii_letter_is_refused(string role)
    {
        var config = Configs.Job(Configs.Key(role: role));

        var rejection = Assert.Throws<CommandRejectedException>(() => ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default));

        Assert.StartsWith("Job key ", rejection.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_environment_with_a_trailing_newline_is_refused()
    {
        var config = Configs.Job();
        config.Key.Environment = "prod\n";
        config.Task.Job = config.Key.Clone();

        Assert.Throws<CommandRejectedException>(() => ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default));
    }

    [Fact]
    public void Docker_and_its_parameters_are_accepted_where_the_cluster_allows_them_and_need_no_processes()
    {
        var config = Configs.Job();
        config.Task.Processes.Clear();
        config.Task.Container = Docker("busybox:1");
        config.Task.Container.Docker.Parameters.Add(new DockerParameter { Name = "net", Value = "host" });

        ConfigurationValidator.ValidateJob(config, DockerAllowed with { AllowDockerParameters = true });
    }

    [Fact]
    public void A_root_job_is_refused_unless_the_scheduler_allows_root_roles()
    {
        var config = Configs.Job(Configs.Key(role: "root"));

        var refused = Assert.Throws<CommandRejectedException>(() => ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default));
        Assert.Equal("Role root is not allowed: its tasks would run as root on the agents. Use another role, or start the scheduler with -allow_root_role.", refused.Message);
        var task = Assert.Throws<CommandRejectedException>(() => ConfigurationValidator.ValidateTask(config.Task, 1, SchedulerSettings.Default));
        Assert.Equal(refused.Message, task.Message);

        ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default with { AllowRootRole = true });
    }

    [Fact]
    public void Gpus_and_absolute_volumes_are_accepted_where_the_cluster_allows_them()
    {
        var config = Configs.Job();
        config.Task.Resources.NumGpus = 2;
        config.Task.Container = MesosWithVolume("/data", "/srv/data");

        ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default with { AllowGpuResource = true, AllowContainerVolumes = true });
    }

    [Fact]
    public void Sla_policies_within_the_limits_are_accepted_for_production_jobs()
    {
        foreach (var policy in new[] { Percentage(95, 7200), Count(19, 7200), new SlaPolicy { Coordinator = new CoordinatorSlaPolicy { CoordinatorUrl = "http://sla.example:8080/" } } })
        {
            var config = Configs.Job(instances: 20);
            config.Task.SlaPolicy = policy;

            ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default);
        }
    }

    [Fact]
    public void A_task_without_a_tier_gets_the_default_tier_and_is_not_production()
    {
        var config = Configs.Job(tier: "");

        var validated = ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default);

        Assert.Equal("preemptible", validated.Task.Tier);
        Assert.False(validated.Task.Production);
    }

    [Theory]
    [InlineData("preferred", true)]
    [InlineData("preemptible", false)]
    [InlineData("revocable", false)]
    public void Production_is_derived_from_the_tier(string tier, bool production)
    {
        var config = Configs.Job(tier: tier);
        config.Task.Production = !production;

        Assert.Equal(production, ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default).Task.Production);
    }

    [Fact]
    public void Validation_fills_in_a_copy_and_leaves_the_request_alone()
    {
        var config = Configs.Job(tier: "");
        config.Task.Job = null;
        config.Task.Resources.NamedPorts.AddRange(new[] { "http", "health", "admin" });
        var original = config.Clone();

        var validated = ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default);

        Assert.Equal(original, config);
        Assert.Equal(config.Key, validated.Task.Job);
        Assert.Equal(
            new[] { ("health", "http://%host%:%port:health%"), ("http", "http://%host%:%port:http%") },
            validated.Task.TaskLinks.Select(l => (l.Name, l.Url)));
    }

    [Fact]
    public void Task_links_given_by_the_user_are_kept()
    {
        var config = Configs.Job();
        config.Task.Resources.NamedPorts.Add("http");
        config.Task.TaskLinks.Add(new TaskLink { Name = "ui", Url = "http://%host%:%port:http%/ui" });

        var validated = ConfigurationValidator.ValidateJob(config, SchedulerSettings.Default);

        Assert.Equal("ui", Assert.Single(validated.Task.TaskLinks).Name);
    }

    [Fact]
    public void A_task_configuration_sent_alone_must_name_a_valid_job()
    {
        var task = Configs.Task();
        task.Job = null;

        var rejection = Assert.Throws<CommandRejectedException>(() => ConfigurationValidator.ValidateTask(task, 1, SchedulerSettings.Default));

        Assert.Equal("Job key (none) is invalid: Job key is missing.", rejection.Message);
    }

    [Fact]
    public void A_task_configuration_sent_alone_gets_the_same_checks()
    {
        var task = Configs.Task(tier: "gold");

        var rejection = Assert.Throws<CommandRejectedException>(() => ConfigurationValidator.ValidateTask(task, 1, SchedulerSettings.Default));

        Assert.Equal("Invalid tier 'gold' in TaskConfig.", rejection.Message);
    }

    private static (JobConfiguration Config, Breakage Expected) Broken(string breakage)
    {
        var expected = BreakagesByName[breakage];
        var config = Configs.Job(instances: expected.Instances);
        expected.Break(config);
        return (config, expected);
    }

    private static Constraint ValueConstraint(string name, params string[] values) =>
        new() { Name = name, Value = new Protos.ValueConstraint { Values = { values } } };

    private static Constraint LimitConstraint(string name, int limit) =>
        new() { Name = name, Limit = new Protos.LimitConstraint { Limit = limit } };

    private static Container Docker(string image) => new() { Docker = new DockerContainer { Image = image } };

    private static Container MesosWithVolume(string containerPath, string hostPath) =>
        new() { Mesos = new MesosContainer { Volumes = { new Volume { ContainerPath = containerPath, HostPath = hostPath, Mode = VolumeMode.Ro } } } };

    private static SlaPolicy Percentage(double percentage, long durationSecs) =>
        new() { Percentage = new PercentageSlaPolicy { Percentage = percentage, DurationSecs = durationSecs } };

    private static SlaPolicy Count(long count, long durationSecs) =>
        new() { Count = new CountSlaPolicy { Count = count, DurationSecs = durationSecs } };
}
