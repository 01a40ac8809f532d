using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;
using static Aurora.Scheduler.Tests.Placement.PlacementFixture;

namespace Aurora.Scheduler.Tests.Placement;

/// <summary>Planning rounds: spreading, ordering, maintenance, ports, pending reasons, determinism.</summary>
public class PlacementEngineTests
{
    [Fact]
    public void A_rack_limit_of_two_spreads_six_instances_two_per_rack_and_leaves_the_seventh_pending()
    {
        var h = new DomainHarness();
        var offers = new List<Offer>();
        foreach (var rack in new[] { "r1", "r2", "r3" })
        {
            h.AddHost("h-" + rack, ("rack", rack));
            offers.Add(Offer("h-" + rack));
        }

        var job = h.PendingJob("web", instances: 7, constraints: Limit("rack", 2));

        var plan = h.PlaceAll(offers);

        Assert.Equal(6, plan.Assignments.Count);
        var perRack = h.State.TasksOf(job).Where(t => t.Host is not null).GroupBy(t => t.Host!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(new Dictionary<string, int> { ["h-r1"] = 2, ["h-r2"] = 2, ["h-r3"] = 2 }, perRack);
        var pending = Assert.Single(h.State.TasksIn(ScheduleStatus.Pending));
        Assert.Equal("Limit not satisfied: rack (3 hosts)", plan.PendingReasons[pending.TaskId]);
        Assert.Equal("Limit not satisfied: rack (3 hosts)", h.Plan(offers).PendingReasons[pending.TaskId]);
    }

    [Fact]
    public void Consecutive_tasks_spread_over_the_agents_rather_than_filling_the_first()
    {
        var h = new DomainHarness();
        var offers = new[] { Offer("a"), Offer("b"), Offer("c") };
        h.PendingJob("web", instances: 3);

        var plan = h.Plan(offers, nowMicros: 0);

        Assert.Equal(["a", "b", "c"], plan.Assignments.Select(a => a.Host));
    }

    [Fact]
    public void Dedicated_hosts_take_only_their_role_s_job_and_that_job_runs_nowhere_else()
    {
        var h = new DomainHarness();
        h.AddHost("db-1", ("dedicated", "db_team/db"));
        h.AddHost("plain", ("rack", "r1"));
        var offers = new[] { Offer("db-1", cpus: 2), Offer("plain", cpus: 2) };
        var db = h.PendingJob("db", instances: 3, role: "db_team", constraints: Value("dedicated", "db_team/db"));
        var web = h.PendingJob("web", instances: 3);

        var plan = h.PlaceAll(offers);

        Assert.All(h.State.TasksOf(db).Where(t => t.Host is not null), t => Assert.Equal("db-1", t.Host));
        Assert.All(h.State.TasksOf(web).Where(t => t.Host is not null), t => Assert.Equal("plain", t.Host));
        Assert.Equal(4, plan.Assignments.Count);
        var dbPending = h.State.TasksOf(db).Single(t => t.Status == ScheduleStatus.Pending);
        var webPending = h.State.TasksOf(web).Single(t => t.Status == ScheduleStatus.Pending);
        Assert.Equal("Constraint not satisfied: dedicated (1 host), Insufficient CPU (1 host)", plan.PendingReasons[dbPending.TaskId]);
        Assert.Equal("Host is dedicated (1 host), Insufficient CPU (1 host)", plan.PendingReasons[webPending.TaskId]);
    }

    [Fact]
    public void Draining_hosts_get_nothing_and_scheduled_hosts_only_what_the_others_cannot_take()
    {
        var h = new DomainHarness();
        h.Execute(new ChangeHostMaintenance(["drained"], MaintenanceMode.Draining));
        h.Execute(new ChangeHostMaintenance(["soon"], MaintenanceMode.Scheduled));
        var offers = new[] { Offer("soon", cpus: 2), Offer("drained", cpus: 2), Offer("free", cpus: 2) };
        h.PendingJob("web", instances: 5);

        var plan = h.Plan(offers);

        Assert.Equal(["free", "free", "soon", "soon"], plan.Assignments.Select(a => a.Host));
        Assert.Equal("Insufficient CPU (2 hosts), Host drained for maintenance (1 host)", Assert.Single(plan.PendingReasons).Value);
    }

    [Fact]
    public void Ports_are_the_lowest_free_ones_and_never_reused_on_an_agent_within_or_across_rounds()
    {
        var h = new DomainHarness();
        var offers = new[] { new Offer(Agent("h1"), "h1", new Resources { NumCpus = 16, RamMb = 16384, DiskMb = 16384 }, [new PortRange(31005, 31006), new PortRange(31000, 31001)]) };
        h.PendingJob("web", instances: 1, ports: ["http", "admin"]);

        var first = h.PlaceAll(offers);
        h.PendingJob("api", instances: 2, ports: ["http"]);
        var second = h.PlaceAll(offers);

        Assert.Equal([31000, 31001], first.Assignments.Single().Ports.Select(p => p.Port));
        Assert.Equal(["http", "admin"], first.Assignments.Single().Ports.Select(p => p.Name));
        Assert.Equal([31005, 31006], second.Assignments.SelectMany(a => a.Ports).Select(p => p.Port));
        h.PendingJob("late", ports: ["http"]);
        Assert.Equal("Insufficient ports (1 host)", Assert.Single(h.Plan(offers).PendingReasons).Value);
    }

    [Fact]
    public void Non_preemptible_tiers_go_first_then_higher_priority_then_older_tasks()
    {
        var h = new DomainHarness();
        h.PendingJob("old-low", tier: "preemptible", cpus: 1);
        h.Advance(TimeSpan.FromSeconds(1));
        h.PendingJob("new-low", tier: "preemptible", cpus: 1);
        h.PendingJob("urgent", tier: "preemptible", cpus: 1, priority: 5);
        h.PendingJob("prod", tier: "preferred", cpus: 1);

        var plan = h.Plan([Offer("h1", cpus: 3)]);

        var placed = plan.Assignments.Select(a => h.State.FindTask(a.TaskId)!.Job.Name).ToList();
        Assert.Equal(["prod", "urgent", "old-low"], placed);
        Assert.Equal("Insufficient CPU (1 host)", plan.PendingReasons[h.ActiveTask(Configs.Key(name: "new-low"), 0).TaskId]);
    }

    [Fact]
    public void Pending_reasons_count_the_hosts_behind_each_veto_most_frequent_first()
    {
        var h = new DomainHarness();
        h.AddHost("a", ("rack", "r1"));
        h.AddHost("b", ("rack", "r1"));
        h.AddHost("c", ("rack", "r1"));
        h.AddHost("d", ("rack", "r2"));
        h.AddHost("e", ("rack", "r2"));
        var offers = new[] { Offer("a", ramMb: 64), Offer("b", ramMb: 64), Offer("c", ramMb: 64), Offer("d"), Offer("e") };
        var job = h.PendingJob("web", ramMb: 128, constraints: Value("rack", "r1"));

        var plan = h.Plan(offers);

        Assert.Equal("Insufficient RAM (3 hosts), Constraint not satisfied: rack (2 hosts)", plan.PendingReasons[h.ActiveTask(job, 0).TaskId]);
    }

    [Fact]
    public void Without_offers_tasks_wait_for_offers_or_for_agents()
    {
        var h = new DomainHarness();
        var job = h.PendingJob("web");

        Assert.Equal(Vetoes.NoAgents, h.Plan([]).PendingReasons[h.ActiveTask(job, 0).TaskId]);

        h.AddHost("h1", ("rack", "r1"));
        Assert.Equal(Vetoes.NoOffers, h.Plan([]).PendingReasons[h.ActiveTask(job, 0).TaskId]);
    }

    [Fact]
    public void Throttled_tasks_are_not_placed()
    {
        var h = new DomainHarness();
        var job = h.PendingJob("web");
        var offer = Offer("h1");
        var first = h.RunOn(job, 0, offer);
        h.Advance(TimeSpan.FromSeconds(10));
        h.Execute(new ChangeTaskState(first.TaskId, ScheduleStatus.Failed, "exit 1"));
        var throttled = h.ActiveTask(job, 0);
        Assert.Equal(ScheduleStatus.Throttled, throttled.Status);

        var plan = h.Plan([offer]);

        Assert.Empty(plan.Assignments);
        Assert.False(plan.PendingReasons.ContainsKey(throttled.TaskId));
    }

    [Fact]
    public void At_most_max_assignments_are_planned_and_the_rest_are_placed_in_later_rounds()
    {
        var h = new DomainHarness();
        var offers = new[] { Offer("a"), Offer("b") };
        var job = h.PendingJob("web", instances: 5);

        Assert.Equal(2, h.PlaceAll(offers, maxAssignments: 2).Assignments.Count);
        Assert.Equal(2, h.PlaceAll(offers, maxAssignments: 2).Assignments.Count);
        Assert.Single(h.PlaceAll(offers, maxAssignments: 2).Assignments);
        Assert.Equal(5, h.State.TasksOf(job).Count(t => t.Status == ScheduleStatus.Assigned));
        Assert.Throws<ArgumentOutOfRangeException>(() => h.Plan(offers, maxAssignments: -1));
    }

    [Fact]
    public void The_same_inputs_give_the_same_plan_also_on_a_replayed_state()
    {
        var h = new DomainHarness();
        var offers = new List<Offer>();
        for (var i = 0; i < 12; i++)
        {
            h.AddHost($"h{i}", ("rack", $"r{i % 4}"), ("zone", $"z{i % 2}"));
            offers.Add(Offer($"h{i}", cpus: 3));
        }

        h.PendingJob("a", instances: 10, ports: ["http"], constraints: Limit("rack", 3));
        h.PendingJob("b", instances: 10, tier: "preemptible", constraints: Value("zone", "z1"));
        h.PendingJob("c", instances: 20, cpus: 0.5, priority: 3);
        var now = h.Micros();

        var first = PlacementEngine.Plan(h.State, offers, h.Settings, now, 25);
        var second = PlacementEngine.Plan(h.State, offers, h.Settings, now, 25);
        var replayed = PlacementEngine.Plan(h.Replay(), offers, h.Settings, now, 25);

        Assert.Equal(25, first.Assignments.Count);
        foreach (var other in new[] { second, replayed })
        {
            Assert.Equal(first.Assignments, other.Assignments, AssignmentComparer.Instance);
            Assert.Equal(first.PendingReasons.OrderBy(r => r.Key, StringComparer.Ordinal), other.PendingReasons.OrderBy(r => r.Key, StringComparer.Ordinal));
        }
    }

    private static Offer Offer(string host, double cpus = 8, long ramMb = 8192) => PlacementFixture.Offer(host, cpus, ramMb);

    /// <summary>Assignments compare by value, ports included (records compare lists by reference).</summary>
    private sealed class AssignmentComparer : IEqualityComparer<Assignment>
    {
        public static AssignmentComparer Instance { get; } = new();

        public bool Equals(Assignment? x, Assignment? y) =>
            x is not null && y is not null && x.TaskId == y.TaskId && x.AgentId == y.AgentId && x.Host == y.Host && x.Ports.SequenceEqual(y.Ports);

        public int GetHashCode(Assignment obj) => obj.TaskId.GetHashCode(StringComparison.Ordinal);
    }
}
