using System.Globalization;
using System.Text.Json.Nodes;
using Aurora.Client;
using Aurora.Client.Api;
using Aurora.Client.Commands;
using Aurora.CommandLine;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Cli;

/// <summary>
/// <c>aurora job restart</c>: Aurora's client-side rolling restart (its Restarter with an
/// InstanceWatcher). The instances go in batches of <c>--batch-size</c>, in instance order; each
/// batch is one <c>restartShards</c> request, after which the scheduler kills the tasks and
/// reschedules them as new tasks, and the next batch waits until every instance of this one has a new
/// task that has been RUNNING for <c>--watch-secs</c>.
/// </summary>
/// <remarks>
/// Failures are counted per instance: a new task that ends (the scheduler reschedules it by itself)
/// is one failure. An instance with more than <c>--max-per-instance-failures</c> failures has failed
/// and is no longer waited for; more than <c>--max-total-failures</c> failed instances, or an
/// instance that is not RUNNING within <c>--restart-threshold</c> of its restart (or of its latest
/// failure), stops the restart with <see cref="ExitCodes.CommandFailure"/> before the next batch.
/// "RUNNING for watch-secs" is measured from the task's <c>statusTime</c> (when it became RUNNING)
/// to the client's clock, <see cref="ClientEnvironment.Time"/>.
/// </remarks>
internal static class RollingRestart
{
    public static IReadOnlyList<FlagSpec> Flags { get; } =
    [
        new("batch-size", "how many instances are restarted at a time", "N", "1"),
        new("watch-secs", "how long a restarted instance must stay RUNNING before it counts as restarted", "SECS", "45"),
        new("max-per-instance-failures", "how many times the new task of one instance may fail before the instance has failed", "N", "0"),
        new("max-total-failures", "how many instances may fail before the restart stops", "N", "0"),
        new("restart-threshold", "how long a restarted instance may take to be RUNNING again", "SECS", "60"),
    ];

    public const string Details =
        "Restarts the instances (all active instances of the job when none are listed) in batches of --batch-size,\n"
        + "in instance order. The scheduler kills each batch's tasks and reschedules them as new tasks; the next batch\n"
        + "starts once every instance of this one has a new task that has been RUNNING for --watch-secs. A new task that\n"
        + "ends is a failure of its instance (the scheduler starts another); an instance failing more than\n"
        + "--max-per-instance-failures times has failed. More than --max-total-failures failed instances, or an instance\n"
        + "not RUNNING within --restart-threshold seconds, stops the restart with exit 4, naming the instances.\n"
        + "An instance whose task is still PENDING has nothing to restart: it only has to come up.\n"
        + "example: aurora job restart devcluster/www-data/prod/hello/0-3 --batch-size=2 --watch-secs=30";

    public static async Task<int> RunAsync(CommandContext context, ParsedFlags arguments)
    {
        var key = JobKeyArgument.ParseWithInstances(arguments.Positionals[0]);
        var settings = RestartSettings.From(arguments);
        var client = context.Client(key.Cluster);
        var instances = await InstancesToRestartAsync(context, client, key).ConfigureAwait(false);
        if (instances.Count == 0)
        {
            context.Output.Note($"job {key.Text} has no active instances: nothing to restart");
            return ExitCodes.Ok;
        }

        var batches = instances.Chunk(settings.BatchSize).ToList();
        var failed = new List<InstanceWatch>();
        for (var index = 0; index < batches.Count; index++)
        {
            var batch = new Batch(index + 1, batches.Count, batches[index]);
            var notYet = batches.Skip(index + 1).SelectMany(b => b).ToList();
            List<InstanceWatch> watches;
            try
            {
                watches = await RestartBatchAsync(context, client, key, batch, settings, failed.Count).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (context.Cancellation.IsCancellationRequested)
            {
                context.Output.Note($"restart of {key.Text} interrupted during batch {batch} (instances {InstanceRanges.Format(batch.Instances)}){NotRestarted(notYet)}");
                throw;
            }

            var timedOut = watches.Where(w => w.State == InstanceState.TimedOut).ToList();
            if (timedOut.Count > 0)
            {
                throw new ClientException(
                    ExitCodes.CommandFailure,
                    $"restart of {key.Text} stopped: {Describe(timedOut)} not RUNNING within --restart-threshold={settings.Threshold.TotalSeconds:0}s of the restart"
                    + NotRestarted(notYet));
            }

            failed.AddRange(watches.Where(w => w.State == InstanceState.Failed));
            if (failed.Count > settings.MaxTotalFailures)
            {
                throw new ClientException(
                    ExitCodes.CommandFailure,
                    $"restart of {key.Text} stopped: {failed.Count} instance(s) failed, more than --max-total-failures={settings.MaxTotalFailures} allows: "
                    + $"{Describe(failed)} (more than --max-per-instance-failures={settings.MaxPerInstanceFailures} failure(s) each)"
                    + NotRestarted(notYet));
            }

            var healthy = watches.Where(w => w.State == InstanceState.Healthy).Select(w => w.Instance).ToList();
            var batchFailed = watches.Where(w => w.State == InstanceState.Failed).ToList();
            context.Output.Line(
                $"Batch {batch}: restarted instance(s) {(healthy.Count == 0 ? "none" : InstanceRanges.Format(healthy))} of {key.Text}"
                + (batchFailed.Count == 0 ? string.Empty : $"; failed: {Describe(batchFailed)}"));
        }

        if (failed.Count > 0)
        {
            context.Output.Warning(
                $"{Describe(failed)} failed; the restart went on as --max-total-failures={settings.MaxTotalFailures} allows {settings.MaxTotalFailures} failed instance(s)");
        }

        context.Output.Line($"Job {key.Text} restarted");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// The instances listed, each of which must have an active task (the scheduler refuses to restart
    /// others), or every active instance; ascending.
    /// </summary>
    private static async Task<IReadOnlyList<int>> InstancesToRestartAsync(CommandContext context, SchedulerClient client, JobKeyArgument key)
    {
        var tasks = await client.GetTasksAsync(
            new TaskQuery { Role = key.Key.Role, Environment = key.Key.Environment, Name = key.Key.Name, Instances = key.Instances },
            context.Cancellation).ConfigureAwait(false);
        if (tasks.Count == 0 && key.Instances is null)
        {
            // NOT_FOUND (exit 6) for a job that does not exist, so that a typo is not "nothing to restart".
            await client.GetJobAsync(key.Key, context.Cancellation).ConfigureAwait(false);
        }

        var active = new SortedSet<int>(tasks
            .Where(t => TaskStatuses.IsActive(Views.TaskStatus(t)))
            .Select(t => Views.Long(t, "instance"))
            .OfType<long>()
            .Select(i => (int)i));
        if (key.Instances is null)
        {
            return [.. active];
        }

        var missing = key.Instances.Where(i => !active.Contains(i)).ToList();
        if (missing.Count > 0)
        {
            throw new ClientException(
                ExitCodes.InvalidParameter,
                $"job {key.Text} has no active task for instance(s) {InstanceRanges.Format(missing)}, so they cannot be restarted"
                + (active.Count == 0 ? " (it has no active instances)" : $" (its active instances are {InstanceRanges.Format(active)})"));
        }

        return key.Instances;
    }

    /// <summary>
    /// Restarts one batch and watches it until every instance is restarted or has failed, one times
    /// out, or too many instances have failed (<paramref name="failedBefore"/> in earlier batches).
    /// </summary>
    private static async Task<List<InstanceWatch>> RestartBatchAsync(
        CommandContext context,
        SchedulerClient client,
        JobKeyArgument key,
        Batch batch,
        RestartSettings settings,
        int failedBefore)
    {
        var query = new TaskQuery { Role = key.Key.Role, Environment = key.Key.Environment, Name = key.Key.Name, Instances = batch.Instances };
        var before = await client.GetTasksAsync(query, context.Cancellation).ConfigureAwait(false);
        var restartedAt = context.Environment.Time.GetUtcNow();
        var watches = batch.Instances.Select(i => new InstanceWatch(i, OfInstance(before, i), restartedAt)).ToList();
        var gone = watches.Where(w => !w.HadActiveTask).Select(w => w.Instance).ToList();
        if (gone.Count > 0)
        {
            // Killed since the restart began; restarting the rest of the batch would hide that.
            throw new ClientException(
                ExitCodes.CommandFailure,
                $"restart of {key.Text} stopped before batch {batch}: instance(s) {InstanceRanges.Format(gone)} no longer have an active task");
        }

        await client.RestartAsync(key.Key, batch.Instances, context.Cancellation).ConfigureAwait(false);
        var what = $"restarting {key.Text}, batch {batch} (instance(s) {InstanceRanges.Format(batch.Instances)})";
        return await context.Output.ProgressAsync(what, async report =>
        {
            while (true)
            {
                var tasks = await client.GetTasksAsync(query, context.Cancellation).ConfigureAwait(false);
                var now = context.Environment.Time.GetUtcNow();
                foreach (var watch in watches)
                {
                    watch.Observe(OfInstance(tasks, watch.Instance), now, settings);
                }

                report($"{what}: {string.Join(", ", watches.Select(w => $"{w.Instance} {w.Status}"))}");
                var failedNow = failedBefore + watches.Count(w => w.State == InstanceState.Failed);
                if (watches.All(w => w.State is InstanceState.Healthy or InstanceState.Failed)
                    || watches.Any(w => w.State == InstanceState.TimedOut)
                    || failedNow > settings.MaxTotalFailures)
                {
                    return watches;
                }

                await context.PauseAsync().ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
    }

    private static List<JsonObject> OfInstance(IReadOnlyList<JsonObject> tasks, int instance) =>
        [.. tasks.Where(t => Views.Long(t, "instance") == instance)];

    private static string Describe(IEnumerable<InstanceWatch> watches) =>
        string.Join(", ", watches.OrderBy(w => w.Instance).Select(w => $"instance {w.Instance} ({w.Status})"));

    private static string NotRestarted(IReadOnlyList<int> instances) =>
        instances.Count == 0 ? string.Empty : $"; instance(s) {InstanceRanges.Format(instances)} were not restarted";

    private sealed record Batch(int Number, int Count, IReadOnlyList<int> Instances)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Number}/{Count}");
    }

    private sealed record RestartSettings(int BatchSize, TimeSpan Watch, int MaxPerInstanceFailures, int MaxTotalFailures, TimeSpan Threshold)
    {
        public static RestartSettings From(ParsedFlags arguments) => new(
            Number(arguments, "batch-size", 1, minimum: 1),
            TimeSpan.FromSeconds(Number(arguments, "watch-secs", 45, minimum: 0)),
            Number(arguments, "max-per-instance-failures", 0, minimum: 0),
            Number(arguments, "max-total-failures", 0, minimum: 0),
            TimeSpan.FromSeconds(Number(arguments, "restart-threshold", 60, minimum: 1)));

        private static int Number(ParsedFlags arguments, string flag, int defaultValue, int minimum)
        {
            // GetUInt64 already names the flag for a value that is not a whole number (or is negative).
            var value = arguments.GetUInt64(flag);
            if (value is null)
            {
                return defaultValue;
            }

            return value >= (ulong)minimum && value <= int.MaxValue
                ? (int)value.Value
                : throw new UsageException($"flag --{flag} must be a whole number from {minimum} to {int.MaxValue}, got '{value}'");
        }
    }

    private enum InstanceState
    {
        Waiting,
        Healthy,
        Failed,
        TimedOut,
    }

    /// <summary>One instance of a batch, from its restart until it is restarted, has failed or has timed out.</summary>
    private sealed class InstanceWatch
    {
        // The tasks the restart replaces (and the instance's older, ended ones): none of them counts as
        // the restarted task, nor as a failure.
        private readonly HashSet<string> _before = new(StringComparer.Ordinal);
        private readonly HashSet<string> _failedTasks = new(StringComparer.Ordinal);
        private readonly Dictionary<string, DateTimeOffset> _firstSeenRunning = new(StringComparer.Ordinal);
        private DateTimeOffset _attemptStart;

        public InstanceWatch(int instance, IReadOnlyList<JsonObject> tasksBefore, DateTimeOffset restartedAt)
        {
            Instance = instance;
            _attemptStart = restartedAt;
            foreach (var task in tasksBefore)
            {
                var status = Views.TaskStatus(task);
                HadActiveTask |= TaskStatuses.IsActive(status);

                // The scheduler leaves a task that is not placed yet alone (no RESTARTING from PENDING
                // or THROTTLED), so that task itself coming up is the instance's restart.
                if (Views.String(task, "taskId") is { } id && status is not (ScheduleStatus.Pending or ScheduleStatus.Throttled))
                {
                    _before.Add(id);
                }
            }
        }

        public int Instance { get; }

        public bool HadActiveTask { get; }

        public InstanceState State { get; private set; } = InstanceState.Waiting;

        /// <summary>What the instance is doing, for progress and messages; changes only with its state.</summary>
        public string Status { get; private set; } = "restarting";

        public int Failures => _failedTasks.Count;

        public void Observe(IReadOnlyList<JsonObject> tasks, DateTimeOffset now, RestartSettings settings)
        {
            if (State != InstanceState.Waiting)
            {
                return;
            }

            var fresh = tasks.Where(t => Views.String(t, "taskId") is { } id && !_before.Contains(id)).ToList();
            foreach (var task in fresh.Where(t => TaskStatuses.IsTerminal(Views.TaskStatus(t))))
            {
                if (_failedTasks.Add(Views.String(task, "taskId")!))
                {
                    // The scheduler reschedules it; the next task gets the full threshold to come up.
                    _attemptStart = now;
                }
            }

            if (Failures > settings.MaxPerInstanceFailures)
            {
                State = InstanceState.Failed;
                Status = $"failed {Failures} time(s)";
                return;
            }

            var failures = Failures == 0 ? string.Empty : $", {Failures} failure(s)";
            var current = fresh.FirstOrDefault(t => TaskStatuses.IsActive(Views.TaskStatus(t)));
            var status = current is null ? (ScheduleStatus?)null : Views.TaskStatus(current);
            if (current is not null && status == ScheduleStatus.Running)
            {
                var id = Views.String(current, "taskId")!;
                var since = RunningSince(current) ?? FirstSeenRunning(id, now);
                if (now - since >= settings.Watch)
                {
                    State = InstanceState.Healthy;
                    Status = $"RUNNING{failures}";
                    return;
                }

                Status = $"RUNNING, watching for {settings.Watch.TotalSeconds:0}s{failures}";
                return;
            }

            var what = status is { } known ? $"{TaskStatuses.Name(known)}{failures}" : $"waiting for its new task{failures}";
            if (now - _attemptStart > settings.Threshold)
            {
                State = InstanceState.TimedOut;
                Status = status is { } last ? $"still {TaskStatuses.Name(last)}{failures}" : $"no new task{failures}";
                return;
            }

            Status = what;
        }

        private DateTimeOffset FirstSeenRunning(string taskId, DateTimeOffset now)
        {
            if (!_firstSeenRunning.TryGetValue(taskId, out var seen))
            {
                seen = now;
                _firstSeenRunning[taskId] = seen;
            }

            return seen;
        }

        // A RUNNING task's statusTime is when it became RUNNING: its latest event.
        private static DateTimeOffset? RunningSince(JsonObject task) =>
            Views.String(task, "statusTime") is { } text
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
                ? time
                : null;
    }
}
