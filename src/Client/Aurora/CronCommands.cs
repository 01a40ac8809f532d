using Aurora.Client;
using Aurora.Client.Api;
using Aurora.Client.Commands;
using Aurora.CommandLine;

namespace Aurora.Cli;

/// <summary><c>aurora cron ...</c>.</summary>
internal static class CronCommands
{
    private const string Key = "CLUSTER/ROLE/ENV/NAME";

    public static Noun Noun { get; } = new("cron", "schedule and control cron jobs", [
        new Verb("schedule", $"{Key} CONFIG", "create or replace a cron job from the configuration file", 2, 2, [], ScheduleAsync,
            "The job must have a cron_schedule; other jobs are created with 'aurora job create'.\n"
            + "example: aurora cron schedule devcluster/www-data/prod/backup backup.json"),
        new Verb("deschedule", Key, "remove a cron job (its running tasks keep running)", 1, 1, [], DescheduleAsync),
        new Verb("start", Key, "run a cron job once now", 1, 1, [], StartAsync),
        new Verb("show", Key, "show a cron job's schedule and next run", 1, 1, [AuroraCli.Json], ShowAsync,
            "--json prints the scheduler's view: {\"job\", \"cronSchedule\", \"collisionPolicy\", \"nextRun\", \"config\"}."),
    ]);

    private static async Task<int> ScheduleAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.Parse(arguments.Positionals[0]);
        var path = arguments.Positionals[1];
        var job = JobFiles.Load(key, path);
        if (!JobFiles.IsCron(job.Config))
        {
            throw new ClientException(
                ExitCodes.InvalidCommand,
                $"job {key} in {path} has no cron_schedule: it is not a cron job; use aurora job create {key} {path}");
        }

        var result = await context.Client(key.Cluster).ScheduleCronJobAsync(job.Config, context.Cancellation).ConfigureAwait(false);
        context.Output.Done($"Cron job {key} scheduled ({job.Config.CronSchedule})", result);
        return ExitCodes.Ok;
    }

    private static async Task<int> DescheduleAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.Parse(arguments.Positionals[0]);
        var result = await context.Client(key.Cluster).DescheduleCronJobAsync(key.Key, context.Cancellation).ConfigureAwait(false);
        context.Output.Done($"Cron job {key} descheduled", result);
        return ExitCodes.Ok;
    }

    private static async Task<int> StartAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.Parse(arguments.Positionals[0]);
        var result = await context.Client(key.Cluster).StartCronJobAsync(key.Key, context.Cancellation).ConfigureAwait(false);
        context.Output.Done($"Cron job {key} started", result);
        return ExitCodes.Ok;
    }

    private static async Task<int> ShowAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.Parse(arguments.Positionals[0]);
        var view = await context.Client(key.Cluster).GetCronJobAsync(key.Key, context.Cancellation).ConfigureAwait(false);
        if (arguments.GetSwitch("json"))
        {
            context.Output.Json(view);
            return ExitCodes.Ok;
        }

        var instances = Views.Long(Views.Child(view, "config"), "instanceCount");
        context.Output.Properties(
        [
            ("Job", key.ToString()),
            ("Schedule", Views.String(view, "cronSchedule")),
            ("Collision policy", Views.EnumName(Views.String(view, "collisionPolicy"), "CRON_COLLISION_POLICY_")),
            ("Next run", Views.Time(view, "nextRun")),
            ("Instances", instances?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ]);
        return ExitCodes.Ok;
    }
}
