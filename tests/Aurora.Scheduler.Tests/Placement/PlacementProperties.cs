using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using FsCheck;
using FsCheck.Fluent;
using static Aurora.Scheduler.Tests.Placement.PlacementFixture;

namespace Aurora.Scheduler.Tests.Placement;

/// <summary>
/// For random clusters and jobs, rounds of plan + <see cref="AssignTasks"/> (with tasks ending in
/// between) never over-commit an agent, never reuse a port on it, never exceed a limit constraint,
/// and a fresh plan always commits whole. FsCheck draws the seed and prints it on failure.
/// </summary>
public class PlacementProperties
{
    private static readonly string[] Tiers = ["preferred", "preemptible", "revocable"];

    [Fact]
    public void Rounds_of_placement_never_over_commit_an_agent_nor_exceed_a_limit() =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed => { Run(seed); })
            .Check(Config.QuickThrowOnFailure.WithMaxTest(60).WithQuietOnSuccess(true));

    [Fact]
    public void A_known_seed_runs_rounds_that_place_tasks() => Assert.True(Run(12345) > 0);

    private static int Run(int seed)
    {
        var random = new Random(seed);
        var settings = SchedulerSettings.Default with { ReceiveRevocableResources = random.Next(2) == 0 };
        var h = new DomainHarness(seed, settings);
        var offers = new List<Offer>();
        var hostCount = random.Next(2, 10);
        for (var i = 0; i < hostCount; i++)
        {
            var host = $"h{i}";
            var attributes = new List<(string, string)> { ("zone", $"z{random.Next(2)}") };
            if (random.Next(6) > 0)
            {
                attributes.Add(("rack", $"r{random.Next(3)}"));
            }

            h.AddHost(host, [.. attributes]);
            if (random.Next(8) == 0)
            {
                h.Execute(new ChangeHostMaintenance([host], random.Next(2) == 0 ? MaintenanceMode.Scheduled : MaintenanceMode.Draining));
            }

            var first = 31000 + random.Next(10);
            var revocable = random.Next(2) == 0 ? new Resources { NumCpus = random.Next(0, 4), RamMb = 2048, DiskMb = 4096 } : null;
            offers.Add(new Offer(Agent(host), host, new Resources { NumCpus = random.Next(1, 9) * 0.5, RamMb = random.Next(1, 9) * 256, DiskMb = 8192 },
                [new PortRange(first, first + random.Next(0, 6))], revocable));
        }

        var jobCount = random.Next(1, 6);
        for (var j = 0; j < jobCount; j++)
        {
            var constraints = new List<Constraint>();
            switch (random.Next(4))
            {
                case 0:
                    constraints.Add(Limit("rack", random.Next(1, 4)));
                    break;
                case 1:
                    constraints.Add(Value("zone", "z0"));
                    break;
                case 2:
                    constraints.Add(Limit("zone", random.Next(1, 3)));
                    constraints.Add(NotValue("rack", "r2"));
                    break;
            }

            h.PendingJob($"job{j}", instances: random.Next(1, 9), tier: Tiers[random.Next(Tiers.Length)], cpus: random.Next(1, 5) * 0.25,
                ramMb: random.Next(1, 5) * 128, ports: [.. Enumerable.Range(0, random.Next(3)).Select(p => $"p{p}")], constraints: [.. constraints]);
        }

        var placed = 0;
        for (var round = 0; round < 4; round++)
        {
            var plan = h.Plan(offers, maxAssignments: random.Next(1, 20));
            var outcome = h.Commit(plan.Assignments, offers);
            Assert.Empty(outcome.Skipped);
            placed += outcome.Assigned.Count;
            CheckInvariants(h, offers);

            // Some tasks end (and are rescheduled) between rounds, freeing resources and ports.
            foreach (var task in h.State.Tasks.Where(t => t.Status == ScheduleStatus.Assigned).OrderBy(t => t.TaskId, StringComparer.Ordinal).ToList())
            {
                if (random.Next(4) == 0)
                {
                    h.Execute(new ChangeTaskState(task.TaskId, ScheduleStatus.Lost, "agent lost it"));
                }
            }
        }

        return placed;
    }

    private static void CheckInvariants(DomainHarness h, IReadOnlyList<Offer> offers)
    {
        var state = h.State;
        foreach (var offer in offers)
        {
            var onAgent = state.TasksOnHost(offer.Host).Where(t => t.AgentId == offer.AgentId && TaskStatuses.IsAgentAssigned(t.Status)).ToList();
            foreach (var revocable in new[] { false, true })
            {
                var capacity = revocable ? (h.Settings.ReceiveRevocableResources ? offer.RevocableCapacity ?? new Resources() : new Resources()) : offer.Capacity;
                var used = onAgent.Where(t => TaskTiers.Of(t.Config, h.Settings).Revocable == revocable)
                    .Aggregate(new Resources(), (sum, t) => ResourceMath.Add(sum, t.Config.Resources));
                Assert.True(used.NumCpus <= capacity.NumCpus + 1e-9 && used.RamMb <= capacity.RamMb && used.DiskMb <= capacity.DiskMb,
                    $"Agent {offer.AgentId} ({(revocable ? "revocable" : "regular")}) is over-committed: {used} > {capacity}.");
            }

            var ports = onAgent.SelectMany(t => t.Ports).Select(p => p.Port).ToList();
            Assert.Equal(ports.Count, ports.Distinct().Count());
            Assert.All(ports, p => Assert.Contains(offer.Ports, r => r.Contains(p)));
            // Maintenance was set before the first round, so nothing may ever have been placed there.
            var mode = state.FindHost(offer.Host)?.Mode;
            Assert.True(onAgent.Count == 0 || mode is not (MaintenanceMode.Draining or MaintenanceMode.Drained), $"A task was placed on {offer.Host}, which is {mode}.");
        }

        foreach (var job in state.JobKeys.ToList())
        {
            var tasks = state.TasksOf(job).Where(t => t.Host is not null && TaskStatuses.IsAgentAssigned(t.Status)).ToList();
            foreach (var limit in tasks.Select(t => t.Config).Distinct().SelectMany(c => c.Constraints).Where(c => c.KindCase == Constraint.KindOneofCase.Limit))
            {
                var counts = tasks.SelectMany(t => state.FindHost(t.Host!)!.AttributeValues(limit.Name)).GroupBy(v => v);
                Assert.All(counts, g => Assert.True(g.Count() <= limit.Limit.Limit, $"Job {job.Canonical()} has {g.Count()} tasks on {limit.Name}={g.Key}, over {limit.Limit.Limit}."));
            }
        }
    }
}
