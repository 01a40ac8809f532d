using Aurora.Cluster.Benchmarks.Harness;

namespace Aurora.Cluster.Benchmarks;

internal static class Program
{
    private const string Usage = """
        usage: Aurora.Cluster.Benchmarks writes|failover [options]

          writes      PUT /api/quotas/ROLE from 1/16/64 concurrent HTTP clients (closed loop) to the
                      leader of real aurora-scheduler processes from dist/bin: 1 replica and 3
                      replicas on loopback, interleaved; then etcd (3 members), ZooKeeper (3-server
                      ensemble) and PostgreSQL measured by their own scripts; prints throughput,
                      p50/p99, ratios and PASS/MISS
                        --seconds N      measured seconds per run (default 5)
                        --warmup N       unmeasured seconds before each run (default 1)
                        --reps N         repetitions, the median is reported (default 3)
                        --count N        at most N writes per run (default 1000000)
                        --dir DIR        where the scratch directory goes (default: the temp dir)
                        --bin DIR        the published executables (default: dist/bin above the
                                         current directory; ./build.sh makes it)
                        --no-peers       do not run the peers (their goals are then skipped)
                        --peers-dir DIR  the peers' scripts (default ../shared/peers beside the repository)
                        --peer-reps N    REPS for the peers' scripts (default 1)
                        --peer-seconds N SECS for the peers' scripts, per load (default 5)

          failover    3 replicas with the default timings, 4 clients writing to any replica and
                      following redirects; each trial SIGKILLs the leader and times the first write
                      acknowledged by its successor, then restarts the killed replica; prints
                      median, p90 and max, and PASS/MISS against a median under 1.5 s
                        --trials N       kills of the leader (default 20)
                        --clients N      concurrent writers (default 4)
                        --dir DIR, --bin DIR  as above

        Everything binds 127.0.0.1 and is written under a fresh scratch directory that is deleted at
        the end (the peers' scripts keep their own state under PEERS_DIR, default /tmp/peers).
        Exit codes: 0 every goal met, 1 a goal missed or not judged, 2 bad arguments, 130 interrupted.
        """;

    public static Task<int> Main(string[] args) => HarnessMain.RunAsync(
        args,
        Usage,
        async (mode, options) => mode switch
        {
            "writes" => await WritesHarness.RunAsync(WritesHarness.Settings.Parse(options)),
            "failover" => await FailoverHarness.RunAsync(FailoverHarness.Settings.Parse(options)),
            _ => throw HarnessMain.UnknownMode(mode),
        });
}
