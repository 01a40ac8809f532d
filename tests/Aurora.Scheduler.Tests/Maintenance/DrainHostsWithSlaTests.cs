using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Maintenance;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using static Aurora.Scheduler.Protos.ScheduleStatus;

namespace Aurora.Scheduler.Tests.Maintenance;

/// <summary>SLA-aware drains (the maintenance controller's round): policies, the minimum instance rule, the timeout, DRAINED.</summary>
public class DrainHostsWithSlaTests
{
    private static readonly TimeSpan Duration = TimeSpan.FromMinutes(10);

    private static SlaPolicy Percentage(double percentage) =>
        new() { Percentage = new PercentageSlaPolicy { Percentage = percentage, DurationSecs = (long)Duration.TotalSeconds } };

    private static SlaPolicy Count(long count) =>
        new() { Count = new CountSlaPolicy { Count = count, DurationSecs = (long)Duration.TotalSeconds } };

    private static SlaPolicy Coordinator => new() { Coordinator = new CoordinatorSlaPolicy { CoordinatorUrl = "http://coordinator/", StatusKey = "drain" } };

    /// <summary>A running job with each instance on the host <paramref name="hostOf"/> names; tasks have run for the SLA duration.</summary>
    private static (DomainHarness H, JobKey Job) RunningJob(int instances, Func<int, string> hostOf, int minInstancesForSlaCheck = 2, SlaPolicy? taskPolicy = null, string tier = "preferred")
    {
        var h = new DomainHarness(settings: SchedulerSettings.Default with { MinRequiredInstancesForSlaCheck = minInstancesForSlaCheck });
        var config = Configs.Job(instances: instances, tier: tier);
        config.Task.SlaPolicy = taskPolicy;
        var job = h.CreateJobWithQuota(config);
        for (var i = 0; i < instances; i++)
        {
            Place(h, h.ActiveTask(job, i), hostOf(i));
        }

        h.Advance(Duration);
        return (h, job);
    }

    private static void Place(DomainHarness h, Scheduler.State.TaskRecord task, string host)
    {
        h.Execute(new AssignTask(task.TaskId, "agent-" + host, host, []));
        h.Execute(new ChangeTaskState(task.TaskId, Running));
    }

    private static void SlaDrain(DomainHarness h, string host, SlaPolicy policy, TimeSpan? timeout = null) =>
        h.Execute(new ChangeHostMaintenance([host], MaintenanceMode.Draining, new HostMaintenanceRequest
        {
            DefaultSlaPolicy = policy,
            TimeoutSecs = (long)(timeout ?? TimeSpan.FromHours(1)).TotalSeconds,
        }));

    private static int Round(DomainHarness h) => Assert.IsType<int>(h.Execute(new DrainHostsWithSla()).Value);

    private static List<Scheduler.State.TaskRecord> OnHost(DomainHarness h, string host) =>
        [.. h.State.TasksOnHost(host).OrderBy(t => t.TaskId, StringComparer.Ordinal)];

    [Fact]
    public void A_percentage_policy_lets_tasks_leave_one_at_a_time_as_replacements_have_run_for_the_duration()
    {
        // Instances 0 and 1 share h1; 75 % of 4 means one may be out at a time.
        var (h, job) = RunningJob(4, i => i < 2 ? "h1" : $"h{i}");
        SlaDrain(h, "h1", Percentage(75));

        Assert.Equal(1, Round(h));
        var draining = Assert.Single(OnHost(h, "h1"), t => t.Status == Draining);
        Assert.Equal(ChangeHostMaintenance.DrainingMessage, draining.LatestEvent.Message);
        Assert.Equal(0, Round(h));

        h.Execute(new ChangeTaskState(draining.TaskId, Killed));
        Place(h, h.ActiveTask(job, draining.InstanceId), "h9");
        Assert.Equal(0, Round(h));

        h.Advance(Duration - TimeSpan.FromSeconds(1));
        Assert.Equal(0, Round(h));

        h.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, Round(h));
        var last = Assert.Single(OnHost(h, "h1"));
        Assert.Equal(Draining, last.Status);
        Assert.Equal(MaintenanceMode.Draining, h.State.FindHost("h1")!.Mode);

        h.Execute(new ChangeTaskState(last.TaskId, Killed));
        Assert.Equal(MaintenanceMode.Drained, h.State.FindHost("h1")!.Mode);
        Assert.Equal(4, h.State.ActiveInstances(job).Count);
    }

    [Fact]
    public void A_task_count_policy_overrides_the_request_default_and_keeps_the_count_running()
    {
        var (h, job) = RunningJob(4, i => i < 2 ? "h1" : $"h{i}", taskPolicy: Count(3));
        SlaDrain(h, "h1", Percentage(1));

        Assert.Equal(1, Round(h));
        Assert.Equal(0, Round(h));

        var gone = Assert.Single(OnHost(h, "h1"), t => t.Status == Draining);
        h.Execute(new ChangeTaskState(gone.TaskId, Killed));
        Place(h, h.ActiveTask(job, gone.InstanceId), "h9");
        h.Advance(Duration);

        Assert.Equal(1, Round(h));
    }

    [Fact]
    public void A_policy_that_would_allow_no_instance_out_still_allows_one_as_in_Aurora()
    {
        var (h, _) = RunningJob(4, i => i < 2 ? "h1" : $"h{i}");
        SlaDrain(h, "h1", Percentage(95));

        Assert.Equal(1, Round(h));
        Assert.Equal(0, Round(h));
    }

    [Fact]
    public void Tasks_that_have_not_run_for_the_duration_do_not_count_towards_the_sla()
    {
        var h = new DomainHarness(settings: SchedulerSettings.Default with { MinRequiredInstancesForSlaCheck = 2 });
        var job = h.CreateJobWithQuota(Configs.Job(instances: 4));
        for (var i = 0; i < 4; i++)
        {
            Place(h, h.ActiveTask(job, i), i < 2 ? "h1" : $"h{i}");
        }

        SlaDrain(h, "h1", Percentage(50));

        Assert.Equal(0, Round(h));
        h.Advance(Duration);
        Assert.Equal(1, Round(h));
    }

    [Fact]
    public void Jobs_with_fewer_instances_than_the_minimum_for_an_sla_check_are_drained_without_one()
    {
        var (h, _) = RunningJob(3, _ => "h1", minInstancesForSlaCheck: SchedulerSettings.Default.MinRequiredInstancesForSlaCheck);
        SlaDrain(h, "h1", Percentage(99));

        Assert.Equal(3, Round(h));
        Assert.All(OnHost(h, "h1"), t => Assert.Equal(Draining, t.Status));
        Assert.Equal(0, Round(h));
    }

    [Fact]
    public void Tasks_that_are_not_production_are_drained_without_a_check()
    {
        var (h, _) = RunningJob(4, _ => "h1", tier: "preemptible");
        SlaDrain(h, "h1", Percentage(75));

        Assert.Equal(4, Round(h));
    }

    [Fact]
    public void A_coordinator_policy_is_never_satisfied_here_and_the_timeout_forces_every_task_out()
    {
        var (h, job) = RunningJob(4, i => i < 3 ? "h1" : "h2");
        SlaDrain(h, "h1", Coordinator, timeout: TimeSpan.FromMinutes(30));

        Assert.Equal(0, Round(h));
        h.Advance(TimeSpan.FromMinutes(30) - TimeSpan.FromSeconds(1));
        Assert.Equal(0, Round(h));

        h.Advance(TimeSpan.FromSeconds(1));
        var forced = h.Execute(new DrainHostsWithSla());

        Assert.Equal(3, forced.Value);
        Assert.Equal(3, forced.TasksToKill.Count);
        foreach (var task in OnHost(h, "h1"))
        {
            h.Execute(new ChangeTaskState(task.TaskId, Killed));
        }

        Assert.Equal(MaintenanceMode.Drained, h.State.FindHost("h1")!.Mode);
        Assert.Equal(Running, h.ActiveTask(job, 3).Status);
    }

    [Fact]
    public void Hosts_without_an_sla_drain_are_left_alone()
    {
        var (h, job) = RunningJob(3, i => $"h{i}");
        h.Execute(new ChangeHostMaintenance(["h1"], MaintenanceMode.Scheduled));
        h.Execute(new ChangeHostMaintenance(["h2"], MaintenanceMode.Draining));

        var decision = h.Execute(new DrainHostsWithSla());

        Assert.False(decision.ChangesState);
        Assert.Equal(0, decision.Value);
        Assert.Equal(Running, h.ActiveTask(job, 1).Status);
    }

    [Fact]
    public void A_partitioned_task_leaving_a_draining_host_drains_the_host_in_the_same_round()
    {
        var (h, job) = RunningJob(2, i => i == 0 ? "h1" : "h2");
        h.Execute(new ChangeTaskState(h.ActiveTask(job, 0).TaskId, Partitioned));
        SlaDrain(h, "h1", Percentage(50));

        var decision = h.Execute(new DrainHostsWithSla());

        Assert.Equal(new[] { "PARTITIONED->DRAINING", "DRAINING->LOST" }, decision.Transitions());
        Assert.Equal(MaintenanceMode.Drained, h.State.FindHost("h1")!.Mode);
    }
}
