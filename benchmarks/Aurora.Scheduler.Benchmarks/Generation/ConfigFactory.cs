using System.Globalization;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Attribute = Aurora.Scheduler.Protos.Attribute;

namespace Aurora.Scheduler.Benchmarks.Generation;

internal enum JobKind
{
    Service,
    AdHoc,
    Cron,
}

/// <summary>What the generator decided about one job before creating it.</summary>
internal sealed record JobSpec(JobKey Key, JobKind Kind, int Instances, string? DedicatedRole, JobConfiguration Config);

/// <summary>
/// Task configurations shaped like a production cluster's: a package fetch and a main process (a
/// sidecar and log rotation for some), named ports and an HTTP health check for services, limit
/// constraints on host and rack, Docker images in a Mesos container for about half, metadata,
/// tiers, SLA and partition policies. Sizes match real Aurora configs (1 to 3 KB encoded).
/// </summary>
internal static class ConfigFactory
{
    private static readonly string[] Words =
    [
        "api", "search", "index", "feed", "ads", "billing", "auth", "cache", "queue", "mailer", "geo", "media",
        "thumb", "ranker", "crawler", "ingest", "etl", "report", "metrics", "notify", "session", "profile", "cart", "pay",
    ];

    private static readonly double[] Cpus = [0.25, 0.5, 1, 1, 2, 2, 4, 8];
    private static readonly long[] RamMb = [256, 512, 1024, 2048, 2048, 4096, 8192, 16384];

    public static string Role(int index) => "team" + index.ToString("D3", CultureInfo.InvariantCulture);

    public static string Environment(Random random) => random.NextDouble() switch
    {
        < 0.60 => "prod",
        < 0.75 => "staging",
        < 0.90 => "devel",
        _ => "test",
    };

    public static string JobName(Random random, JobKind kind, int index)
    {
        var word = Words[random.Next(Words.Length)];
        var suffix = kind switch
        {
            JobKind.Service => "svc",
            JobKind.AdHoc => "batch",
            _ => "cron",
        };
        return string.Create(CultureInfo.InvariantCulture, $"{word}_{suffix}_{index:D5}");
    }

    /// <param name="version">The release: an update bumps it, which changes the package, image tag and metadata.</param>
    public static JobConfiguration Job(Random random, JobKey key, JobKind kind, int instances, string? dedicatedRole, int version)
    {
        var service = kind == JobKind.Service;
        var production = service && key.Environment == "prod" && random.NextDouble() < 0.8;
        var task = new TaskConfig
        {
            Job = key.Clone(),
            IsService = service,
            Priority = production ? 10 : 0,
            MaxTaskFailures = service ? -1 : 1 + random.Next(3),
            Tier = production ? "preferred" : "preemptible",
            Resources = new Resources
            {
                NumCpus = Cpus[random.Next(Cpus.Length)],
                RamMb = RamMb[random.Next(RamMb.Length)],
                DiskMb = 1024L << random.Next(6),
            },
            ContactEmail = $"{key.Role}-oncall@example.com",
            FinalizationWaitSecs = service ? 30 : 0,
        };
        if (service)
        {
            task.Resources.NamedPorts.Add("http");
            task.Resources.NamedPorts.Add("health");
            if (random.NextDouble() < 0.3)
            {
                task.Resources.NamedPorts.Add("admin");
            }

            task.HealthCheck = new HealthCheck
            {
                Http = new HttpHealthChecker { Endpoint = "/health", ExpectedResponse = "ok", ExpectedResponseCode = 200 },
                InitialIntervalSecs = 15,
                IntervalSecs = 10,
                TimeoutSecs = 1,
                MaxConsecutiveFailures = 3,
                MinConsecutiveSuccesses = 1,
            };
        }

        AddProcesses(random, task, key, service, version);
        AddConstraints(random, task, instances, dedicatedRole);
        if (random.NextDouble() < 0.5)
        {
            task.Container = new Container
            {
                Mesos = new MesosContainer
                {
                    Image = new Image
                    {
                        Docker = new DockerImage
                        {
                            Name = $"registry.example.com/{key.Role}/{key.Name}",
                            Tag = string.Create(CultureInfo.InvariantCulture, $"release-{version}"),
                        },
                    },
                },
            };
        }

        task.Metadata.Add(new Metadata { Key = "owner", Value = key.Role });
        task.Metadata.Add(new Metadata { Key = "release", Value = string.Create(CultureInfo.InvariantCulture, $"{version}") });
        if (random.NextDouble() < 0.5)
        {
            task.Metadata.Add(new Metadata { Key = "git_sha", Value = Convert.ToHexStringLower(BitConverter.GetBytes(random.NextInt64())) });
        }

        if (service && random.NextDouble() < 0.2)
        {
            task.PartitionPolicy = new PartitionPolicy { Reschedule = true, DelaySecs = 300 };
        }

        if (production && instances >= 20 && random.NextDouble() < 0.5)
        {
            task.SlaPolicy = new SlaPolicy { Percentage = new PercentageSlaPolicy { Percentage = 90, DurationSecs = 1800 } };
        }

        var job = new JobConfiguration { Key = key.Clone(), Task = task, InstanceCount = instances };
        if (kind == JobKind.Cron)
        {
            job.CronSchedule = random.NextDouble() < 0.7 ? $"{random.Next(60)} * * * *" : $"{random.Next(60)} {random.Next(24)} * * *";
            job.CronCollisionPolicy = random.NextDouble() < 0.7 ? CronCollisionPolicy.KillExisting : CronCollisionPolicy.CancelNew;
        }

        return job;
    }

    /// <summary>The next release of a service's configuration: a new package version, image tag and metadata.</summary>
    public static TaskConfig NextRelease(TaskConfig current, int version)
    {
        var next = current.Clone();
        var versionText = string.Create(CultureInfo.InvariantCulture, $"{version}");
        foreach (var process in next.Processes)
        {
            process.Cmdline = process.Cmdline.Replace($"/{version - 1}/", $"/{versionText}/", StringComparison.Ordinal);
        }

        if (next.Container?.Mesos?.Image?.Docker is { } image)
        {
            image.Tag = "release-" + versionText;
        }

        foreach (var metadata in next.Metadata.Where(m => m.Key == "release"))
        {
            metadata.Value = versionText;
        }

        return next;
    }

    private static void AddProcesses(Random random, TaskConfig task, JobKey key, bool service, int version)
    {
        var package = string.Create(CultureInfo.InvariantCulture, $"/packages/{key.Role}/{key.Name}/{version}/");
        task.Processes.Add(new Process
        {
            Name = "fetch_package",
            Cmdline = $"curl -sf https://packages.example.com{package}app.tar.gz -o app.tar.gz && tar xzf app.tar.gz && rm app.tar.gz",
            MaxFailures = 3,
            Ephemeral = false,
        });
        var main = service
            ? $"exec ./bin/{key.Name} --port={{{{thermos.ports[http]}}}} --health-port={{{{thermos.ports[health]}}}} --env={key.Environment} --config=conf/{key.Environment}.yaml"
            : $"./bin/{key.Name} --env={key.Environment} --input=hdfs:///data/{key.Role}/{key.Name}/input --output=hdfs:///data/{key.Role}/{key.Name}/output";
        task.Processes.Add(new Process
        {
            Name = "main",
            Cmdline = main,
            MaxFailures = 1,
            Logger = new ProcessLogger { Mode = "rotate", RotateLogSizeMb = 100, RotateLogBackups = 5 },
        });
        var order = new ProcessOrder { Order = { "fetch_package", "main" } };
        if (service && random.NextDouble() < 0.3)
        {
            task.Processes.Add(new Process
            {
                Name = "stats_sidecar",
                Cmdline = "exec /usr/local/bin/stats-agent --listen=127.0.0.1:9102 --flush-interval=10s",
                Daemon = true,
                Ephemeral = true,
            });
        }

        task.ProcessOrder.Add(order);
    }

    private static void AddConstraints(Random random, TaskConfig task, int instances, string? dedicatedRole)
    {
        if (dedicatedRole is not null)
        {
            task.Constraints.Add(new Constraint { Name = "dedicated", Value = new ValueConstraint { Values = { dedicatedRole } } });
            return;
        }

        if (task.IsService && instances <= 300 && random.NextDouble() < 0.5)
        {
            task.Constraints.Add(new Constraint { Name = "host", Limit = new LimitConstraint { Limit = 1 } });
        }

        if (task.IsService && random.NextDouble() < 0.2)
        {
            task.Constraints.Add(new Constraint { Name = "rack", Limit = new LimitConstraint { Limit = Math.Max(2, instances / 10) } });
        }

        if (random.NextDouble() < 0.1)
        {
            task.Constraints.Add(new Constraint { Name = "os", Value = new ValueConstraint { Values = { "debian12" } } });
        }
    }

    /// <summary>What the agent on host <paramref name="index"/> advertises.</summary>
    public static HostAttributes Host(int index, string? dedicatedRole)
    {
        var attributes = new HostAttributes
        {
            Host = HostName(index),
            AgentId = AgentId(index),
            Attributes =
            {
                new Attribute { Name = "host", Values = { HostName(index) } },
                new Attribute { Name = "rack", Values = { string.Create(CultureInfo.InvariantCulture, $"rack-{index / 40:D3}") } },
                new Attribute { Name = "zone", Values = { "zone-" + (char)('a' + (index % 3)) } },
                new Attribute { Name = "os", Values = { index % 10 == 9 ? "debian11" : "debian12" } },
            },
        };
        if (dedicatedRole is not null)
        {
            attributes.Attributes.Add(new Attribute { Name = "dedicated", Values = { dedicatedRole } });
        }

        return attributes;
    }

    public static string HostName(int index) => string.Create(CultureInfo.InvariantCulture, $"host-{index:D4}.dc1.example.com");

    public static string AgentId(int index) =>
        string.Create(CultureInfo.InvariantCulture, $"5e4ac3f1-9b7d-4c62-a0f5-{index * 7919 % 1_000_000_000_000:x12}-S{index}");
}
