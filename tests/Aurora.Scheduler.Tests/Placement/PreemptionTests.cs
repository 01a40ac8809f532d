using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.State;
using static Aurora.Scheduler.Tests.Placement.PlacementFixture;

namespace Aurora.Scheduler.Tests.Placement;

/// <summary>Aurora's preemptor: who may preempt whom, after how long, which victims, and committing it.</summary>
public class PreemptionTests
{
    private static readonly TimeSpan Delay = SchedulerSettings.Default.PreemptionDelay;

    /// <summary>One agent (4 CPUs) full of four 1-CPU tasks of <paramref name="victimTier"/>, and a pending 2-CPU task of <paramref name="pendingTier"/>.</summary>
    private static (DomainHarness H, Offer Offer, JobKey Victims, TaskRecord Pending) FullAgent(
        string victimTier = "preemptible", string pendingTier = "preferred", string victimRole = "www-data", int victimPriority = 0, int pendingPriority = 0,
        SchedulerSettings? settings = null)
    {
        var h = new DomainHarness(settings: settings);
        var offer = Offer("h1", cpus: 4);
        var victims = h.PendingJob("victims", instances: 4, tier: victimTier, role: victimRole, priority: victimPriority);
        for (var i = 0; i < 4; i++)
        {
            h.RunOn(victims, i, offer);
        }

        var pending = h.ActiveTask(h.PendingJob("wanted", cpus: 2, tier: pendingTier, priority: pendingPriority), 0);
        return (h, offer, victims, pending);
    }

    [Fact]
    public void A_production_task_preempts_preemptible_tasks_only_after_the_preemption_delay()
    {
        var (h, offer, victims, pending) = FullAgent();

        Assert.Empty(h.Plan([offer]).Preemptions);
        h.Advance(Delay - TimeSpan.FromSeconds(1));
        Assert.Empty(h.Plan([offer]).Preemptions);
        h.Advance(TimeSpan.FromSeconds(1));

        var plan = h.Plan([offer]);

        var proposal = Assert.Single(plan.Preemptions);
        Assert.Equal(pending.TaskId, proposal.PreemptorTaskId);
        Assert.Equal(offer.AgentId, proposal.AgentId);
        Assert.Equal(2, proposal.VictimTaskIds.Count);
        Assert.All(proposal.VictimTaskIds, id => Assert.Equal(victims, h.State.FindTask(id)!.Job));
        Assert.Equal("Insufficient CPU (1 host)", plan.PendingReasons[pending.TaskId]);
    }

    [Fact]
    public void The_delay_counts_from_the_task_s_latest_pending_event()
    {
        var h = new DomainHarness();
        var offer = Offer("h1", cpus: 2);
        var victims = h.PendingJob("victims", instances: 2, tier: "preemptible");
        h.RunOn(victims, 0, offer);
        h.RunOn(victims, 1, offer);
        var job = h.PendingJob("wanted", cpus: 1);
        var first = h.RunOn(job, 0, Offer("elsewhere"));
        h.Advance(TimeSpan.FromSeconds(10));
        h.Execute(new ChangeTaskState(first.TaskId, ScheduleStatus.Failed, "exit 1"));
        var throttled = h.ActiveTask(job, 0);
        h.Advance(Delay * 3);
        h.Execute(new ChangeTaskState(throttled.TaskId, ScheduleStatus.Pending, "Penalty expired"));

        Assert.Empty(h.Plan([offer]).Preemptions);
        h.Advance(Delay);
        Assert.Equal(throttled.TaskId, Assert.Single(h.Plan([offer]).Preemptions).PreemptorTaskId);
    }

    [Fact]
    public void Victims_are_taken_largest_first_and_the_agent_needing_the_fewest_wins()
    {
        var h = new DomainHarness();
        var a = Offer("a", cpus: 4, ramMb: 4096);
        var b = Offer("b", cpus: 4, ramMb: 4096);
        var small = h.PendingJob("small", instances: 6, tier: "preemptible", cpus: 1, ramMb: 512);
        var big = h.PendingJob("big", tier: "preemptible", cpus: 2, ramMb: 2048);
        for (var i = 0; i < 4; i++)
        {
            h.RunOn(small, i, a);
        }

        h.RunOn(small, 4, b);
        h.RunOn(small, 5, b);
        var bigTask = h.RunOn(big, 0, b);
        h.PendingJob("wanted", cpus: 2, ramMb: 1024);
        h.Advance(Delay);

        var proposal = Assert.Single(h.Plan([a, b]).Preemptions);

        Assert.Equal(b.AgentId, proposal.AgentId);
        Assert.Equal([bigTask.TaskId], proposal.VictimTaskIds);
    }

    [Theory]
    [InlineData("preemptible", "preferred", "www-data", 0, 0, true)]
    [InlineData("preferred", "preferred", "www-data", 0, 5, true)]
    [InlineData("preferred", "preferred", "www-data", 5, 5, false)]
    [InlineData("preferred", "preferred", "other", 0, 5, false)]
    [InlineData("preemptible", "preemptible", "www-data", 0, 5, true)]
    [InlineData("preemptible", "preemptible", "other", 0, 5, false)]
    [InlineData("preemptible", "preemptible", "www-data", 5, 5, false)]
    [InlineData("preferred", "preemptible", "www-data", 0, 5, false)]
    public void Who_may_preempt_whom_follows_aurora_s_preemption_filter(
        string victimTier, string pendingTier, string victimRole, int victimPriority, int pendingPriority, bool preempts)
    {
        var (h, offer, _, _) = FullAgent(victimTier, pendingTier, victimRole, victimPriority, pendingPriority);
        h.Advance(Delay);

        Assert.Equal(preempts, h.Plan([offer]).Preemptions.Count == 1);
    }

    [Fact]
    public void No_preemption_where_a_value_constraint_fails()
    {
        var (h, offer, _, _) = FullAgent();
        h.PendingJob("picky", cpus: 1, constraints: Value("rack", "r2"));
        h.Execute(new KillTasks(Configs.Key(name: "wanted")));
        h.Advance(Delay);

        var plan = h.Plan([offer]);

        Assert.Empty(plan.Preemptions);
        Assert.Equal("Constraint not satisfied: rack (1 host)", Assert.Single(plan.PendingReasons).Value);
    }

    [Fact]
    public void No_preemption_where_a_limit_constraint_fails()
    {
        var h = new DomainHarness();
        h.AddHost("h1", ("rack", "r1"));
        h.AddHost("h2", ("rack", "r1"));
        var offer = Offer("h1", cpus: 2);
        var victims = h.PendingJob("victims", instances: 2, tier: "preemptible");
        h.RunOn(victims, 0, offer);
        h.RunOn(victims, 1, offer);
        var limited = h.PendingJob("limited", instances: 2, constraints: Limit("rack", 1));
        h.RunOn(limited, 0, Offer("h2"));
        h.Advance(Delay);

        var plan = h.Plan([offer]);

        Assert.Empty(plan.Preemptions);
        Assert.Equal("Limit not satisfied: rack (1 host)", plan.PendingReasons[h.ActiveTask(limited, 1).TaskId]);
    }

    [Fact]
    public void The_preemptor_can_be_turned_off()
    {
        var (h, offer, _, _) = FullAgent(settings: SchedulerSettings.Default with { EnablePreemptor = false });
        h.Advance(Delay);

        Assert.Empty(h.Plan([offer]).Preemptions);
    }

    [Fact]
    public void Committing_a_proposal_moves_the_victims_to_preempting_and_asks_to_kill_them()
    {
        var (h, offer, _, pending) = FullAgent();
        h.Advance(Delay);
        var proposal = Assert.Single(h.Plan([offer]).Preemptions);

        var decision = h.Execute(new PreemptTasks(proposal));

        Assert.Equal(["RUNNING->PREEMPTING", "RUNNING->PREEMPTING"], decision.Transitions());
        Assert.Equal(proposal.VictimTaskIds, decision.TasksToKill);
        foreach (var id in proposal.VictimTaskIds)
        {
            var victim = h.State.FindTask(id)!;
            Assert.Equal(ScheduleStatus.Preempting, victim.Status);
            Assert.Equal($"Preempting in favor of {pending.TaskId}", victim.LatestEvent.Message);
        }

        foreach (var id in proposal.VictimTaskIds)
        {
            h.Execute(new ChangeTaskState(id, ScheduleStatus.Killed));
        }

        var placed = Assert.Single(h.Plan([offer]).Assignments, a => a.TaskId == pending.TaskId);
        Assert.Equal(offer.AgentId, placed.AgentId);
    }

    [Fact]
    public void Room_already_being_freed_is_waited_for_rather_than_preempting_more()
    {
        var (h, offer, _, pending) = FullAgent();
        var second = Offer("h2", cpus: 4);
        var others = h.PendingJob("others", instances: 4, tier: "preemptible");
        for (var i = 0; i < 4; i++)
        {
            h.RunOn(others, i, second);
        }

        h.Advance(Delay);
        h.Execute(new PreemptTasks(Assert.Single(h.Plan([offer, second]).Preemptions)));

        // Until the victims' KILLED arrives, later rounds must not pick more victims on either agent.
        var later = h.Plan([offer, second]);

        Assert.Empty(later.Preemptions);
        Assert.Equal(ScheduleStatus.Pending, h.State.FindTask(pending.TaskId)!.Status);
        Assert.Equal(2, h.State.TasksIn(ScheduleStatus.Preempting).Count);
    }

    [Fact]
    public void A_stale_proposal_is_refused_and_changes_nothing()
    {
        var (h, offer, _, pending) = FullAgent();
        h.Advance(Delay);
        var proposal = Assert.Single(h.Plan([offer]).Preemptions);
        var victim = proposal.VictimTaskIds[0];
        h.Execute(new ChangeTaskState(victim, ScheduleStatus.Killing));

        Assert.Equal($"Task {victim} is KILLING on agent {offer.AgentId}, not running on agent {offer.AgentId}.", h.Reject(new PreemptTasks(proposal)).Message);
        Assert.Equal("A victim is named twice.", h.Reject(new PreemptTasks(proposal with { VictimTaskIds = [proposal.VictimTaskIds[1], proposal.VictimTaskIds[1]] })).Message);
        h.Execute(new KillTasks(pending.Job));
        Assert.Equal(ErrorCode.NotFound, h.Reject(new PreemptTasks(proposal)).Code);
        Assert.Equal("A preemption needs the preempting task, the agent and at least one victim.", h.Reject(new PreemptTasks(proposal with { VictimTaskIds = [] })).Message);
    }

    [Fact]
    public void A_proposal_is_refused_when_the_preemptor_may_not_preempt_the_victim()
    {
        var (h, offer, victims, _) = FullAgent(victimTier: "preferred");
        var preemptor = h.ActiveTask(Configs.Key(name: "wanted"), 0);
        var victim = h.ActiveTask(victims, 0);

        var rejection = h.Reject(new PreemptTasks(new PreemptionProposal(preemptor.TaskId, offer.AgentId, [victim.TaskId])));

        Assert.Equal($"Task {preemptor.TaskId} may not preempt task {victim.TaskId}.", rejection.Message);
    }
}
