using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Aurora.Client;
using Aurora.Client.Api;
using Aurora.Client.Commands;
using Aurora.Client.Config;
using Aurora.Client.Output;
using Aurora.CommandLine;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Google.Protobuf;

namespace Aurora.Cli;

/// <summary><c>aurora job ...</c>.</summary>
internal static class JobCommands
{
    private const string Key = "CLUSTER/ROLE/ENV/NAME";

    public static Noun Noun { get; } = new("job", "create, inspect and control jobs", [
        new Verb("create", $"{Key} CONFIG", "create a job from the configuration file", 2, 2,
            [new FlagSpec("wait-until", "wait until every instance is PENDING, RUNNING or FINISHED", "STATE", "PENDING")],
            CreateAsync,
            "Cron jobs are refused: use 'aurora cron schedule'. With --wait-until=RUNNING the command waits until every\n"
            + "instance runs (or has ended); with FINISHED until every instance has ended, and exits 4 unless all FINISHED.\n"
            + "example: aurora job create devcluster/www-data/prod/hello hello.json --wait-until=RUNNING"),
        new Verb("kill", $"{Key}/INSTANCES", "kill some instances of a job", 1, 1,
            [new FlagSpec("m", "a message recorded with the kill", "MESSAGE")],
            KillAsync,
            "INSTANCES is 0, 0-3 or 0,2,5-7. Use 'aurora job killall' for every instance.\n"
            + "example: aurora job kill devcluster/www-data/prod/hello/0-1 -m 'bad host'"),
        new Verb("killall", Key, "kill every instance of a job", 1, 1,
            [new FlagSpec("m", "a message recorded with the kill", "MESSAGE")],
            KillAllAsync),
        new Verb("restart", $"{Key}[/INSTANCES]", "restart a job's active instances (all, or those listed), a batch at a time", 1, 1,
            RollingRestart.Flags, RollingRestart.RunAsync, RollingRestart.Details),
        new Verb("status", "CLUSTER/ROLE[/ENV[/NAME]]", "show the tasks of a job, or of every job matching", 1, 1,
            [AuroraCli.Json, new FlagSpec("write-json", "the same as --json (Aurora's spelling)")],
            StatusAsync,
            "Any part after the cluster may be * (any).\n"
            + "--json prints {\"cluster\", \"key\", \"job\", \"tasks\": [...]} for one job and {\"cluster\", \"jobs\": [...]} otherwise;\n"
            + "every task has at least instance, taskId, status and host."),
        new Verb("list", "CLUSTER[/ROLE[/ENV[/NAME]]]", "list the jobs of a cluster, role or environment", 1, 1, [AuroraCli.Json], ListAsync),
        new Verb("diff", $"{Key} CONFIG", "compare the configuration file with the job the scheduler runs", 2, 2, [], DiffAsync,
            "Prints a unified diff from the scheduler's configuration to the local one (normalized JSON).\n"
            + "Exits 0 when they are the same and 1 when they differ, as diff(1)."),
        new Verb("inspect", $"{Key} CONFIG", "show the job as read from the configuration file", 2, 2,
            [
                new FlagSpec("raw", "print the job in the configuration file format, every default spelt out"),
                new FlagSpec("json", "print what is sent to the scheduler: {\"cluster\", \"config\", \"updateSettings\"} in protobuf JSON"),
            ],
            InspectAsync),
        new Verb("add", $"{Key}/INSTANCE COUNT", "add COUNT instances copied from INSTANCE", 2, 2, [], AddAsync,
            "example: aurora job add devcluster/www-data/prod/hello/0 2"),
    ]);

    private static async Task<int> CreateAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.Parse(arguments.Positionals[0]);
        var path = arguments.Positionals[1];
        var waitUntil = arguments.GetString("wait-until")?.ToUpperInvariant() switch
        {
            null or "PENDING" => ScheduleStatus.Pending,
            "RUNNING" => ScheduleStatus.Running,
            "FINISHED" => ScheduleStatus.Finished,
            var other => throw new UsageException($"--wait-until must be PENDING, RUNNING or FINISHED, got '{other}'"),
        };
        var job = JobFiles.Load(key, path);
        if (JobFiles.IsCron(job.Config))
        {
            throw new ClientException(
                ExitCodes.InvalidCommand,
                $"job {key} in {path} is a cron job (cron_schedule '{job.Config.CronSchedule}'): use aurora cron schedule {key} {path}");
        }

        var client = context.Client(key.Cluster);
        await client.CreateJobAsync(job.Config, context.Cancellation).ConfigureAwait(false);
        context.Output.Line($"Job {key} created: {AuroraCli.JobLink(client.Cluster, key)}");
        if (waitUntil == ScheduleStatus.Pending)
        {
            return ExitCodes.Ok;
        }

        return await TaskWaiter.WaitAsync(context, client, key, job.Config.InstanceCount, waitUntil).ConfigureAwait(false);
    }

    private static async Task<int> KillAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.ParseWithInstances(arguments.Positionals[0]);
        if (key.Instances is null)
        {
            throw new UsageException($"aurora job kill needs the instances to kill ({key}/0-3); use aurora job killall {key} to kill every instance");
        }

        var result = await context.Client(key.Cluster).KillTasksAsync(key.Key, key.Instances, arguments.GetString("m"), context.Cancellation).ConfigureAwait(false);
        context.Output.Done($"Kill of {key} requested", result);
        return ExitCodes.Ok;
    }

    private static async Task<int> KillAllAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.Parse(arguments.Positionals[0]);
        var result = await context.Client(key.Cluster).KillTasksAsync(key.Key, null, arguments.GetString("m"), context.Cancellation).ConfigureAwait(false);
        context.Output.Done($"Kill of every instance of {key} requested", result);
        return ExitCodes.Ok;
    }

    private static async Task<int> AddAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.ParseWithInstances(arguments.Positionals[0]);
        if (key.Instances is not { Count: 1 })
        {
            throw new UsageException($"aurora job add needs exactly one instance to copy, as in {key.Text}/0, got '{arguments.Positionals[0]}'");
        }

        var countText = arguments.Positionals[1];
        if (!int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count is < 1 or > InstanceRanges.MaxInstance)
        {
            throw new UsageException($"COUNT must be a whole number from 1 to {InstanceRanges.MaxInstance}, got '{countText}'");
        }

        var result = await context.Client(key.Cluster).AddInstancesAsync(key.Key, key.Instances[0], count, context.Cancellation).ConfigureAwait(false);
        context.Output.Done($"Added {count} instance(s) to {key.Text} copied from instance {key.Instances[0]}", result);
        return ExitCodes.Ok;
    }

    private static async Task<int> StatusAsync(CommandContext context, ParsedFlags arguments)
    {
        var spec = JobSpec.Parse(arguments.Positionals[0]);
        var json = arguments.GetSwitch("json") || arguments.GetSwitch("write-json");
        var client = context.Client(spec.Cluster);
        var tasks = await client.GetTasksAsync(
            new TaskQuery { Role = spec.Role, Environment = spec.Environment, Name = spec.Name },
            context.Cancellation).ConfigureAwait(false);

        // Jobs without tasks (a cron template, a job killed long ago) still show; a single job that
        // does not exist is NOT_FOUND from the scheduler (exit 6).
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        if (spec.Key is { } single)
        {
            keys.Add(single.Canonical());
            if (!tasks.Any(t => Views.JobKeyText(Views.Child(t, "job")) == single.Canonical()))
            {
                await client.GetJobAsync(single, context.Cancellation).ConfigureAwait(false);
            }
        }
        else
        {
            foreach (var task in tasks)
            {
                if (Views.JobKeyText(Views.Child(task, "job")) is { } text)
                {
                    keys.Add(text);
                }
            }

            var summaries = await client.GetJobSummariesAsync(spec.Role, spec.Environment, spec.Name, context.Cancellation).ConfigureAwait(false);
            foreach (var summary in summaries)
            {
                if (Views.JobKeyText(Views.Child(summary, "job")) is { } text)
                {
                    keys.Add(text);
                }
            }

            if (keys.Count == 0)
            {
                throw new ClientException(ExitCodes.InvalidParameter, $"no jobs match {spec}");
            }
        }

        var byJob = keys.ToDictionary(k => k, k => Ordered(tasks.Where(t => Views.JobKeyText(Views.Child(t, "job")) == k)), StringComparer.Ordinal);
        if (json)
        {
            var jobs = byJob.Select(pair => JobStatusJson(spec.Cluster, pair.Key, pair.Value)).ToList();
            context.Output.Json(spec.IsSingleJob
                ? jobs[0]
                : new JsonObject { ["cluster"] = spec.Cluster, ["jobs"] = new JsonArray([.. jobs]) });
            return ExitCodes.Ok;
        }

        var first = true;
        foreach (var (job, jobTasks) in byJob)
        {
            if (!first)
            {
                context.Output.Line(string.Empty);
            }

            first = false;
            var active = jobTasks.Count(t => TaskStatuses.IsActive(Views.TaskStatus(t)));
            context.Output.Line($"Job {spec.Cluster}/{job}: {active} active task(s), {jobTasks.Count - active} ended");
            if (jobTasks.Count > 0)
            {
                context.Output.Table(
                    ["INSTANCE", "STATUS", "HOST", "SINCE", "TASK ID", "MESSAGE"],
                    jobTasks.Select(t => (IReadOnlyList<string?>)
                    [
                        Views.Long(t, "instance")?.ToString(CultureInfo.InvariantCulture),
                        Views.String(t, "status"),
                        Views.String(t, "host"),
                        Views.Time(t, "statusTime"),
                        Views.String(t, "taskId"),
                        Views.String(t, "pendingReason") ?? Views.String(t, "message"),
                    ]));
            }
        }

        return ExitCodes.Ok;
    }

    // Instance order; within an instance the active task first, then the most recent.
    private static List<JsonObject> Ordered(IEnumerable<JsonObject> tasks) =>
        [.. tasks
            .OrderBy(t => Views.Long(t, "instance") ?? long.MaxValue)
            .ThenBy(t => TaskStatuses.IsActive(Views.TaskStatus(t)) ? 0 : 1)
            .ThenByDescending(t => Views.String(t, "statusTime") ?? string.Empty, StringComparer.Ordinal)];

    private static JsonObject JobStatusJson(string cluster, string job, List<JsonObject> tasks)
    {
        var parts = job.Split('/');
        return new JsonObject
        {
            ["cluster"] = cluster,
            ["key"] = $"{cluster}/{job}",
            ["job"] = new JsonObject { ["role"] = parts[0], ["environment"] = parts[1], ["name"] = parts[2] },
            ["tasks"] = new JsonArray([.. tasks.Select(TaskJson)]),
        };
    }

    /// <summary>The scheduler's task view, with the fields scripts rely on always present.</summary>
    internal static JsonObject TaskJson(JsonObject task)
    {
        var copy = (JsonObject)task.DeepClone();
        foreach (var field in new[] { "instance", "taskId", "status", "host" })
        {
            if (!copy.ContainsKey(field))
            {
                copy[field] = null;
            }
        }

        return copy;
    }

    private static async Task<int> ListAsync(CommandContext context, ParsedFlags arguments)
    {
        var spec = JobSpec.Parse(arguments.Positionals[0]);
        var summaries = await context.Client(spec.Cluster).GetJobSummariesAsync(spec.Role, spec.Environment, spec.Name, context.Cancellation).ConfigureAwait(false);
        var ordered = summaries.OrderBy(s => Views.JobKeyText(Views.Child(s, "job")), StringComparer.Ordinal).ToList();
        if (arguments.GetSwitch("json"))
        {
            var jobs = ordered.Select(s =>
            {
                var copy = (JsonObject)s.DeepClone();
                copy["key"] = $"{spec.Cluster}/{Views.JobKeyText(Views.Child(s, "job"))}";
                return (JsonNode)copy;
            });
            context.Output.Json(new JsonObject { ["cluster"] = spec.Cluster, ["jobs"] = new JsonArray([.. jobs]) });
            return ExitCodes.Ok;
        }

        if (ordered.Count == 0)
        {
            context.Output.Note($"no jobs in {spec}");
            return ExitCodes.Ok;
        }

        context.Output.Table(
            ["JOB", "TYPE", "INSTANCES", "TIER", "TASKS"],
            ordered.Select(s => (IReadOnlyList<string?>)
            [
                $"{spec.Cluster}/{Views.JobKeyText(Views.Child(s, "job"))}",
                Views.Bool(s, "cron") == true ? "cron" : Views.Bool(s, "service") == true ? "service" : "adhoc",
                Views.Long(s, "instanceCount")?.ToString(CultureInfo.InvariantCulture),
                Views.String(s, "tier"),
                Counts(Views.Child(s, "taskCounts")),
            ]));
        return ExitCodes.Ok;
    }

    private static string Counts(JsonObject? counts) =>
        counts is null || counts.Count == 0
            ? "-"
            : string.Join(", ", counts.Select(pair => $"{pair.Key} {Views.Long(counts, pair.Key)}"));

    private static async Task<int> DiffAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.Parse(arguments.Positionals[0]);
        var path = arguments.Positionals[1];
        var local = JobFiles.Load(key, path).Config;
        var view = await context.Client(key.Cluster).GetJobAsync(key.Key, context.Cancellation).ConfigureAwait(false);
        if (Views.Child(view, "config") is not { } remoteJson)
        {
            // The scheduler knows a job's configuration from its active tasks (or its cron template).
            throw new ClientException(ExitCodes.InvalidParameter, $"job {key} has no active tasks, so the scheduler has no configuration to compare with {path}");
        }

        JobConfiguration remote;
        try
        {
            remote = new JsonParser(JsonParser.Settings.Default.WithIgnoreUnknownFields(true)).Parse<JobConfiguration>(remoteJson.ToJsonString());
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ClientException(ExitCodes.ApiError, $"cannot read the scheduler's configuration of job {key}: {e.Message}", e);
        }

        var diff = LineDiff.Unified(Normalized(remote), Normalized(AsTheSchedulerStoresIt(local, remote)), $"scheduler {key}", $"local {path}");
        if (diff.Length == 0)
        {
            context.Output.Note($"job {key} on the scheduler matches {path}");
            return ExitCodes.Ok;
        }

        context.Output.Out.Write(diff);
        return ExitCodes.Different;
    }

    /// <summary>
    /// The local configuration with what the scheduler fills in when it accepts a job
    /// (ConfigurationValidator): the task's job key, the default tier when the file names none (taken
    /// from the scheduler's copy, as the default is the scheduler's setting), <c>production</c>
    /// (derived from the tier), and the task links Aurora adds for <c>health</c> and <c>http</c> ports.
    /// Without this every job would differ from itself.
    /// </summary>
    internal static JobConfiguration AsTheSchedulerStoresIt(JobConfiguration local, JobConfiguration remote)
    {
        var populated = local.Clone();
        if (populated.Task is not { } task)
        {
            return populated;
        }

        task.Job ??= populated.Key?.Clone();
        if (task.Tier.Length == 0 && remote.Task is { } remoteTask)
        {
            task.Tier = remoteTask.Tier;
        }

        if (remote.Task is { } stored && stored.Tier == task.Tier)
        {
            task.Production = stored.Production;
        }

        if (task.TaskLinks.Count == 0 && task.Resources is { } resources)
        {
            foreach (var port in new[] { "health", "http" }.Where(resources.NamedPorts.Contains))
            {
                task.TaskLinks.Add(new TaskLink { Name = port, Url = $"http://%host%:%port:{port}%" });
            }
        }

        return populated;
    }

    /// <summary>The configuration as indented proto JSON with sorted keys, so that equal configs print alike.</summary>
    internal static string Normalized(JobConfiguration config) => ConsoleOutput.JsonText(Sorted(SchedulerClient.Proto(config)));

    private static JsonNode? Sorted(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sorted(p.Value)))),
        JsonArray array => new JsonArray([.. array.Select(Sorted)]),
        _ => node?.DeepClone(),
    };

    private static Task<int> InspectAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.Parse(arguments.Positionals[0]);
        var path = arguments.Positionals[1];
        var job = JobFiles.Load(key, path);
        if (arguments.GetSwitch("raw"))
        {
            context.Output.Line(JobConfigPrinter.ToJson(job));
        }
        else if (arguments.GetSwitch("json"))
        {
            context.Output.Json(new JsonObject
            {
                ["cluster"] = job.Cluster,
                ["config"] = SchedulerClient.Proto(job.Config),
                ["updateSettings"] = SchedulerClient.Proto(job.UpdateSettings),
            });
        }
        else
        {
            context.Output.Out.Write(Describe(key, path, job.Config, job.UpdateSettings));
        }

        return Task.FromResult(ExitCodes.Ok);
    }

    internal static string Describe(JobKeyArgument key, string path, JobConfiguration config, JobUpdateSettings settings)
    {
        var task = config.Task ?? new TaskConfig();
        var text = new StringBuilder();
        void Line(string line) => text.Append(line).Append('\n');
        Line($"Job {key} (from {path})");
        Line($"  instances: {config.InstanceCount}");
        Line($"  type: {(JobFiles.IsCron(config) ? "cron" : task.IsService ? "service" : "adhoc")}");
        if (JobFiles.IsCron(config))
        {
            Line($"  cron schedule: {config.CronSchedule} (collision policy {ProtoNames.Of(config.CronCollisionPolicy)})");
        }

        Line($"  tier: {(task.Tier.Length == 0 ? "-" : task.Tier)}, priority {task.Priority}, production {(task.Production ? "yes" : "no")}");
        Line($"  max task failures: {task.MaxTaskFailures}");
        if (task.ContactEmail.Length > 0)
        {
            Line($"  contact: {task.ContactEmail}");
        }

        var resources = task.Resources ?? new Resources();
        var ports = resources.NamedPorts.Count == 0 ? string.Empty : $", ports {string.Join(", ", resources.NamedPorts)}";
        var gpus = resources.NumGpus == 0 ? string.Empty : string.Create(CultureInfo.InvariantCulture, $", {resources.NumGpus} GPU");
        Line(string.Create(
            CultureInfo.InvariantCulture,
            $"  resources per instance: {resources.NumCpus} CPU, {Amounts.FormatBytes(resources.RamMb << 20)} RAM, {Amounts.FormatBytes(resources.DiskMb << 20)} disk{gpus}{ports}"));
        foreach (var constraint in task.Constraints)
        {
            var rule = constraint.KindCase == Constraint.KindOneofCase.Limit
                ? $"limit {constraint.Limit.Limit}"
                : $"{(constraint.Value.Negated ? "not " : string.Empty)}{string.Join(" or ", constraint.Value.Values)}";
            Line($"  constraint {constraint.Name}: {rule}");
        }

        if (task.Container is { } container)
        {
            Line(container.KindCase switch
            {
                Container.KindOneofCase.Docker => $"  container: docker {container.Docker.Image}",
                Container.KindOneofCase.Mesos when container.Mesos.Image?.KindCase == Image.KindOneofCase.Docker =>
                    $"  container: mesos, image {container.Mesos.Image.Docker.Name}:{container.Mesos.Image.Docker.Tag}",
                Container.KindOneofCase.Mesos when container.Mesos.Image?.KindCase == Image.KindOneofCase.Appc =>
                    $"  container: mesos, appc image {container.Mesos.Image.Appc.Name}",
                _ => "  container: mesos",
            });
        }

        if (task.HealthCheck is { } health)
        {
            var kind = health.KindCase == HealthCheck.KindOneofCase.Shell ? $"shell '{health.Shell.ShellCommand}'" : $"http {health.Http?.Endpoint ?? "/health"}";
            Line(string.Create(CultureInfo.InvariantCulture, $"  health check: {kind} every {health.IntervalSecs}s"));
        }

        Line("  processes:");
        foreach (var process in task.Processes)
        {
            var traits = new List<string> { $"max failures {process.MaxFailures}" };
            traits.AddRange(new[] { (process.Daemon, "daemon"), (process.Ephemeral, "ephemeral"), (process.Final, "final") }.Where(t => t.Item1).Select(t => t.Item2));
            Line($"    {process.Name} ({string.Join(", ", traits)}): {process.Cmdline}");
        }

        foreach (var order in task.ProcessOrder)
        {
            Line($"  order: {string.Join(" before ", order.Order)}");
        }

        Line(string.Create(
            CultureInfo.InvariantCulture,
            $"  update: {Strategy(settings)}, watch {settings.MinWaitInInstanceRunningMs / 1000}s, max per-instance failures {settings.MaxPerInstanceFailures}, max failed instances {settings.MaxFailedInstances}, rollback on failure {(settings.RollbackOnFailure ? "yes" : "no")}"));
        return text.ToString();
    }

    private static string Strategy(JobUpdateSettings settings) => settings.Strategy?.KindCase switch
    {
        JobUpdateStrategy.KindOneofCase.Queue => $"queue of {settings.Strategy.Queue.GroupSize}",
        JobUpdateStrategy.KindOneofCase.Batch => $"batches of {settings.Strategy.Batch.GroupSize}{(settings.Strategy.Batch.AutopauseAfterBatch ? ", pausing after each" : string.Empty)}",
        JobUpdateStrategy.KindOneofCase.VariableBatch => $"batches of {string.Join(", ", settings.Strategy.VariableBatch.GroupSizes)}{(settings.Strategy.VariableBatch.AutopauseAfterBatch ? ", pausing after each" : string.Empty)}",
        _ => "default strategy",
    };
}
