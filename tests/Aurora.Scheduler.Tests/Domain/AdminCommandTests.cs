using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Tests.Domain;

/// <summary>The framework id, snapshot audit markers and staged recovery.</summary>
public class AdminCommandTests
{
    [Fact]
    public void The_framework_id_is_saved_and_an_empty_one_is_refused()
    {
        var h = new DomainHarness();

        h.Execute(new SaveFrameworkId("framework-1"));

        Assert.Equal("framework-1", h.State.FrameworkId);
        Assert.Equal("The framework id must not be empty.", h.Reject(new SaveFrameworkId(" ")).Message);
    }

    [Fact]
    public void Recording_a_snapshot_is_an_audit_fact_that_changes_no_state()
    {
        var h = new DomainHarness();
        h.CreateJobWithQuota(Configs.Job());
        var before = h.State.StateHash();

        var decision = h.Execute(new RecordSnapshot(3, before));

        Assert.Equal(before, Assert.Single(decision.Events).SnapshotCommitted.StateHash.ToByteArray());
        Assert.Equal(before, h.State.StateHash());
    }

    [Fact]
    public void Committing_a_recovery_replaces_the_whole_state_with_the_backup()
    {
        var backup = new DomainHarness();
        backup.CreateJobWithQuota(Configs.Job(instances: 2));
        var snapshot = backup.State.ToSnapshot();
        var h = new DomainHarness();
        h.CreateJobWithQuota(Configs.Job(Configs.Key(name: "later"), instances: 3));

        h.Execute(new CommitRecovery("backup-1", 7, snapshot));

        Assert.Equal(backup.State.StateHash(), h.State.StateHash());
        Assert.Equal(2, h.State.TaskCount);
        Assert.False(h.State.JobExists(Configs.Key(name: "later")));
    }

    [Fact]
    public void A_backup_from_a_newer_version_cannot_be_recovered()
    {
        var h = new DomainHarness();
        var snapshot = new SchedulerSnapshot { FormatVersion = SchedulerState.SnapshotFormatVersion + 1 };

        var rejection = h.Reject(new CommitRecovery("backup-2", 9, snapshot));

        Assert.Equal(
            $"Backup backup-2 cannot be recovered: The snapshot has format version {SchedulerState.SnapshotFormatVersion + 1}; this version reads up to {SchedulerState.SnapshotFormatVersion}. Upgrade before loading it.",
            rejection.Message);
    }

    [Fact]
    public void An_inconsistent_backup_cannot_be_recovered()
    {
        var h = new DomainHarness();
        var snapshot = new SchedulerSnapshot { FormatVersion = SchedulerState.SnapshotFormatVersion };
        snapshot.Tasks.Add(new TaskSnapshot { TaskId = "t1", ConfigIndex = 3, Status = ScheduleStatus.Pending });

        var rejection = h.Reject(new CommitRecovery("backup-3", 9, snapshot));

        Assert.Equal("Backup backup-3 cannot be recovered: Snapshot task t1 refers to configuration 3 of 0.", rejection.Message);
    }
}
