using Aurora.Scheduler.Protos;
using Google.Protobuf.Reflection;

namespace Aurora.Scheduler.Tests.Golden;

/// <summary>
/// The numbers on the wire: enum values and the event kinds' field numbers. Logs and snapshots
/// store these numbers, so renumbering (or reusing) one silently changes what old entries mean;
/// these lists change only together with a format migration.
/// </summary>
public class NumberPinTests
{
    [Fact]
    public void ScheduleStatus_numbers_are_pinned() => AssertEnum(
        ModelReflection.Descriptor,
        "ScheduleStatus",
        ("SCHEDULE_STATUS_UNSPECIFIED", 0), ("INIT", 1), ("PENDING", 2), ("THROTTLED", 3), ("ASSIGNED", 4), ("STARTING", 5),
        ("RUNNING", 6), ("FINISHED", 7), ("FAILED", 8), ("KILLING", 9), ("KILLED", 10), ("LOST", 11), ("RESTARTING", 12),
        ("DRAINING", 13), ("PREEMPTING", 14), ("PARTITIONED", 15));

    [Fact]
    public void MaintenanceMode_numbers_are_pinned() => AssertEnum(
        ModelReflection.Descriptor,
        "MaintenanceMode",
        ("MAINTENANCE_MODE_UNSPECIFIED", 0), ("MAINTENANCE_MODE_NONE", 1), ("MAINTENANCE_MODE_SCHEDULED", 2),
        ("MAINTENANCE_MODE_DRAINING", 3), ("MAINTENANCE_MODE_DRAINED", 4));

    [Fact]
    public void JobUpdateStatus_numbers_are_pinned() => AssertEnum(
        ModelReflection.Descriptor,
        "JobUpdateStatus",
        ("JOB_UPDATE_STATUS_UNSPECIFIED", 0), ("JOB_UPDATE_STATUS_ROLLING_FORWARD", 1), ("JOB_UPDATE_STATUS_ROLLING_BACK", 2),
        ("JOB_UPDATE_STATUS_ROLL_FORWARD_PAUSED", 3), ("JOB_UPDATE_STATUS_ROLL_BACK_PAUSED", 4), ("JOB_UPDATE_STATUS_ROLLED_FORWARD", 5),
        ("JOB_UPDATE_STATUS_ROLLED_BACK", 6), ("JOB_UPDATE_STATUS_ABORTED", 7), ("JOB_UPDATE_STATUS_ERROR", 8),
        ("JOB_UPDATE_STATUS_FAILED", 9), ("JOB_UPDATE_STATUS_ROLL_FORWARD_AWAITING_PULSE", 10),
        ("JOB_UPDATE_STATUS_ROLL_BACK_AWAITING_PULSE", 11));

    [Fact]
    public void JobUpdateAction_numbers_are_pinned() => AssertEnum(
        ModelReflection.Descriptor,
        "JobUpdateAction",
        ("JOB_UPDATE_ACTION_UNSPECIFIED", 0), ("JOB_UPDATE_ACTION_INSTANCE_UPDATED", 1), ("JOB_UPDATE_ACTION_INSTANCE_ROLLED_BACK", 2),
        ("JOB_UPDATE_ACTION_INSTANCE_UPDATING", 3), ("JOB_UPDATE_ACTION_INSTANCE_ROLLING_BACK", 4),
        ("JOB_UPDATE_ACTION_INSTANCE_UPDATE_FAILED", 5), ("JOB_UPDATE_ACTION_INSTANCE_ROLLBACK_FAILED", 6));

    [Fact]
    public void CronCollisionPolicy_numbers_are_pinned() => AssertEnum(
        ModelReflection.Descriptor,
        "CronCollisionPolicy",
        ("CRON_COLLISION_POLICY_KILL_EXISTING", 0), ("CRON_COLLISION_POLICY_CANCEL_NEW", 1), ("CRON_COLLISION_POLICY_RUN_OVERLAP", 2));

    [Fact]
    public void CronTriggerOutcome_numbers_are_pinned() => AssertEnum(
        EventsReflection.Descriptor,
        "CronTriggerOutcome",
        ("CRON_TRIGGER_OUTCOME_UNSPECIFIED", 0), ("CRON_TRIGGER_OUTCOME_LAUNCHED", 1), ("CRON_TRIGGER_OUTCOME_KILLING_EXISTING", 2),
        ("CRON_TRIGGER_OUTCOME_SKIPPED", 3), ("CRON_TRIGGER_OUTCOME_DEFERRED_LAUNCHED", 4), ("CRON_TRIGGER_OUTCOME_IGNORED_LAUNCH_PENDING", 5));

    [Fact]
    public void Event_kind_field_numbers_are_pinned()
    {
        (string, int)[] expected =
        [
            ("job_created", 1), ("job_config_replaced", 2), ("job_killed", 3), ("instances_added", 4), ("tasks_created", 5),
            ("task_assigned", 6), ("task_state_changed", 7), ("tasks_pruned", 8), ("quota_set", 9), ("host_attributes_saved", 10),
            ("host_maintenance_changed", 11), ("job_update_started", 12), ("job_update_state_changed", 13),
            ("job_update_instance_event", 14), ("job_updates_pruned", 15), ("cron_job_scheduled", 16), ("cron_job_descheduled", 17),
            ("cron_job_triggered", 18), ("framework_id_saved", 19), ("snapshot_committed", 20), ("recovery_committed", 21),
        ];
        var kind = Event.Descriptor.Oneofs.Single(o => o.Name == "kind");

        Assert.Equal(expected, kind.Fields.Select(f => (f.Name, f.FieldNumber)).OrderBy(f => f.FieldNumber));
        Assert.Equal(expected.Length, Event.Descriptor.Fields.InFieldNumberOrder().Count);
        Assert.Equal(1, Transaction.Descriptor.FindFieldByName("events").FieldNumber);
        Assert.Equal(1, SchedulerSnapshot.Descriptor.FindFieldByName("format_version").FieldNumber);
    }

    [Fact]
    public void Generated_enums_carry_the_pinned_numbers()
    {
        // The C# enums are what the code compares; they must agree with the descriptors above.
        Assert.Equal(6, (int)ScheduleStatus.Running);
        Assert.Equal(15, (int)ScheduleStatus.Partitioned);
        Assert.Equal(4, (int)MaintenanceMode.Drained);
        Assert.Equal(11, (int)JobUpdateStatus.RollBackAwaitingPulse);
        Assert.Equal(6, (int)JobUpdateAction.InstanceRollbackFailed);
        Assert.Equal(0, (int)CronCollisionPolicy.KillExisting);
        Assert.Equal(5, (int)CronTriggerOutcome.IgnoredLaunchPending);
    }

    private static void AssertEnum(FileDescriptor file, string name, params (string Name, int Number)[] expected)
    {
        var descriptor = file.EnumTypes.Single(e => e.Name == name);

        Assert.Equal(expected, descriptor.Values.Select(v => (v.Name, v.Number)));
        foreach (var (valueName, number) in expected)
        {
            var clr = Enum.ToObject(descriptor.ClrType, number);
            Assert.True(Enum.IsDefined(descriptor.ClrType, clr), $"{name}: no C# member numbered {number} ({valueName}).");
        }
    }
}
