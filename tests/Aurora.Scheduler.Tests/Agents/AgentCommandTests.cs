using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using static Aurora.Scheduler.Protos.ScheduleStatus;

namespace Aurora.Scheduler.Tests.Agents;

/// <summary>Agents' inventories folded into the state machine, lost agents, throttling and transient timeouts.</summary>
public class AgentCommandTests
{
    private static AgentReport Report(string agentId, string host, params (string TaskId, ScheduleStatus[] History)[] tasks) =>
        new(agentId, host, tasks.Select(t => new ReportedTask(t.TaskId, t.History.Select(s => new ReportedTransition(s, $"agent says {s}")).ToList())).ToList());

    private static (DomainHarness Harness, JobKey Job) AssignedJob(int instances = 1, bool service = true)
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(instances: instances, service: service));
        for (var i = 0; i < instances; i++)
        {
            h.Drive(job, i, Assigned);
        }

        return (h, job);
    }

    [Fact]
    public void A_reported_history_is_replayed_in_order_from_the_tasks_current_status()
    {
        var (h, job) = AssignedJob();
        var task = h.ActiveTask(job, 0);

        var decision = h.Execute(new ApplyAgentReports([Report("agent-host-0", "host-0", (task.TaskId, [Starting, Running]))]));

        Assert.Equal(["ASSIGNED->STARTING", "STARTING->RUNNING"], decision.Transitions());
        Assert.Equal(Running, task.Status);
        Assert.Equal("agent says Running", task.LatestEvent.Message);
        Assert.Equal("host-0", task.LatestEvent.Host);
    }

    [Fact]
    public void Reporting_the_same_inventory_again_changes_nothing()
    {
        var (h, job) = AssignedJob();
        var task = h.ActiveTask(job, 0);
        var report = Report("agent-host-0", "host-0", (task.TaskId, [Starting, Running]));
        h.Execute(new ApplyAgentReports([report]));

        Assert.False(ApplyAgentReports.WouldChange(h.State, report));
        Assert.False(h.Execute(new ApplyAgentReports([report])).ChangesState);
    }

    [Fact]
    public void A_task_that_failed_between_heartbeats_records_every_step_and_is_rescheduled()
    {
        var (h, job) = AssignedJob();
        var task = h.ActiveTask(job, 0);

        var decision = h.Execute(new ApplyAgentReports([Report("agent-host-0", "host-0", (task.TaskId, [Starting, Running, Failed]))]));

        Assert.Equal(["ASSIGNED->STARTING", "STARTING->RUNNING", "RUNNING->FAILED"], decision.Transitions());
        Assert.Single(decision.CreatedTasks());
        Assert.Equal(task.TaskId, h.ActiveTask(job, 0).AncestorId);
    }

    [Fact]
    public void A_running_report_for_a_task_being_killed_is_skipped_and_the_kill_confirmation_recorded()
    {
        var (h, job) = AssignedJob();
        var task = h.ActiveTask(job, 0);
        h.Execute(new ApplyAgentReports([Report("agent-host-0", "host-0", (task.TaskId, [Starting, Running]))]));
        h.Execute(new KillTasks(job, null));
        Assert.Equal(Killing, task.Status);

        Assert.False(h.Execute(new ApplyAgentReports([Report("agent-host-0", "host-0", (task.TaskId, [Starting, Running]))])).ChangesState);
        var decision = h.Execute(new ApplyAgentReports([Report("agent-host-0", "host-0", (task.TaskId, [Starting, Running, Killed]))]));

        Assert.Equal(["KILLING->KILLED"], decision.Transitions());
        Assert.Empty(decision.CreatedTasks());
    }

    [Fact]
    public void A_running_task_the_agent_does_not_hold_is_lost_and_rescheduled_but_an_assigned_one_waits_for_its_launch()
    {
        var (h, job) = AssignedJob(instances: 2);
        var running = h.ActiveTask(job, 0);
        h.Execute(new ApplyAgentReports([Report("agent-host-0", "host-0", (running.TaskId, [Starting, Running]))]));
        var assigned = h.ActiveTask(job, 1);

        var decision = h.Execute(new ApplyAgentReports([Report("agent-host-0", "host-0"), Report("agent-host-1", "host-1")]));

        Assert.Equal(["RUNNING->LOST"], decision.Transitions());
        Assert.Contains("unknown to agent agent-host-0", running.LatestEvent.Message, StringComparison.Ordinal);
        Assert.Equal(Assigned, assigned.Status);
        Assert.Equal(running.TaskId, h.ActiveTask(job, 0).AncestorId);
    }

    [Fact]
    public void A_new_agent_on_a_known_host_loses_the_old_agents_tasks()
    {
        var (h, job) = AssignedJob();
        var task = h.ActiveTask(job, 0);

        var decision = h.Execute(new ApplyAgentReports([Report("agent-reborn", "host-0")]));

        Assert.Equal(["ASSIGNED->LOST"], decision.Transitions());
        Assert.Contains("was replaced by agent agent-reborn", task.LatestEvent.Message, StringComparison.Ordinal);
        Assert.Contains(task.TaskId, decision.TasksToKill);
    }

    [Fact]
    public void Reports_about_tasks_of_other_agents_or_unknown_tasks_are_ignored()
    {
        var (h, job) = AssignedJob();
        var task = h.ActiveTask(job, 0);

        var decision = h.Execute(new ApplyAgentReports([Report("agent-host-9", "host-9", (task.TaskId, [Starting, Running]), ("no-such-task", [Running]))]));

        Assert.False(decision.ChangesState);
        Assert.Equal(Assigned, task.Status);
    }

    [Fact]
    public void Many_agents_report_in_one_transaction()
    {
        var (h, job) = AssignedJob(instances: 5);
        var reports = Enumerable.Range(0, 5)
            .Select(i => Report($"agent-host-{i}", $"host-{i}", (h.ActiveTask(job, i).TaskId, [Starting, Running])))
            .ToList();
        var before = h.Log.Count;

        h.Execute(new ApplyAgentReports(reports));

        Assert.Equal(before + 1, h.Log.Count);
        Assert.All(h.Active(job).Values, t => Assert.Equal(Running, t.Status));
    }

    [Fact]
    public void A_lost_agent_loses_exactly_its_own_tasks()
    {
        var (h, job) = AssignedJob(instances: 2);
        h.Execute(new ApplyAgentReports([Report("agent-host-0", "host-0", (h.ActiveTask(job, 0).TaskId, [Starting, Running]))]));
        var lostTask = h.ActiveTask(job, 0);
        var otherTask = h.ActiveTask(job, 1);

        var decision = h.Execute(new MarkAgentLost("agent-host-0", "host-0", "Agent went silent"));

        Assert.Equal(["RUNNING->LOST"], decision.Transitions());
        Assert.Equal("Agent went silent", lostTask.LatestEvent.Message);
        Assert.Equal(Assigned, otherTask.Status);
        Assert.Equal(lostTask.TaskId, h.ActiveTask(job, 0).AncestorId);
        Assert.False(h.Execute(new MarkAgentLost("agent-host-0", "host-0", "again")).ChangesState);
    }

    [Fact]
    public void Throttled_tasks_become_pending_once_their_penalty_has_passed()
    {
        var settings = SchedulerSettings.Default with { InitialFlappingTaskDelay = TimeSpan.FromSeconds(30) };
        var h = new DomainHarness(settings: settings);
        var job = h.CreateJobWithQuota(Configs.Job());
        h.Drive(job, 0, Assigned, Starting, Running);
        h.Advance(TimeSpan.FromSeconds(10));
        h.Drive(job, 0, Failed);
        var throttled = h.ActiveTask(job, 0);
        Assert.Equal(Throttled, throttled.Status);
        var due = ReleaseThrottledTasks.NextReleaseMicros(h.State);
        Assert.NotNull(due);

        Assert.False(h.Execute(new ReleaseThrottledTasks()).ChangesState);
        h.Now = DateTimeOffset.UnixEpoch.AddTicks(due.Value * 10);
        var decision = h.Execute(new ReleaseThrottledTasks());

        Assert.Equal(["THROTTLED->PENDING"], decision.Transitions());
        Assert.Null(ReleaseThrottledTasks.NextReleaseMicros(h.State));
    }

    [Fact]
    public void Tasks_stuck_in_transient_states_past_the_timeout_are_lost()
    {
        var (h, job) = AssignedJob(instances: 2);
        h.Advance(TimeSpan.FromMinutes(4));
        h.Drive(job, 1, Starting);
        h.Advance(TimeSpan.FromMinutes(2));

        var decision = h.Execute(new TimeOutTransientTasks(TimeSpan.FromMinutes(5)));

        Assert.Equal(["ASSIGNED->LOST"], decision.Transitions());
        Assert.Contains("transient task state timeout", h.State.TasksOf(job).Single(t => t.Status == Lost).LatestEvent.Message, StringComparison.Ordinal);
    }
}
