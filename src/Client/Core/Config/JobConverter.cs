using Aurora.Scheduler.Cron;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Client.Config;

/// <summary>
/// Maps the JSON/YAML form of Aurora's <c>Job</c> schema onto the scheduler's model, as Aurora's
/// client does (<c>config/thrift.py</c>, <c>client/api/updater_util.py</c>): Pystachio's defaults,
/// ports derived from <c>{{thermos.ports[NAME]}}</c>, constraints from their string form.
/// What the model cannot carry is refused with the reason, never dropped.
/// </summary>
internal static partial class JobConverter
{
    private static readonly Schema JobSchema = Schema.Of(
            "name", "role", "cluster", "environment", "contact", "instances", "task", "announce", "tier",
            "cron_schedule", "cron_collision_policy", "update_config", "constraints", "metadata", "service",
            "max_task_failures", "production", "priority", "health_check_config", "task_links", "enable_hooks",
            "partition_policy", "sla_policy", "container")
        .Refusing("lifecycle", "cannot be mapped: Aurora.NET's task model has no HTTP lifecycle (graceful shutdown endpoints); remove it")
        .Refusing("executor_config", "cannot be mapped: every task runs under Aurora.NET's own agent; remove it");

    private static readonly Schema AnnounceSchema = Schema.Of("primary_port", "zk_path")
        .Refusing("portmap", "cannot be mapped: Aurora.NET has no port aliases or static ports; reference each port as {{thermos.ports[NAME]}}");

    public static IReadOnlyList<LoadedJob> Convert(ConfigNode root, string source)
    {
        if (root is not MapNode map)
        {
            throw new JobConfigException(source, null, root.Line, $"expected a map with \"jobs\": [...] at the top, got {root.Describe()}");
        }

        // Aurora's own JSON form (`aurora job inspect --write-json`) is one job; ours is a list of them.
        if (!map.TryGet("jobs", out _))
        {
            return [ConvertJob(source, map, string.Empty)];
        }

        var file = new StructReader(source, map, string.Empty, Schema.Of("jobs"));
        var jobs = file.List("jobs");
        return jobs.Count > 0
            ? jobs.Select((job, i) => ConvertJob(source, job, FieldPath.Index("jobs", i))).ToList()
            : throw file.Fail("jobs", "the file defines no jobs");
    }

    private static LoadedJob ConvertJob(string source, ConfigNode node, string path)
    {
        var job = new StructReader(source, node, path, JobSchema);
        var role = Identifier(job, "role", job.String("role"));
        var environment = Identifier(job, "environment", job.String("environment"));
        var cluster = job.RequiredString("cluster");

        var ports = TemplateReferences.CollectPorts(source, path, job.Map);
        var container = Container(job);
        var taskFields = job.Struct("task", TaskSchema) ?? throw job.Fail("task", "required");
        var task = Task(taskFields, container?.KindCase == Scheduler.Protos.Container.KindOneofCase.Docker);
        var name = Identifier(job, "name", job.String("name") ?? task.Name
            ?? throw job.Fail("name", "required: the task has no name and no process to take one from"));
        var key = JobKeys.Create(role, environment, name);

        if (job.Struct("announce", AnnounceSchema) is { } announce)
        {
            // Aurora allocates the announced port even when no process references it.
            var primary = announce.String("primary_port") ?? "http";
            if (!JobKeys.IsGoodIdentifier(primary))
            {
                throw announce.Fail("primary_port", $"{Quoting.Quote(primary)} is not a port name: it must be {JobKeys.IdentifierRule}");
            }

            if (!ports.Contains(primary))
            {
                ports.Add(primary);
            }
        }

        if (job.Bool("enable_hooks", false))
        {
            throw job.Fail("enable_hooks", "client hooks are not supported by Aurora.NET's client");
        }

        task.Resources.NamedPorts.AddRange(ports);
        var config = new TaskConfig
        {
            Job = key.Clone(),
            IsService = job.Bool("service", false),
            Priority = job.Int("priority", 0),
            MaxTaskFailures = job.Int("max_task_failures", 1, -1),
            Tier = job.String("tier") ?? string.Empty,
            Production = job.Bool("production", false),
            Resources = task.Resources,
            Container = container,
            ContactEmail = job.String("contact") ?? string.Empty,
            FinalizationWaitSecs = task.FinalizationWaitSecs,
            HealthCheck = HealthCheck(job, ports),
            PartitionPolicy = PartitionPolicy(job),
            SlaPolicy = SlaPolicy(job),
        };
        config.Processes.AddRange(task.Processes);
        config.ProcessOrder.AddRange(task.Order);
        config.Constraints.AddRange(Constraints(job));
        config.Metadata.AddRange(Metadata(job));
        config.TaskLinks.AddRange(TaskLinks(job));

        var jobConfig = new JobConfiguration
        {
            Key = key,
            Task = config,
            InstanceCount = job.Int("instances", 1, 1),
            CronSchedule = CronScheduleOf(job),
            CronCollisionPolicy = CollisionPolicy(job),
        };
        return new LoadedJob(jobConfig, UpdateSettings(job), cluster);
    }

    private static string Identifier(StructReader job, string key, string? value)
    {
        if (value is null)
        {
            throw job.Fail(key, "required");
        }

        return JobKeys.IsGoodIdentifier(value)
            ? value
            : throw job.Fail(key, $"{Quoting.Quote(value)} is not a valid {key}: it must be {JobKeys.IdentifierRule}");
    }

    private static string CronScheduleOf(StructReader job)
    {
        var schedule = job.String("cron_schedule");
        if (string.IsNullOrEmpty(schedule))
        {
            return string.Empty;
        }

        return CronSchedule.TryParse(schedule, out _, out var error) ? schedule : throw job.Fail("cron_schedule", error);
    }

    private static CronCollisionPolicy CollisionPolicy(StructReader job)
    {
        var text = job.String("cron_collision_policy") ?? "KILL_EXISTING";
        return ProtoNames.TryParse<CronCollisionPolicy>(text, out var policy)
            ? policy
            : throw job.Fail("cron_collision_policy", $"{Quoting.Quote(text)} is not one of KILL_EXISTING, CANCEL_NEW, RUN_OVERLAP");
    }
}
