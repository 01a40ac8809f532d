using System.Text.Json.Nodes;
using Aurora.Client;
using Aurora.Client.Api;
using Aurora.Client.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Cli;

/// <summary>
/// <c>job create --wait-until</c>: asks the scheduler for the job's tasks every poll interval until
/// each instance is RUNNING or has ended (<see cref="ScheduleStatus.Running"/>), or has ended
/// (<see cref="ScheduleStatus.Finished"/>), as Aurora's JobMonitor.
/// </summary>
internal static class TaskWaiter
{
    public static async Task<int> WaitAsync(CommandContext context, SchedulerClient client, JobKeyArgument key, int instanceCount, ScheduleStatus target)
    {
        var final = await context.Output.ProgressAsync($"waiting for {key} to be {TaskStatuses.Name(target)}", async report =>
        {
            while (true)
            {
                var tasks = await client.GetTasksAsync(
                    new TaskQuery { Role = key.Key.Role, Environment = key.Key.Environment, Name = key.Key.Name },
                    context.Cancellation).ConfigureAwait(false);
                var current = Current(tasks, instanceCount);
                var done = current.Count(s => s is { } status && (TaskStatuses.IsTerminal(status) || (target == ScheduleStatus.Running && status == ScheduleStatus.Running)));
                report($"waiting for {key} to be {TaskStatuses.Name(target)}: {done}/{instanceCount} instance(s) there; {Summary(current)}");
                if (done == instanceCount)
                {
                    return current;
                }

                await context.PauseAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);

        var bad = final
            .Select((status, instance) => (status, instance))
            .Where(p => p.status is not (ScheduleStatus.Finished or ScheduleStatus.Running) || (target == ScheduleStatus.Finished && p.status != ScheduleStatus.Finished))
            .ToList();
        if (bad.Count == 0)
        {
            context.Output.Line($"Job {key}: every instance is {TaskStatuses.Name(target)}");
            return ExitCodes.Ok;
        }

        throw new ClientException(
            ExitCodes.CommandFailure,
            $"job {key}: instance(s) ended without reaching {TaskStatuses.Name(target)}: {string.Join(", ", bad.Select(p => $"{p.instance} {TaskStatuses.Name(p.status ?? ScheduleStatus.Unspecified)}"))}");
    }

    /// <summary>Each instance's current status: its active task's, else its latest task's; null when it has none yet.</summary>
    internal static List<ScheduleStatus?> Current(IReadOnlyList<JsonObject> tasks, int instanceCount)
    {
        var current = new List<ScheduleStatus?>();
        for (var instance = 0; instance < instanceCount; instance++)
        {
            var own = tasks.Where(t => Views.Long(t, "instance") == instance).ToList();
            var chosen = own.FirstOrDefault(t => TaskStatuses.IsActive(Views.TaskStatus(t)))
                ?? own.OrderByDescending(t => Views.String(t, "statusTime") ?? string.Empty, StringComparer.Ordinal).FirstOrDefault();
            current.Add(chosen is null ? null : Views.TaskStatus(chosen));
        }

        return current;
    }

    private static string Summary(List<ScheduleStatus?> statuses) =>
        string.Join(", ", statuses
            .GroupBy(s => s is { } status ? TaskStatuses.Name(status) : "NO TASK")
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Count()} {g.Key}"));
}
