using System.Globalization;
using Aurora.Client;
using Aurora.Client.Api;
using Aurora.Client.Commands;
using Aurora.CommandLine;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Admin;

/// <summary>Backups, recovery from a backup, and snapshots.</summary>
internal static class RecoveryVerbs
{
    public static IReadOnlyList<Verb> All { get; } =
    [
        new Verb("scheduler_backup_now", "CLUSTER", "write a backup now; prints its id", 1, 1, [], BackupNowAsync),
        new Verb("scheduler_list_backups", "CLUSTER", "print the backup ids, one per line, newest last", 1, 1, [], ListBackupsAsync),
        new Verb("scheduler_stage_recovery", "CLUSTER BACKUP_ID", "load a backup into the recovery area", 2, 2, [], StageAsync),
        new Verb("scheduler_print_recovery_tasks", "CLUSTER", "print the active tasks of the staged backup", 1, 1,
            [new FlagSpec("states", "tasks in these states instead of the active ones", "STATE[,STATE...]"), AdminCli.Json],
            PrintTasksAsync),
        new Verb("scheduler_delete_recovery_tasks", "CLUSTER", "delete tasks from the staged backup", 1, 1,
            [
                new FlagSpec("jobs", "tasks of these jobs", "ROLE/ENV/NAME[,...]"),
                new FlagSpec("task_ids", "tasks with these ids", "ID[,ID...]"),
                new FlagSpec("states", "tasks in these states", "STATE[,STATE...]"),
            ],
            DeleteTasksAsync,
            "Deletes every staged task that matches all the filters given; with no filter, every staged task (as Aurora).\n"
            + "example: aurora_admin scheduler_delete_recovery_tasks devcluster --jobs=www-data/prod/hello --states=PENDING"),
        new Verb("scheduler_commit_recovery", "CLUSTER", "make the staged backup the cluster's state", 1, 1, [], CommitAsync),
        new Verb("scheduler_unload_recovery", "CLUSTER", "forget the staged backup", 1, 1, [], UnloadAsync),
        new Verb("scheduler_snapshot", "CLUSTER", "write a snapshot of the scheduler's state now", 1, 1, [], SnapshotAsync),
    ];

    private static async Task<int> BackupNowAsync(CommandContext context, ParsedFlags arguments)
    {
        var cluster = arguments.Positionals[0];
        var backup = await context.Output.ProgressAsync($"writing a backup of {cluster}", _ =>
            context.Client(cluster).BackupNowAsync(context.Cancellation)).ConfigureAwait(false);
        var id = Views.String(backup, "id") ?? throw new ClientException(ExitCodes.ApiError, "the scheduler answered the backup without its id");
        context.Output.Line(id);
        context.Output.Note(string.Create(
            CultureInfo.InvariantCulture,
            $"backup {id} written at position {Views.Long(backup, "position")}, {Views.Long(backup, "sizeBytes")} bytes"));
        return ExitCodes.Ok;
    }

    private static async Task<int> ListBackupsAsync(CommandContext context, ParsedFlags arguments)
    {
        var backups = await context.Client(arguments.Positionals[0]).ListBackupsAsync(context.Cancellation).ConfigureAwait(false);

        // The scheduler lists oldest first; sorting by position keeps "newest last" even if it did not.
        foreach (var backup in backups.OrderBy(b => Views.Long(b, "position") ?? 0).ThenBy(b => Views.String(b, "id"), StringComparer.Ordinal))
        {
            if (Views.String(backup, "id") is { } id)
            {
                context.Output.Line(id);
            }
        }

        if (backups.Count == 0)
        {
            context.Output.Note("no backups");
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> StageAsync(CommandContext context, ParsedFlags arguments)
    {
        var (cluster, id) = (arguments.Positionals[0], arguments.Positionals[1]);
        var result = await context.Output.ProgressAsync($"staging backup {id} of {cluster}", _ =>
            context.Client(cluster).StageRecoveryAsync(id, context.Cancellation)).ConfigureAwait(false);
        context.Output.Line(result.Message.Length > 0 ? result.Message : $"Backup {id} staged for recovery");
        return ExitCodes.Ok;
    }

    private static async Task<int> PrintTasksAsync(CommandContext context, ParsedFlags arguments)
    {
        var cluster = arguments.Positionals[0];
        var statuses = arguments.GetString("states") is { } states
            ? QueryVerb.ParseStates(states, "--states")
            : [.. TaskStatuses.All.Where(TaskStatuses.IsActive).Select(TaskStatuses.Name)];
        var tasks = await context.Client(cluster).GetRecoveryTasksAsync(new TaskQuery { Statuses = statuses }, context.Cancellation).ConfigureAwait(false);
        QueryVerb.PrintTasks(context, cluster, tasks, arguments.GetSwitch("json"));
        return ExitCodes.Ok;
    }

    private static async Task<int> DeleteTasksAsync(CommandContext context, ParsedFlags arguments)
    {
        var cluster = arguments.Positionals[0];
        List<JobKey>? jobs = null;
        if (arguments.GetString("jobs") is { } jobsText)
        {
            jobs = [];
            foreach (var text in jobsText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!JobKeys.TryParse(text, out var key, out var error))
                {
                    throw new UsageException($"--jobs: bad job key '{text}': expected role/env/name ({error})");
                }

                jobs.Add(key);
            }
        }

        var taskIds = arguments.GetString("task_ids")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var statuses = arguments.GetString("states") is { } states ? QueryVerb.ParseStates(states, "--states") : null;
        var deleted = await context.Client(cluster).DeleteRecoveryTasksAsync(jobs, taskIds, statuses, context.Cancellation).ConfigureAwait(false);
        context.Output.Line(string.Create(CultureInfo.InvariantCulture, $"Deleted {deleted} task(s) from the staged recovery"));
        return ExitCodes.Ok;
    }

    private static async Task<int> CommitAsync(CommandContext context, ParsedFlags arguments)
    {
        var cluster = arguments.Positionals[0];
        var result = await context.Output.ProgressAsync($"committing the staged recovery of {cluster}", _ =>
            context.Client(cluster).CommitRecoveryAsync(context.Cancellation)).ConfigureAwait(false);
        context.Output.Done("Staged recovery committed", result);
        return ExitCodes.Ok;
    }

    private static async Task<int> UnloadAsync(CommandContext context, ParsedFlags arguments)
    {
        var result = await context.Client(arguments.Positionals[0]).UnloadRecoveryAsync(context.Cancellation).ConfigureAwait(false);
        context.Output.Done("Staged recovery unloaded", result);
        return ExitCodes.Ok;
    }

    private static async Task<int> SnapshotAsync(CommandContext context, ParsedFlags arguments)
    {
        var cluster = arguments.Positionals[0];
        var result = await context.Output.ProgressAsync($"writing a snapshot of {cluster}", _ =>
            context.Client(cluster).SnapshotAsync(context.Cancellation)).ConfigureAwait(false);
        context.Output.Done("Snapshot written", result);
        return ExitCodes.Ok;
    }
}
