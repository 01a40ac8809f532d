using System.Diagnostics;
using System.Globalization;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Storage.IO;
using Aurora.Storage.Replica;

namespace Aurora.Scheduler.Benchmarks.Harness;

/// <summary>
/// The <c>status</c> mode: the placement benchmark's cluster (10,000 tasks ASSIGNED on 1,000
/// agents) in a real <see cref="SchedulerStore"/> (one replica, every append fsync'd), then every
/// agent reports its tasks STARTING and then RUNNING, the way heartbeats do, folded into the log
/// with <see cref="ApplyAgentReports"/> the way the scheduler's status pump group-commits them:
/// <c>--agents_per_commit</c> agents' reports per transaction (the pump takes whatever is queued,
/// up to 500). A status update is one task changing state (ASSIGNED to STARTING counts one,
/// STARTING to RUNNING another), as an executor's status update would in Mesos. The goal is
/// 20,000 status updates/s.
/// </summary>
internal static class StatusBench
{
    private const double GoalPerSecond = 20_000;

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var parsed = new Arguments(args, "jobs", "instances", "offers", "agents_per_commit", "seed", "dir");
        var jobs = (int)parsed.Long("jobs", 100, 1);
        var instances = (int)parsed.Long("instances", 100, 1);
        var offerCount = (int)parsed.Long("offers", 1_000, 1);
        var agentsPerCommit = (int)parsed.Long("agents_per_commit", 50, 1);
        var seed = (int)parsed.Long("seed", 42, 0);
        using var scratch = new ScratchDirectory(parsed.String("dir"));
        Console.WriteLine($"# machine: {Machine.Describe(scratch.Path)}");
        Console.WriteLine($"# load average at start: {Machine.LoadAverage()}");
        Console.WriteLine(Invariant($"# status: {jobs} jobs x {instances} instances on {offerCount} agents; {agentsPerCommit} agents' reports per commit; seed {seed}"));

        var directory = scratch.Sub("replica");
        Directory.CreateDirectory(directory);
        new ReplicaMetadataStore(PhysicalFileSystem.Instance, directory).Save(ReplicaMetadataStore.NewVoting(DateTimeOffset.UtcNow));
        using var store = SchedulerStore.Open(new SchedulerStoreOptions { Directory = directory, Ids = new SeededIdGenerator(seed) });
        var offers = await PlacementBench.SetUpAsync(store, jobs, instances, offerCount, 20, seed, scratch.Interrupted);
        var placement = await PlacementBench.PlaceAllAsync(store, offers, 2_000, _ => { }, scratch.Interrupted);
        var agents = store.Read(state => state.TasksIn(ScheduleStatus.Assigned)
            .GroupBy(t => (t.AgentId!, t.Host!))
            .Select(g => (Agent: g.Key, TaskIds: g.Select(t => t.TaskId).ToList()))
            .OrderBy(a => a.Agent.Item1, StringComparer.Ordinal)
            .ToList());
        Console.WriteLine(Invariant($"# set up: {placement.Placed} tasks ASSIGNED on {agents.Count} agents; reporting"));

        var total = Stopwatch.StartNew();
        var commits = 0;
        var slowest = TimeSpan.Zero;
        foreach (var phase in new[] { ScheduleStatus.Starting, ScheduleStatus.Running })
        {
            foreach (var chunk in agents.Chunk(agentsPerCommit))
            {
                var reports = chunk.Select(a => new AgentReport(a.Agent.Item1, a.Agent.Item2, a.TaskIds.Select(id => new ReportedTask(id, History(phase))).ToList())).ToList();
                var watch = Stopwatch.StartNew();
                await store.ExecuteAsync(new ApplyAgentReports(reports), "agent", scratch.Interrupted);
                slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
                commits++;
            }
        }

        var seconds = total.Elapsed.TotalSeconds;
        var running = store.Read(state => state.TasksIn(ScheduleStatus.Running).Count);
        var updates = 2L * running;
        var rate = updates / seconds;
        Console.WriteLine();
        Console.WriteLine("==== aurora scheduler status update benchmark: summary ====");
        Console.WriteLine(Invariant($"tasks RUNNING: {running} of {placement.Placed}"));
        Console.WriteLine(Invariant($"status updates: {updates} (ASSIGNED->STARTING and STARTING->RUNNING) in {commits} commits of {agentsPerCommit} agents' reports; slowest commit {slowest.TotalMilliseconds:F1} ms"));
        Console.WriteLine(Invariant($"seconds: {seconds:F3}"));
        Console.WriteLine(Invariant($"status updates/s: {rate:F0} (goal >= {GoalPerSecond:F0}: {(rate >= GoalPerSecond && running == placement.Placed ? "PASS" : "MISS")})"));
        Console.WriteLine(Invariant($"load average at end: {Machine.LoadAverage()}"));
        Console.WriteLine("==== end ====");
        return rate >= GoalPerSecond && running == placement.Placed ? 0 : 1;
    }

    /// <summary>What a heartbeat says of a task: its history on the agent up to <paramref name="status"/>.</summary>
    private static List<ReportedTransition> History(ScheduleStatus status) => status == ScheduleStatus.Starting
        ? [new(ScheduleStatus.Starting, "Initializing sandbox.")]
        : [new(ScheduleStatus.Starting, "Initializing sandbox."), new(ScheduleStatus.Running, "All initial processes started")];

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
