using System.Diagnostics;
using System.Globalization;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;
using Aurora.Storage.IO;
using Aurora.Storage.Replica;

namespace Aurora.Scheduler.Benchmarks.Harness;

/// <summary>
/// The <c>placement</c> mode: a real <see cref="SchedulerStore"/> (one replica, every append
/// fsync'd) with thousands of PENDING tasks and a thousand agents; rounds of
/// <see cref="PlacementEngine.Plan"/> under the store's read lock, each committed with
/// <see cref="AssignTasks"/>, until a round places nothing. Reports placements per second with the
/// time split between planning and committing; the goal is 5,000 placements/s.
/// </summary>
internal static class PlacementBench
{
    private const double GoalPerSecond = 5_000;

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var parsed = new Arguments(args, "jobs", "instances", "offers", "racks", "batch", "seed", "dir");
        var jobs = (int)parsed.Long("jobs", 100, 1);
        var instances = (int)parsed.Long("instances", 100, 1);
        var offerCount = (int)parsed.Long("offers", 1_000, 1);
        var racks = (int)parsed.Long("racks", 20, 1);
        var batch = (int)parsed.Long("batch", 2_000, 1);
        var seed = (int)parsed.Long("seed", 42, 0);
        using var scratch = new ScratchDirectory(parsed.String("dir"));
        Console.WriteLine($"# machine: {Machine.Describe(scratch.Path)}");
        Console.WriteLine($"# load average at start: {Machine.LoadAverage()}");
        Console.WriteLine(Invariant($"# placement: {jobs} jobs x {instances} instances on {offerCount} agents in {racks} racks, batches of {batch}, seed {seed}"));

        var directory = scratch.Sub("replica");
        Directory.CreateDirectory(directory);
        new ReplicaMetadataStore(PhysicalFileSystem.Instance, directory).Save(ReplicaMetadataStore.NewVoting(DateTimeOffset.UtcNow));
        using var store = SchedulerStore.Open(new SchedulerStoreOptions { Directory = directory, Ids = new SeededIdGenerator(seed) });
        var offers = await SetUpAsync(store, jobs, instances, offerCount, racks, seed, scratch.Interrupted);
        var pending = store.Read(state => state.CountIn(ScheduleStatus.Pending));
        Console.WriteLine(Invariant($"# set up: {pending} PENDING tasks, {store.Read(s => s.Hosts.Count)} hosts; placing"));

        var total = Stopwatch.StartNew();
        var run = await PlaceAllAsync(store, offers, batch, Console.WriteLine, scratch.Interrupted);
        var (placed, skipped, rounds, planning, committing) = run;

        var seconds = total.Elapsed.TotalSeconds;
        var rate = placed / seconds;
        Console.WriteLine();
        Console.WriteLine("==== aurora scheduler placement benchmark: summary ====");
        Console.WriteLine(Invariant($"tasks placed: {placed} of {pending} in {rounds} rounds ({skipped} skipped at commit)"));
        Console.WriteLine(Invariant($"seconds: {seconds:F3} (planning {planning.TotalSeconds:F3} = {100 * planning.TotalSeconds / seconds:F0}%, committing {committing.TotalSeconds:F3} = {100 * committing.TotalSeconds / seconds:F0}%)"));
        Console.WriteLine(Invariant($"placements/s: {rate:F0} (goal >= {GoalPerSecond:F0}: {(rate >= GoalPerSecond ? "PASS" : "MISS")})"));
        Console.WriteLine(Invariant($"load average at end: {Machine.LoadAverage()}"));
        Console.WriteLine("==== end ====");
        return rate >= GoalPerSecond ? 0 : 1;
    }

    /// <summary>Rounds of Plan (under the read lock) and AssignTasks (one commit each) until a round places nothing.</summary>
    internal static async Task<PlacementRun> PlaceAllAsync(SchedulerStore store, IReadOnlyList<Offer> offers, int batch, Action<string> log, CancellationToken cancellationToken)
    {
        var planning = TimeSpan.Zero;
        var committing = TimeSpan.Zero;
        var placed = 0;
        var skipped = 0;
        var rounds = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var watch = Stopwatch.StartNew();
            var now = Micros.Of(DateTimeOffset.UtcNow);
            var plan = store.Read(state => PlacementEngine.Plan(state, offers, Settings.SchedulerSettings.Default, now, batch));
            planning += watch.Elapsed;
            if (plan.Assignments.Count == 0)
            {
                log(Invariant($"# round {rounds + 1}: nothing placeable left; {plan.PendingReasons.Count} tasks pending, e.g. {Example(plan)}"));
                return new PlacementRun(placed, skipped, rounds, planning, committing);
            }

            watch.Restart();
            var decision = await store.ExecuteAsync(new AssignTasks(plan.Assignments, offers), "scheduler", cancellationToken);
            committing += watch.Elapsed;
            var outcome = (AssignmentOutcome)decision.Value!;
            placed += outcome.Assigned.Count;
            skipped += outcome.Skipped.Count;
            rounds++;
            log(Invariant($"# round {rounds}: planned {plan.Assignments.Count}, assigned {outcome.Assigned.Count}, skipped {outcome.Skipped.Count}"));
        }
    }

    /// <summary>
    /// Agents with rack and zone attributes (saved through SaveHostAttributes), then the jobs: half
    /// with a rack limit, every fifth with a zone value constraint, a few with named ports.
    /// </summary>
    internal static async Task<List<Offer>> SetUpAsync(SchedulerStore store, int jobs, int instances, int offerCount, int racks, int seed, CancellationToken cancellationToken)
    {
        var random = new Random(seed);
        var offers = new List<Offer>(offerCount);
        for (var i = 0; i < offerCount; i++)
        {
            var host = Invariant($"host-{i:D4}");
            var attributes = new HostAttributes { Host = host, AgentId = "agent-" + host };
            attributes.Attributes.Add(new Protos.Attribute { Name = "rack", Values = { Invariant($"rack-{i % racks}") } });
            attributes.Attributes.Add(new Protos.Attribute { Name = "zone", Values = { Invariant($"zone-{i % 3}") } });
            await store.ExecuteAsync(new SaveHostAttributes(attributes), "scheduler", cancellationToken);
            offers.Add(new Offer(attributes.AgentId, host, new Resources { NumCpus = 32, RamMb = 131_072, DiskMb = 1_048_576 }, [new PortRange(31000, 32000)]));
        }

        await store.ExecuteAsync(new SetQuota("bench", new Resources { NumCpus = 1_000_000, RamMb = 1L << 40, DiskMb = 1L << 40 }), "admin", cancellationToken);
        var perRackLimit = Math.Max(1, (int)Math.Ceiling(instances * 1.5 / racks));
        for (var j = 0; j < jobs; j++)
        {
            var key = JobKeys.Create("bench", "prod", Invariant($"job-{j:D3}"));
            var task = new TaskConfig
            {
                Job = key,
                IsService = true,
                Tier = j % 4 == 0 ? "preemptible" : "preferred",
                Priority = random.Next(3),
                MaxTaskFailures = 1,
                Resources = new Resources { NumCpus = 0.5 + random.Next(4) * 0.25, RamMb = 256 * (1 + random.Next(8)), DiskMb = 1024 },
                Processes = { new Protos.Process { Name = "main", Cmdline = "sleep 3600" } },
            };
            if (j % 2 == 0)
            {
                task.Constraints.Add(new Constraint { Name = "rack", Limit = new LimitConstraint { Limit = perRackLimit } });
            }

            if (j % 5 == 0)
            {
                task.Constraints.Add(new Constraint { Name = "zone", Value = new ValueConstraint { Values = { "zone-0", "zone-1" } } });
            }

            if (j % 3 == 0)
            {
                task.Resources.NamedPorts.Add("http");
            }

            await store.ExecuteAsync(new CreateJob(new JobConfiguration { Key = key, InstanceCount = instances, Task = task }), "bench", cancellationToken);
        }

        return offers;
    }

    private static string Example(PlacementPlan plan) =>
        plan.PendingReasons.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key}: {r.Value}").FirstOrDefault() ?? "none";

    internal sealed record PlacementRun(int Placed, int Skipped, int Rounds, TimeSpan Planning, TimeSpan Committing);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
