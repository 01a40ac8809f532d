using System.Globalization;
using System.Text.Json.Nodes;
using Aurora.Client;
using Aurora.Client.Api;
using Aurora.Client.Commands;
using Aurora.CommandLine;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Admin;

/// <summary><c>query</c>: tasks by role, job name, instances and statuses, as Aurora's admin query.</summary>
internal static class QueryVerb
{
    public static IReadOnlyList<Verb> All { get; } =
    [
        new Verb("query", "CLUSTER [ROLE [JOB]]", "list tasks by role and job name (across environments)", 1, 3,
            [
                new FlagSpec("shards", "only these instances", "0,1,5-7"),
                new FlagSpec("states", "only tasks in these states", "STATE[,STATE...]", "RUNNING"),
                new FlagSpec("force", "allow a query with neither ROLE nor JOB (every task of the cluster)"),
                AdminCli.Json,
            ],
            QueryAsync,
            "ROLE or JOB may be * (or empty) for any. Without either, --force is needed, as the query covers the cluster.\n"
            + "--json prints {\"cluster\", \"tasks\": [...]}, each task with at least instance, taskId, status and host.\n"
            + "example: aurora_admin query devcluster www-data hello --states=RUNNING,PENDING --shards=0-3"),
    ];

    private static async Task<int> QueryAsync(CommandContext context, ParsedFlags arguments)
    {
        var cluster = arguments.Positionals[0];
        var role = Part(arguments.Positionals, 1, "ROLE");
        var job = Part(arguments.Positionals, 2, "JOB");
        if (role is null && job is null && !arguments.GetSwitch("force"))
        {
            throw new UsageException("query needs a ROLE or a JOB, or --force to list every task of the cluster");
        }

        var statuses = ParseStates(arguments.GetString("states") ?? "RUNNING", "--states");
        var instances = arguments.GetString("shards") is { } shards ? InstanceRanges.Parse(shards, "--shards") : null;
        var tasks = await context.Client(cluster).GetTasksAsync(
            new TaskQuery { Role = role, Name = job, Statuses = statuses, Instances = instances },
            context.Cancellation).ConfigureAwait(false);
        PrintTasks(context, cluster, tasks, arguments.GetSwitch("json"));
        return ExitCodes.Ok;
    }

    private static string? Part(IReadOnlyList<string> positionals, int index, string what)
    {
        if (index >= positionals.Count || positionals[index] is "" or "*")
        {
            return null;
        }

        return JobKeys.IsGoodIdentifier(positionals[index])
            ? positionals[index]
            : throw new UsageException($"bad {what} '{positionals[index]}': it must be {JobKeys.IdentifierRule}, or be * for any");
    }

    /// <summary>Task states, comma-separated, in Aurora's spelling; unknown ones are usage errors listing the valid ones.</summary>
    internal static IReadOnlyList<string> ParseStates(string text, string flag)
    {
        var states = new List<string>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!ProtoNames.TryParse<ScheduleStatus>(part, out var status) || status == ScheduleStatus.Unspecified)
            {
                throw new UsageException($"{flag}: unknown task state '{part}'; valid states are {string.Join(", ", TaskStatuses.All.Select(TaskStatuses.Name))}");
            }

            if (!states.Contains(TaskStatuses.Name(status)))
            {
                states.Add(TaskStatuses.Name(status));
            }
        }

        return states.Count > 0 ? states : throw new UsageException($"{flag} needs at least one task state");
    }

    /// <summary>Tasks as a table (job, instance, status, host, task id) or as <c>{"cluster", "tasks"}</c> JSON.</summary>
    internal static void PrintTasks(CommandContext context, string cluster, IReadOnlyList<JsonObject> tasks, bool json)
    {
        var ordered = tasks
            .OrderBy(t => Views.JobKeyText(Views.Child(t, "job")), StringComparer.Ordinal)
            .ThenBy(t => Views.Long(t, "instance") ?? long.MaxValue)
            .ToList();
        if (json)
        {
            var items = ordered.Select(t =>
            {
                var copy = (JsonObject)t.DeepClone();
                foreach (var field in new[] { "instance", "taskId", "status", "host" })
                {
                    if (!copy.ContainsKey(field))
                    {
                        copy[field] = null;
                    }
                }

                return (JsonNode)copy;
            });
            context.Output.Json(new JsonObject { ["cluster"] = cluster, ["tasks"] = new JsonArray([.. items]) });
            return;
        }

        if (ordered.Count == 0)
        {
            context.Output.Note("no tasks match");
            return;
        }

        context.Output.Table(
            ["JOB", "INSTANCE", "STATUS", "HOST", "TASK ID"],
            ordered.Select(t => (IReadOnlyList<string?>)
            [
                Views.JobKeyText(Views.Child(t, "job")),
                Views.Long(t, "instance")?.ToString(CultureInfo.InvariantCulture),
                Views.String(t, "status"),
                Views.String(t, "host"),
                Views.String(t, "taskId"),
            ]));
    }
}
