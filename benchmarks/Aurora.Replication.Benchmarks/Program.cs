using Aurora.Replication.Benchmarks.Harness;

namespace Aurora.Replication.Benchmarks;

internal static class Program
{
    private const string Usage = """
        usage: Aurora.Replication.Benchmarks [replicated] [options]

          replicated  (the default) 1 KiB proposals from 1/16/64 concurrent proposers on 1 replica
                      and on 3 replicas over loopback TCP, each with its own directory, against the
                      disk's pwrite + fdatasync, interleaved; prints throughput, p50/p99, ratios and
                      PASS/MISS
                        --seconds N   measured seconds per run (default 5)
                        --warmup N    unmeasured seconds before each run (default 1)
                        --reps N      repetitions, the median is reported (default 3)
                        --count N     at most N proposals per run (default 1000000)
                        --dir DIR     where the scratch directory goes (default: the temp dir)
                        --timings T   consensus timings: production (the defaults: heartbeat 50 ms,
                                      lease 250 ms, elections after 300-600 ms) or relaxed (heartbeat
                                      100 ms, lease 1 s, elections after 1.5-3 s) (default production)

        Everything is written under a fresh scratch directory that is deleted at the end.
        Exit codes: 0 every goal met, 1 a goal missed, 2 bad arguments, 130 interrupted.
        """;

    public static Task<int> Main(string[] args) => HarnessMain.RunAsync(
        args,
        Usage,
        async (mode, options) => mode switch
        {
            "replicated" => await ReplicatedHarness.RunAsync(ReplicatedHarness.Settings.Parse(options)),
            _ => throw HarnessMain.UnknownMode(mode),
        },
        defaultMode: "replicated");
}
