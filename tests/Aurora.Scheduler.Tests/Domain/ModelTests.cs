using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using static Aurora.Scheduler.Protos.ScheduleStatus;

namespace Aurora.Scheduler.Tests.Domain;

/// <summary>Aurora's named status sets, job keys, instance ranges and quota arithmetic.</summary>
public class ModelTests
{
    [Fact]
    public void The_status_sets_are_Aurora_s_api_constants()
    {
        // api.thrift: ACTIVE_STATES, SLAVE_ASSIGNED_STATES, LIVE_STATES, TERMINAL_STATES.
        var statuses = Enum.GetValues<ScheduleStatus>().Where(s => s != Unspecified).ToArray();
        ScheduleStatus[] active = [Assigned, Draining, Killing, Pending, Preempting, Restarting, Running, Starting, Partitioned, Throttled];
        ScheduleStatus[] agentAssigned = [Assigned, Draining, Killing, Preempting, Restarting, Running, Partitioned, Starting];
        ScheduleStatus[] live = [Killing, Preempting, Restarting, Draining, Partitioned, Running];
        ScheduleStatus[] terminal = [Failed, Finished, Killed, Lost];

        Assert.Equal(active.Order(), statuses.Where(TaskStatuses.IsActive).Order());
        Assert.Equal(agentAssigned.Order(), statuses.Where(TaskStatuses.IsAgentAssigned).Order());
        Assert.Equal(live.Order(), statuses.Where(TaskStatuses.IsLive).Order());
        Assert.Equal(terminal.Order(), statuses.Where(TaskStatuses.IsTerminal).Order());
        Assert.Equal(statuses.Order(), TaskStatuses.All.Order());
        Assert.False(TaskStatuses.IsActive(Unspecified) || TaskStatuses.IsTerminal(Unspecified));
    }

    [Theory]
    [InlineData(Running, "RUNNING")]
    [InlineData(Partitioned, "PARTITIONED")]
    [InlineData(Unspecified, "UNSPECIFIED")]
    public void Statuses_are_named_as_Aurora_spells_them(ScheduleStatus status, string name) =>
        Assert.Equal(name, TaskStatuses.Name(status));

    [Fact]
    public void Update_statuses_and_enums_with_a_proto_prefix_are_named_as_Aurora_spells_them()
    {
        Assert.Equal("ROLL_FORWARD_AWAITING_PULSE", ProtoNames.Of(JobUpdateStatus.RollForwardAwaitingPulse));
        Assert.Equal("DRAINING", ProtoNames.Of(MaintenanceMode.Draining));
        Assert.Equal("KILL_EXISTING", ProtoNames.Of(CronCollisionPolicy.KillExisting));
        Assert.True(ProtoNames.TryParse<JobUpdateStatus>("rolled_back", out var parsed));
        Assert.Equal(JobUpdateStatus.RolledBack, parsed);
        Assert.False(ProtoNames.TryParse<JobUpdateStatus>("ROLLING_SIDEWAYS", out _));
    }

    [Fact]
    public void A_job_key_parses_from_its_canonical_form()
    {
        Assert.True(JobKeys.TryParse("www-data/prod/hello", out var key, out var error));
        Assert.Equal(Configs.Key(), key);
        Assert.Equal(string.Empty, error);
        Assert.Equal("www-data/prod/hello", key.Canonical());
    }

    [Theory]
    [InlineData("www-data/prod", "Job key 'www-data/prod' is not of the form role/environment/name.")]
    [InlineData("a/b/c/d", "Job key 'a/b/c/d' is not of the form role/environment/name.")]
    [InlineData(null, "Job key '' is not of the form role/environment/name.")]
    [InlineData("www data/prod/hello", @"Job role 'www data' is invalid: it must be 1 to 255 of the characters A-Z a-z 0-9 _ - . and not start with '.'.")]
    [InlineData("www-data/prod/", @"Job name '' is invalid: it must be 1 to 255 of the characters A-Z a-z 0-9 _ - . and not start with '.'.")]
    public void A_malformed_job_key_is_refused_with_what_is_wrong(string? text, string message)
    {
        Assert.False(JobKeys.TryParse(text, out _, out var error));
        Assert.Equal(message, error);
    }

    [Fact]
    public void Instances_become_the_fewest_closed_ranges()
    {
        var ranges = Ranges.Of([7, 0, 1, 2, 5, 2, 6, 9]);

        Assert.Equal(new[] { (0, 2), (5, 7), (9, 9) }, ranges.Select(r => (r.First, r.Last)));
        Assert.Empty(Ranges.Of([]));
    }

    [Fact]
    public void Quota_excess_names_each_resource_over_its_limit()
    {
        var limit = Configs.Quota(2, 1024, 2048);

        Assert.Null(ResourceMath.Excess(Configs.Quota(2, 1024, 2048), limit));
        Assert.Equal("CPU quota exceeded by 0.25 core(s)", ResourceMath.Excess(Configs.Quota(2.25, 0, 0), limit));
        Assert.Equal("RAM quota exceeded by 1.00 MB; disk quota exceeded by 2.00 MB", ResourceMath.Excess(Configs.Quota(0, 1025, 2050), limit));
        Assert.Equal("ResourceAggregate(numCpus:2.0, ramMb:1024, diskMb:2048)", ResourceMath.Describe(limit));
        Assert.Equal("ResourceAggregate(numCpus:0.125, ramMb:0, diskMb:0)", ResourceMath.Describe(Configs.Quota(0.125, 0, 0)));
    }
}
