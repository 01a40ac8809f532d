using System.Globalization;
using Aurora.Scheduler.Protos;

namespace Aurora.Client.Config;

// The job-level structs: constraints, metadata, task links, health check, container, partition and SLA policies.
internal static partial class JobConverter
{
    private static readonly Schema HealthCheckSchema = Schema.Of(
            "health_checker", "initial_interval_secs", "interval_secs", "max_consecutive_failures",
            "min_consecutive_successes", "timeout_secs")
        .Refusing("endpoint", MovedToHealthChecker)
        .Refusing("expected_response", MovedToHealthChecker)
        .Refusing("expected_response_code", MovedToHealthChecker)
        .Refusing("shell_command", MovedToHealthChecker)
        .Refusing("type", MovedToHealthChecker);

    private static readonly Schema HttpCheckerSchema = Schema.Of("endpoint", "expected_response", "expected_response_code");
    private static readonly Schema ShellCheckerSchema = Schema.Of("shell_command");
    private static readonly Schema PartitionPolicySchema = Schema.Of("reschedule", "delay_secs");
    private static readonly Schema PercentageSlaSchema = Schema.Of("percentage", "duration_secs");
    private static readonly Schema CountSlaSchema = Schema.Of("count", "duration_secs");
    private static readonly Schema CoordinatorSlaSchema = Schema.Of("coordinator_url", "status_key");
    private static readonly Schema DockerSchema = Schema.Of("image", "parameters");
    private static readonly Schema ParameterSchema = Schema.Of("name", "value");
    private static readonly Schema MesosSchema = Schema.Of("image", "volumes");
    private static readonly Schema DockerImageSchema = Schema.Of("name", "tag");
    private static readonly Schema AppcImageSchema = Schema.Of("name", "image_id");
    private static readonly Schema VolumeSchema = Schema.Of("container_path", "host_path", "mode");
    private static readonly Schema MetadataSchema = Schema.Of("key", "value");

    private const string MovedToHealthChecker =
        "moved into health_checker in Aurora 0.13: write health_checker: {\"http\": {...}} or {\"shell\": {\"shell_command\": ...}}";

    private const string LimitPrefix = "limit:";

    /// <summary>
    /// Aurora's string form: <c>"value1,value2"</c>, <c>"!value"</c> (none of these) or
    /// <c>"limit:N"</c> (at most N instances per value of the attribute).
    /// </summary>
    private static IEnumerable<Constraint> Constraints(StructReader job)
    {
        var map = job.MapField("constraints");
        foreach (var (attribute, node) in map?.Entries ?? [])
        {
            var path = FieldPath.Field(job.PathOf("constraints"), attribute);
            var text = Values.String(job.Source, path, node);
            if (text.StartsWith(LimitPrefix, StringComparison.Ordinal))
            {
                var number = text[LimitPrefix.Length..].Trim();
                yield return int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit > 0
                    ? new Constraint { Name = attribute, Limit = new LimitConstraint { Limit = limit } }
                    : throw Values.Fail(job.Source, path, node, $"{node.Describe()} is not a limit: write \"limit:N\" with N a whole number greater than 0");
                continue;
            }

            var negated = text.StartsWith('!');
            var values = (negated ? text[1..] : text).Split(',').Select(v => v.Trim()).ToList();
            if (values.Any(v => v.Length == 0))
            {
                throw Values.Fail(job.Source, path, node, $"{node.Describe()} has an empty value: write \"value1,value2\", \"!value\" or \"limit:N\"");
            }

            var constraint = new ValueConstraint { Negated = negated };
            constraint.Values.AddRange(values);
            yield return new Constraint { Name = attribute, Value = constraint };
        }
    }

    /// <summary>Aurora's list of <c>{"key", "value"}</c>, or a map from key to value.</summary>
    private static IEnumerable<Metadata> Metadata(StructReader job)
    {
        var path = job.PathOf("metadata");
        switch (job.Node("metadata"))
        {
            case MapNode map:
                foreach (var (key, value) in map.Entries)
                {
                    yield return new Metadata { Key = key, Value = Values.String(job.Source, FieldPath.Field(path, key), value) };
                }

                break;
            case ListNode list:
                for (var i = 0; i < list.Items.Count; i++)
                {
                    var entry = new StructReader(job.Source, list.Items[i], FieldPath.Index(path, i), MetadataSchema);
                    yield return new Metadata { Key = entry.RequiredString("key"), Value = entry.String("value") ?? throw entry.Fail("value", "required") };
                }

                break;
            case { } other:
                throw job.Fail("metadata", $"expected a list of {{\"key\", \"value\"}} or a map, got {other.Describe()}");
        }
    }

    private static IEnumerable<TaskLink> TaskLinks(StructReader job)
    {
        foreach (var (name, url) in job.MapField("task_links")?.Entries ?? [])
        {
            yield return new TaskLink { Name = name, Url = Values.String(job.Source, FieldPath.Field(job.PathOf("task_links"), name), url) };
        }
    }

    /// <summary>
    /// Aurora's executor health-checks over HTTP only when the task has a port named <c>health</c>;
    /// without the field, that is what we map. Asking for an HTTP check without that port is an error
    /// here, where Aurora would silently not check.
    /// </summary>
    private static HealthCheck? HealthCheck(StructReader job, IReadOnlyCollection<string> ports)
    {
        var hasHealthPort = ports.Contains("health");
        var config = job.Struct("health_check_config", HealthCheckSchema);
        if (config is null)
        {
            return hasHealthPort ? DefaultHealthCheck() : null;
        }

        var check = new HealthCheck
        {
            InitialIntervalSecs = config.Double("initial_interval_secs", 15, 0),
            IntervalSecs = config.Double("interval_secs", 10, 0),
            TimeoutSecs = config.Double("timeout_secs", 1, 0),
            MaxConsecutiveFailures = config.Int("max_consecutive_failures", 0, 0),
            MinConsecutiveSuccesses = config.Int("min_consecutive_successes", 1, 1),
        };
        switch (config.OneOf("health_checker", ("http", HttpCheckerSchema), ("shell", ShellCheckerSchema)))
        {
            case ("shell", var shell):
                check.Shell = new ShellHealthChecker { ShellCommand = shell.RequiredString("shell_command") };
                break;
            case var http:
                if (!hasHealthPort)
                {
                    throw config.Fail("an HTTP health check needs a port named \"health\": reference {{thermos.ports[health]}} in the task, or use a shell health_checker");
                }

                check.Http = http is { Fields: var fields }
                    ? new HttpHealthChecker
                    {
                        Endpoint = fields.String("endpoint") ?? "/health",
                        ExpectedResponse = fields.String("expected_response") ?? "ok",
                        ExpectedResponseCode = fields.Int("expected_response_code", 0, 0),
                    }
                    : DefaultHttpChecker();
                break;
        }

        return check;
    }

    private static HealthCheck DefaultHealthCheck() => new()
    {
        Http = DefaultHttpChecker(),
        InitialIntervalSecs = 15,
        IntervalSecs = 10,
        TimeoutSecs = 1,
        MaxConsecutiveFailures = 0,
        MinConsecutiveSuccesses = 1,
    };

    private static HttpHealthChecker DefaultHttpChecker() => new() { Endpoint = "/health", ExpectedResponse = "ok", ExpectedResponseCode = 0 };

    private static PartitionPolicy? PartitionPolicy(StructReader job) =>
        job.Struct("partition_policy", PartitionPolicySchema) is { } policy
            ? new PartitionPolicy { Reschedule = policy.Bool("reschedule", true), DelaySecs = policy.Long("delay_secs", 0, 0) }
            : null;

    private static SlaPolicy? SlaPolicy(StructReader job) =>
        job.OneOf("sla_policy", ("percentage", PercentageSlaSchema), ("count", CountSlaSchema), ("coordinator", CoordinatorSlaSchema)) switch
        {
            null => null,
            ("percentage", var p) => new SlaPolicy
            {
                Percentage = new PercentageSlaPolicy { Percentage = p.RequiredDouble("percentage", 0), DurationSecs = p.RequiredLong("duration_secs", 0) },
            },
            ("count", var c) => new SlaPolicy
            {
                Count = new CountSlaPolicy { Count = c.RequiredLong("count", 0), DurationSecs = c.RequiredLong("duration_secs", 0) },
            },
            var (_, c) => new SlaPolicy
            {
                Coordinator = new CoordinatorSlaPolicy { CoordinatorUrl = c.RequiredString("coordinator_url"), StatusKey = c.String("status_key") ?? "drain" },
            },
        };

    private static Container? Container(StructReader job)
    {
        switch (job.OneOf("container", ("docker", DockerSchema), ("mesos", MesosSchema)))
        {
            case null:
                return null;
            case ("docker", var docker):
                var dockerContainer = new DockerContainer { Image = docker.RequiredString("image") };
                var parameters = docker.List("parameters");
                for (var i = 0; i < parameters.Count; i++)
                {
                    var parameter = new StructReader(job.Source, parameters[i], FieldPath.Index(docker.PathOf("parameters"), i), ParameterSchema);
                    dockerContainer.Parameters.Add(new DockerParameter { Name = parameter.RequiredString("name"), Value = parameter.String("value") ?? throw parameter.Fail("value", "required") });
                }

                return new Container { Docker = dockerContainer };
            case var (_, mesos):
                var mesosContainer = new MesosContainer
                {
                    Image = mesos.OneOf("image", ("docker", DockerImageSchema), ("appc", AppcImageSchema)) switch
                    {
                        null => null,
                        ("docker", var image) => new Image { Docker = new DockerImage { Name = image.RequiredString("name"), Tag = image.RequiredString("tag") } },
                        var (_, image) => new Image { Appc = new AppcImage { Name = image.RequiredString("name"), ImageId = image.RequiredString("image_id") } },
                    },
                };
                var volumes = mesos.List("volumes");
                for (var i = 0; i < volumes.Count; i++)
                {
                    var volume = new StructReader(job.Source, volumes[i], FieldPath.Index(mesos.PathOf("volumes"), i), VolumeSchema);
                    var containerPath = volume.RequiredString("container_path");
                    var hostPath = volume.RequiredString("host_path");
                    var mode = volume.RequiredString("mode");
                    mesosContainer.Volumes.Add(new Volume
                    {
                        ContainerPath = containerPath,
                        HostPath = hostPath,
                        Mode = mode.ToUpperInvariant() switch
                        {
                            "RO" => VolumeMode.Ro,
                            "RW" => VolumeMode.Rw,
                            _ => throw volume.Fail("mode", $"{Quoting.Quote(mode)} is not one of RO, RW"),
                        },
                    });
                }

                return new Container { Mesos = mesosContainer };
        }
    }
}
