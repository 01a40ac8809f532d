using Aurora.Scheduler.Benchmarks.Harness;
using Aurora.Scheduler.Benchmarks.Micro;

namespace Aurora.Scheduler.Benchmarks;

internal static class Program
{
    private const string Usage = """
        usage: Aurora.Scheduler.Benchmarks <mode> [options]

          replay     events/s of folding the generated log into a state: in memory (decode + apply)
                     and from disk (StateReplayer.Replay); goal >= 1,000,000 events/s
          snapshot   capture, ToSnapshot, serialization, fsync'd write and load of the generated state;
                     then a store on the generated log with one client writing back to back for 6 s,
                     without and while snapshots are taken one after another: commit latency
                     p50/p99/max and GC pauses, and heap per task;
                     goals: load of 100,000 tasks < 1 s, longest commit during snapshots <= 50 ms,
                     store heap < 2 KiB per task
          memory     heap bytes per task, by replay and by snapshot load, with and without shared
                     configurations; goal < 2 KiB per task
          restore    aurora-log state --at on the generated log (from the first entry, and from a
                     snapshot half-way), aurora-log recover of a backup of the generated state, and the
                     staged recovery commit (in process); needs ./build.sh (dist/bin);
                     goals: state --at < 2 s, recover < 10 s, recovery commit < 10 s
          all        the four above on one generated log
            options of the five modes above:
              --seed N    generator seed (default 42)
              --jobs N    jobs (default 10000: 70% services, 20% ad-hoc, 10% cron)
              --tasks N   instances over all jobs (default 100000)
              --roles N   roles (default 200)
              --hosts N   hosts (default 1000)
              --hours N   hours of churn after the jobs are up (default 48)
              --reps N    measured runs after a warm-up; the best is reported (default 5)
              --dir DIR   where the scratch directory goes (default: the temp dir)
          api        end to end through HTTP against dist/bin/aurora-scheduler -dev (run ./build.sh
                     first): job creations from 1 client, then from several; reads; latency
                     percentiles, throughput and their ratio
              --writes N  creations per phase (default 400); reads are 4x that
              --clients N concurrent clients (default 8)
              --bin DIR   where aurora-scheduler is (default: dist/bin above the current directory)
              --dir DIR   where the scratch directory goes (default: the temp dir)
          placement  rounds of PlacementEngine.Plan + AssignTasks on a SchedulerStore (1 replica, fsync'd)
                     until nothing more fits; placements/s, planning vs committing; goal >= 5,000/s
              --jobs N       jobs (default 100; half with a rack limit, every fifth with a zone constraint)
              --instances N  instances per job (default 100)
              --offers N     agents, each offering its whole capacity (default 1000)
              --racks N      racks the agents are spread over (default 20)
              --batch N      most assignments planned and committed per round (default 2000)
              --seed N       seed of the generated jobs (default 42)
              --dir DIR      where the scratch directory goes (default: the temp dir)
          status     the placement cluster (10,000 tasks ASSIGNED on 1,000 agents), then every agent
                     reports its tasks STARTING, then RUNNING, through ApplyAgentReports as the
                     status pump group-commits them; status updates/s; goal >= 20,000/s
              --jobs, --instances, --offers  as for placement
              --agents_per_commit N  agents' reports per transaction (default 50; the pump's cap is 500)
              --seed, --dir  as for placement
          micro      BenchmarkDotNet micro benchmarks of Apply and decode (in process); any further
                     arguments go to BenchmarkDotNet, e.g. micro --filter '*status*'

        The log and snapshots are written under a fresh scratch directory deleted at the end.
        """;

    public static Task<int> Main(string[] args) => HarnessMain.RunAsync(args, Usage, async (mode, options) => mode switch
    {
        "replay" or "snapshot" or "memory" or "restore" or "all" => await SchedulerHarness.RunAsync(mode, SchedulerHarness.Settings.Parse(options)),
        "micro" => MicroBenchmarks.Run(options),
        "api" => await ApiBench.RunAsync(options),
        "placement" => await PlacementBench.RunAsync(options),
        "status" => await StatusBench.RunAsync(options),
        _ => throw HarnessMain.UnknownMode(mode),
    });
}
