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

        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event
        {
            RecoveryCommitted = new RecoveryCommitted { BackupId = BackupId, BackupPosition = BackupPosition, State = Recovered.ToByteString() },
        });
        return decision.Build();
    }
}
