using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;
using static Aurora.Scheduler.Tests.Placement.PlacementFixture;

namespace Aurora.Scheduler.Tests.Placement;

/// <summary>Committing assignments: one transaction, each re-checked, stale ones skipped with the reason.</summary>
public class AssignTasksTests
{
    [Fact]
    public void A_planned_round_commits_as_one_transaction_of_task_assigned_events()
    {
        var h = new DomainHarness();
        var offers = new[] { Offer("a"), Offer("b") };
        var job = h.PendingJob("web", instances: 3, ports: ["http"]);
        var plan = h.Plan(offers);
        var before = h.Log.Count;

        var decision = h.Execute(new AssignTasks(plan.Assignments, offers));

        Assert.Equal(before + 1, h.Log.Count);
        Assert.Equal(3, decision.EventsOf(Event.KindOneofCase.TaskAssigned).Count);
        var outcome = Assert.IsType<AssignmentOutcome>(decision.Value);
        Assert.Equal(plan.Assignments.Select(a => a.TaskId), outcome.Assigned);
        Assert.Empty(outcome.Skipped);
        foreach (var assignment in plan.Assignments)
        {
            var task = h.State.FindTask(assignment.TaskId)!;
            Assert.Equal(ScheduleStatus.Assigned, task.Status);
            Assert.Equal(assignment.AgentId, task.AgentId);
            Assert.Equal(assignment.Ports, task.Ports);
        }

        Assert.Equal(3, h.State.TasksOf(job).Count(t => t.Status == ScheduleStatus.Assigned));
    }

    [Fact]
    public void Stale_assignments_are_skipped_with_the_reason_and_the_rest_are_committed()
    {
        var h = new DomainHarness();
        h.AddHost("a", ("rack", "r1"));
        var offers = new[] { Offer("a", cpus: 2, firstPort: 31000, lastPort: 31003), Offer("b") };
        var job = h.PendingJob("web", instances: 6, ports: ["http"]);
        var t = Enumerable.Range(0, 6).Select(i => h.ActiveTask(job, i).TaskId).ToArray();
        AssignedPort Http(int port) => new() { Name = "http", Port = port };

        var decision = h.Execute(new AssignTasks(
        [
            new Assignment(t[0], Agent("a"), "a", [Http(31000)]),
            new Assignment(t[0], Agent("b"), "b", [Http(31000)]),
            new Assignment(t[1], Agent("a"), "a", [Http(31000)]),
            new Assignment(t[2], Agent("a"), "a", [Http(31009)]),
            new Assignment(t[3], Agent("c"), "c", [Http(31000)]),
            new Assignment(t[4], Agent("b"), "a", [Http(31000)]),
            new Assignment("ghost", Agent("b"), "b", []),
            new Assignment(t[5], Agent("a"), "a", [Http(31001)]),
            new Assignment(t[1], Agent("a"), "a", [Http(31002)]),
            new Assignment(t[2], Agent("a"), "a", []),
        ], offers));

        var outcome = Assert.IsType<AssignmentOutcome>(decision.Value);
        Assert.Equal([t[0], t[5]], outcome.Assigned);
        Assert.Equal(
            [
                (t[0], $"Task {t[0]} is ASSIGNED; only PENDING tasks can be assigned."),
                (t[1], "Port 31000 is already in use on agent agent-a."),
                (t[2], "Port 31009 is not among the ports agent agent-a offers ([31000-31003])."),
                (t[3], "There is no offer from agent agent-c."),
                (t[4], "Agent agent-b is on b, not a."),
                ("ghost", "Task ghost does not exist."),
                (t[1], $"Task {t[1]} cannot run on a: Insufficient CPU"),
                (t[2], $"Task {t[2]} cannot run on a: Insufficient CPU"),
            ],
            outcome.Skipped.Select(s => (s.TaskId, s.Reason)));
    }

    [Fact]
    public void A_plan_made_before_the_state_changed_is_re_checked_against_the_new_state()
    {
        var h = new DomainHarness();
        var offers = new[] { Offer("a") };
        var job = h.PendingJob("web", instances: 2);
        var plan = h.Plan(offers);
        var killed = h.ActiveTask(job, 0);
        h.Execute(new KillTasks(job, [0], "no longer wanted"));
        h.Execute(new ChangeHostMaintenance(["a"], MaintenanceMode.Draining));

        var outcome = h.Commit(plan.Assignments, offers);

        Assert.Empty(outcome.Assigned);
        Assert.Equal(
            [
                (killed.TaskId, $"Task {killed.TaskId} does not exist."),
                (h.ActiveTask(job, 1).TaskId, $"Task {h.ActiveTask(job, 1).TaskId} cannot run on a: Host drained for maintenance"),
            ],
            outcome.Skipped.Select(s => (s.TaskId, s.Reason)));
    }

    [Fact]
    public void The_same_plan_committed_twice_assigns_nothing_the_second_time()
    {
        var h = new DomainHarness();
        var offers = new[] { Offer("a") };
        h.PendingJob("web", instances: 2);
        var plan = h.Plan(offers);
        h.Commit(plan.Assignments, offers);
        var count = h.Log.Count;

        var again = h.Execute(new AssignTasks(plan.Assignments, offers));

        Assert.False(again.ChangesState);
        Assert.Equal(count, h.Log.Count);
        Assert.Equal(2, Assert.IsType<AssignmentOutcome>(again.Value).Skipped.Count);
    }

    [Fact]
    public void Invalid_offers_reject_the_whole_command()
    {
        var h = new DomainHarness();
        h.PendingJob("web");

        Assert.Equal("Agent agent-a is offered twice; an offer is the agent's whole capacity.", h.Reject(new AssignTasks([], [Offer("a"), Offer("a")])).Message);
    }

    [Fact]
    public void Assign_task_with_an_offer_checks_resources_and_ports_as_assign_tasks_does()
    {
        var h = new DomainHarness();
        var job = h.PendingJob("web", instances: 2, cpus: 3, ports: ["http"]);
        var offer = Offer("a", cpus: 4, firstPort: 31000, lastPort: 31001);
        var first = h.ActiveTask(job, 0);
        var second = h.ActiveTask(job, 1);
        h.Execute(new AssignTask(first.TaskId, offer.AgentId, "a", [new AssignedPort { Name = "http", Port = 31000 }], offer));

        Assert.Equal($"Task {second.TaskId} cannot run on a: Insufficient CPU",
            h.Reject(new AssignTask(second.TaskId, offer.AgentId, "a", [new AssignedPort { Name = "http", Port = 31001 }], offer)).Message);
        var bigger = offer with { Capacity = new Resources { NumCpus = 6, RamMb = 8192, DiskMb = 8192 } };
        Assert.Equal("Port 31000 is already in use on agent agent-a.",
            h.Reject(new AssignTask(second.TaskId, offer.AgentId, "a", [new AssignedPort { Name = "http", Port = 31000 }], bigger)).Message);
        h.Execute(new AssignTask(second.TaskId, offer.AgentId, "a", [new AssignedPort { Name = "http", Port = 31001 }], bigger));
        Assert.Equal(ScheduleStatus.Assigned, second.Status);
    }
}
