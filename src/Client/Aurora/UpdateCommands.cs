using System.Globalization;
using System.Text.Json.Nodes;
using Aurora.Client;
using Aurora.Client.Api;
using Aurora.Client.Commands;
using Aurora.CommandLine;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Cli;

/// <summary><c>aurora update ...</c>.</summary>
internal static class UpdateCommands
{
    private const string Key = "CLUSTER/ROLE/ENV/NAME";
    private static readonly FlagSpec Message = new("m", "a message recorded with the change", "MESSAGE");

    // Aurora's `update list --status` groups, besides single statuses.
    private static readonly Dictionary<string, JobUpdateStatus[]> StatusGroups = new(StringComparer.OrdinalIgnoreCase)
    {
        ["active"] = [.. JobUpdateStates.Active],
        ["inactive"] = [.. Enum.GetValues<JobUpdateStatus>().Where(JobUpdateStates.IsTerminal)],
        ["paused"] = [JobUpdateStatus.RollForwardPaused, JobUpdateStatus.RollBackPaused],
        ["blocked"] = [JobUpdateStatus.RollForwardAwaitingPulse, JobUpdateStatus.RollBackAwaitingPulse],
        ["failed"] = [JobUpdateStatus.Error, JobUpdateStatus.Failed, JobUpdateStatus.RolledBack],
    };

    public static Noun Noun { get; } = new("update", "roll a job to a new configuration, and control its updates", [
        new Verb("start", $"{Key}[/INSTANCES] CONFIG", "start updating a job to the configuration file", 2, 2,
            [new FlagSpec("wait", "wait until the update ends; exit 0 only when it rolled forward"), Message, AuroraCli.Json],
            StartAsync,
            "The update uses the job's update_config. With /INSTANCES only those instances are updated (a canary).\n"
            + "--json prints the scheduler's answer ({\"key\": {\"job\", \"id\"}, ...}), or with --wait the update's details when it ends.\n"
            + "example: aurora update start devcluster/www-data/prod/hello/0 hello.json --wait"),
        Change("pause", UpdateAction.Pause, "pause a job's update"),
        Change("resume", UpdateAction.Resume, "resume a paused update"),
        Change("abort", UpdateAction.Abort, "abort an update, leaving the job as it is"),
        Change("rollback", UpdateAction.Rollback, "roll an update back to the previous configuration"),
        new Verb("list", "CLUSTER[/ROLE[/ENV[/NAME]]]", "list updates, newest first", 1, 1,
            [
                new FlagSpec("status", "only these statuses (ROLLING_FORWARD, ...) or groups: active, inactive, paused, blocked, failed", "STATUS[,STATUS...]"),
                new FlagSpec("user", "only updates started by USER", "USER"),
                AuroraCli.Json,
            ],
            ListAsync),
        new Verb("info", $"{Key} [UPDATE_ID]", "show an update's details and history", 1, 2, [AuroraCli.Json], InfoAsync,
            "Without UPDATE_ID: the job's active update, or if none is active its newest one."),
        new Verb("wait", $"{Key} [UPDATE_ID]", "wait until an update ends", 1, 2, [], WaitAsync,
            "Without UPDATE_ID: the job's active update, or if none is active its newest one.\n"
            + "Exits 0 when the update ROLLED_FORWARD and 4 when it ended otherwise (ROLLED_BACK, ABORTED, FAILED, ERROR)."),
    ]);

    private static Verb Change(string name, UpdateAction action, string summary) =>
        new(name, $"{Key} [UPDATE_ID]", summary, 1, 2, [Message], (context, arguments) => ChangeAsync(context, arguments, action),
            "Without UPDATE_ID: the job's active update.");

    private static async Task<int> StartAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.ParseWithInstances(arguments.Positionals[0]);
        var path = arguments.Positionals[1];
        var json = arguments.GetSwitch("json");
        var job = JobFiles.Load(key, path);
        if (JobFiles.IsCron(job.Config))
        {
            throw new ClientException(
                ExitCodes.InvalidCommand,
                $"job {key.Text} in {path} is a cron job: cron jobs are not updated, use aurora cron schedule {key.Text} {path} to replace its template");
        }

        var settings = job.UpdateSettings.Clone();
        if (key.Instances is not null)
        {
            settings.UpdateOnlyTheseInstances.Clear();
            settings.UpdateOnlyTheseInstances.AddRange(Ranges.Of(key.Instances));
        }

        var request = new JobUpdateRequest { Task = job.Config.Task, InstanceCount = job.Config.InstanceCount, Settings = settings };
        var client = context.Client(key.Cluster);
        var answer = await client.StartUpdateAsync(request, arguments.GetString("m"), context.Cancellation).ConfigureAwait(false);
        if (Views.UpdateId(answer) is not { } id)
        {
            // Aurora answers a no-op update with a message and no update.
            if (json)
            {
                context.Output.Json(answer);
            }
            else
            {
                context.Output.Line(Views.String(answer, "message") ?? $"the scheduler started no update of {key.Text}");
            }

            return ExitCodes.Ok;
        }

        if (!arguments.GetSwitch("wait"))
        {
            if (json)
            {
                context.Output.Json(answer);
            }
            else
            {
                context.Output.Line($"Update {id} of {key.Text} started: {UpdateLink(client.Cluster, key, id)}");
            }

            return ExitCodes.Ok;
        }

        if (!json)
        {
            context.Output.Note($"Update {id} of {key.Text} started: {UpdateLink(client.Cluster, key, id)}");
        }

        return await WaitForAsync(context, client, key, id, json).ConfigureAwait(false);
    }

    private static async Task<int> ChangeAsync(CommandContext context, ParsedFlags arguments, UpdateAction action)
    {
        var key = JobKeyArgument.Parse(arguments.Positionals[0]);
        var client = context.Client(key.Cluster);
        var id = arguments.Positionals.Count > 1
            ? arguments.Positionals[1]
            : await FindUpdateAsync(context, client, key, newestIfNoneActive: false).ConfigureAwait(false);
        var result = await client.ChangeUpdateAsync(key.Key, id, action, arguments.GetString("m"), context.Cancellation).ConfigureAwait(false);
        var verb = action switch
        {
            UpdateAction.Pause => "Paused",
            UpdateAction.Resume => "Resumed",
            UpdateAction.Abort => "Aborted",
            UpdateAction.Rollback => "Rolling back",
            _ => action.ToString(),
        };
        context.Output.Done($"{verb} update {id} of {key}", result);
        return ExitCodes.Ok;
    }

    private static async Task<int> ListAsync(CommandContext context, ParsedFlags arguments)
    {
        var spec = JobSpec.Parse(arguments.Positionals[0]);
        var statuses = arguments.GetString("status") is { } text ? ParseStatuses(text) : null;
        var updates = await context.Client(spec.Cluster).GetUpdatesAsync(
            new UpdateQuery { Role = spec.Role, Environment = spec.Environment, Name = spec.Name, Statuses = statuses, User = arguments.GetString("user") },
            context.Cancellation).ConfigureAwait(false);
        if (arguments.GetSwitch("json"))
        {
            context.Output.Json(new JsonObject { ["cluster"] = spec.Cluster, ["updates"] = new JsonArray([.. updates.Select(u => u.DeepClone())]) });
            return ExitCodes.Ok;
        }

        if (updates.Count == 0)
        {
            context.Output.Note($"no updates in {spec}");
            return ExitCodes.Ok;
        }

        context.Output.Table(
            ["JOB", "UPDATE ID", "STATUS", "USER", "CREATED", "LAST MODIFIED"],
            updates.Select(u => (IReadOnlyList<string?>)
            [
                $"{spec.Cluster}/{Views.JobKeyText(Views.Child(Views.Child(u, "key"), "job"))}",
                Views.UpdateId(u),
                StatusName(u),
                Views.String(u, "user"),
                Views.Time(u, "createdAt"),
                Views.Time(u, "lastModifiedAt"),
            ]));
        return ExitCodes.Ok;
    }

    /// <summary>Status names and groups, comma-separated, in Aurora's spelling; unknown ones are usage errors.</summary>
    internal static IReadOnlyList<string> ParseStatuses(string text)
    {
        var statuses = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (StatusGroups.TryGetValue(part, out var group))
            {
                statuses.UnionWith(group.Select(ProtoNames.Of));
            }
            else if (ProtoNames.TryParse<JobUpdateStatus>(Views.EnumName(part.ToUpperInvariant(), "JOB_UPDATE_STATUS_"), out var status)
                && status != JobUpdateStatus.Unspecified)
            {
                statuses.Add(ProtoNames.Of(status));
            }
            else
            {
                var known = Enum.GetValues<JobUpdateStatus>().Where(s => s != JobUpdateStatus.Unspecified).Select(ProtoNames.Of);
                throw new UsageException($"--status: unknown update status '{part}'; use one of {string.Join(", ", known)} or a group: {string.Join(", ", StatusGroups.Keys)}");
            }
        }

        return [.. statuses];
    }

    private static async Task<int> InfoAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.Parse(arguments.Positionals[0]);
        var client = context.Client(key.Cluster);
        var id = arguments.Positionals.Count > 1
            ? arguments.Positionals[1]
            : await FindUpdateAsync(context, client, key, newestIfNoneActive: true).ConfigureAwait(false);
        var details = await client.GetUpdateAsync(key.Key, id, context.Cancellation).ConfigureAwait(false);
        if (arguments.GetSwitch("json"))
        {
            context.Output.Json(details);
            return ExitCodes.Ok;
        }

        var summary = Views.Child(details, "update") ?? details;
        context.Output.Properties(
        [
            ("Job", key.ToString()),
            ("Update ID", id),
            ("Status", StatusName(summary)),
            ("Started by", Views.String(summary, "user")),
            ("Created", Views.Time(summary, "createdAt")),
            ("Last modified", Views.Time(summary, "lastModifiedAt")),
            ("Message", Views.String(summary, "message")),
            ("Instances", InstancesText(Views.Child(Views.Child(details, "instructions"), "desiredState")?["instances"] as JsonArray)),
            ("Link", UpdateLink(client.Cluster, key, id)),
        ]);
        if (details["events"] is JsonArray { Count: > 0 } events)
        {
            context.Output.Line(string.Empty);
            context.Output.Line("Update events:");
            context.Output.Table(
                ["STATUS", "TIME", "USER", "MESSAGE"],
                events.OfType<JsonObject>().Select(e => (IReadOnlyList<string?>)
                [
                    StatusName(e),
                    Views.Time(e, "time"),
                    Views.String(e, "user"),
                    Views.String(e, "message"),
                ]));
        }

        if (details["instanceEvents"] is JsonArray { Count: > 0 } instanceEvents)
        {
            context.Output.Line(string.Empty);
            context.Output.Line("Instance events:");
            context.Output.Table(
                ["INSTANCE", "ACTION", "TIME"],
                instanceEvents.OfType<JsonObject>().Select(e => (IReadOnlyList<string?>)
                [
                    Views.Long(e, "instance")?.ToString(CultureInfo.InvariantCulture),
                    Views.EnumName(Views.String(e, "action"), "JOB_UPDATE_ACTION_"),
                    Views.Time(e, "time"),
                ]));
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> WaitAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.Parse(arguments.Positionals[0]);
        var client = context.Client(key.Cluster);
        var id = arguments.Positionals.Count > 1
            ? arguments.Positionals[1]
            : await FindUpdateAsync(context, client, key, newestIfNoneActive: true).ConfigureAwait(false);
        return await WaitForAsync(context, client, key, id, json: false).ConfigureAwait(false);
    }

    /// <summary>Polls the update until it is terminal; 0 when it rolled forward, <see cref="ExitCodes.CommandFailure"/> otherwise.</summary>
    private static async Task<int> WaitForAsync(CommandContext context, SchedulerClient client, JobKeyArgument key, string id, bool json)
    {
        var details = await context.Output.ProgressAsync($"update {id} of {key.Text}: waiting", async report =>
        {
            while (true)
            {
                var current = await client.GetUpdateAsync(key.Key, id, context.Cancellation).ConfigureAwait(false);
                var summary = Views.Child(current, "update") ?? current;
                var status = Views.UpdateStatus(summary);
                var settled = (current["instanceEvents"] as JsonArray)?.Count ?? 0;
                report($"update {id} of {key.Text}: {StatusName(summary)}, {settled} instance event(s)");
                if (JobUpdateStates.IsTerminal(status))
                {
                    return current;
                }

                await context.PauseAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);

        var final = Views.Child(details, "update") ?? details;
        var outcome = Views.UpdateStatus(final);
        if (json)
        {
            context.Output.Json(details);
        }
        else
        {
            context.Output.Line($"Update {id} of {key.Text}: {StatusName(final)}");
        }

        if (outcome == JobUpdateStatus.RolledForward)
        {
            return ExitCodes.Ok;
        }

        var message = Views.String(final, "message");
        context.Output.Error.WriteLine($"error: update {id} of {key.Text} ended {StatusName(final)}, not ROLLED_FORWARD{(message is null ? string.Empty : $": {message}")}");
        return ExitCodes.CommandFailure;
    }

    /// <summary>The id of the job's active update, or (when asked) of its newest one; <see cref="ExitCodes.InvalidParameter"/> when there is none.</summary>
    private static async Task<string> FindUpdateAsync(CommandContext context, SchedulerClient client, JobKeyArgument key, bool newestIfNoneActive)
    {
        var updates = await client.GetUpdatesAsync(
            new UpdateQuery { Role = key.Key.Role, Environment = key.Key.Environment, Name = key.Key.Name },
            context.Cancellation).ConfigureAwait(false);
        var newestFirst = updates
            .Where(u => Views.JobKeyText(Views.Child(Views.Child(u, "key"), "job")) is not { } job || job == key.Key.Canonical())
            .OrderByDescending(u => Views.String(u, "createdAt") ?? string.Empty, StringComparer.Ordinal)
            .ToList();
        var chosen = newestFirst.FirstOrDefault(u => JobUpdateStates.IsActive(Views.UpdateStatus(u)))
            ?? (newestIfNoneActive ? newestFirst.FirstOrDefault() : null);
        if (chosen is not null && Views.UpdateId(chosen) is { } id)
        {
            return id;
        }

        throw new ClientException(
            ExitCodes.InvalidParameter,
            newestIfNoneActive ? $"job {key} has no updates" : $"job {key} has no active update; give the UPDATE_ID (see aurora update list {key})");
    }

    private static string? StatusName(JsonObject? update) => Views.EnumName(Views.String(update, "status"), "JOB_UPDATE_STATUS_");

    private static string UpdateLink(Cluster cluster, JobKeyArgument key, string id) => $"{AuroraCli.JobLink(cluster, key)}/update/{id}";

    private static string? InstancesText(JsonArray? ranges)
    {
        if (ranges is null)
        {
            return null;
        }

        var instances = new List<int>();
        foreach (var range in ranges.OfType<JsonObject>())
        {
            // Proto JSON leaves out zeros, so a missing bound is 0.
            var first = Views.Long(range, "first") ?? 0;
            var last = Views.Long(range, "last") ?? 0;
            if (last >= first && last - first < InstanceRanges.MaxInstance)
            {
                for (var i = first; i <= last; i++)
                {
                    instances.Add((int)i);
                }
            }
        }

        return instances.Count == 0 ? null : InstanceRanges.Format(instances);
    }
}
