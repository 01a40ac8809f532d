using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Google.Protobuf;

namespace Aurora.Scheduler.Commands;

/// <summary>The framework id the resource manager gave this scheduler.</summary>
public sealed record SaveFrameworkId(string FrameworkId) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        if (string.IsNullOrWhiteSpace(FrameworkId))
        {
            throw CommandRejectedException.Invalid("The framework id must not be empty.");
        }

        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event { FrameworkIdSaved = new FrameworkIdSaved { FrameworkId = FrameworkId } });
        return decision.Build();
    }
}

/// <summary>Records in the log, for auditors, that a snapshot of the state at a position was written.</summary>
public sealed record RecordSnapshot(ulong Position, byte[] StateHash) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event { SnapshotCommitted = new SnapshotCommitted { Position = Position, StateHash = ByteString.CopyFrom(StateHash) } });
        return decision.Build();
    }
}

/// <summary>Aurora's commitRecovery: the whole state is replaced by a (possibly edited) backup.</summary>
public sealed record CommitRecovery(string BackupId, ulong BackupPosition, SchedulerSnapshot Recovered) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(Recovered);
        try
        {
            // Built once here so that a snapshot Apply would refuse is refused before it is logged.
            SchedulerState.FromSnapshot(Recovered);
        }
        catch (InvalidDataException e)
        {
            throw CommandRejectedException.Invalid($"Backup {BackupId} cannot be recovered: {e.Message}");
        }

        var badNames = NameProblems(Recovered).ToList();
        if (badNames.Count > 0)
        {
            // A backup from before today's identifier rules could restore jobs that can be neither addressed nor killed.
            throw CommandRejectedException.Invalid(
                $"Backup {BackupId} cannot be recovered: it holds names this scheduler refuses to create. {string.Join(" ", badNames.Take(10))}"
                + (badNames.Count > 10 ? $" (and {badNames.Count - 10} more)" : string.Empty)
                + " Delete those tasks from the staged recovery (aurora_admin scheduler_delete_recovery_tasks) and commit again.");
        }

        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event
        {
            RecoveryCommitted = new RecoveryCommitted { BackupId = BackupId, BackupPosition = BackupPosition, State = Recovered.ToByteString() },
        });
        return decision.Build();
    }

    /// <summary>What in <paramref name="snapshot"/> breaks the naming rules new jobs obey: the keys of active tasks and cron jobs, and active task ids.</summary>
    /// <remarks>Finished tasks are history: they are kept as they are, and need no name an agent or a URL must use.</remarks>
    private static IEnumerable<string> NameProblems(SchedulerSnapshot snapshot)
    {
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var task in snapshot.Tasks.Where(t => !TaskStatuses.IsTerminal(t.Status)))
        {
            var job = task.ConfigIndex < snapshot.TaskConfigs.Count ? snapshot.TaskConfigs[(int)task.ConfigIndex].Job : null;
            var problem = JobKeys.Problem(job) ?? (task.TaskId.Length > TaskIds.MaxLength ? $"Task id {JobKeys.Shorten(task.TaskId)} is longer than {TaskIds.MaxLength} characters." : null);
            if (problem is not null && reported.Add(job is null ? task.TaskId : job.Canonical()))
            {
                yield return $"Active task {JobKeys.Shorten(task.TaskId)}: {problem}";
            }
        }

        foreach (var cron in snapshot.CronJobs)
        {
            if (JobKeys.Problem(cron.Config?.Key) is { } problem)
            {
                yield return $"Cron job: {problem}";
            }
        }
    }
}
