using Aurora.Storage.Benchmarks.Harness;
using Aurora.Storage.Benchmarks.Micro;

namespace Aurora.Storage.Benchmarks;

internal static class Program
{
    private const string Usage = """
        usage: Aurora.Storage.Benchmarks <mode> [options]

          append   raw disk (pwrite + fdatasync, 1/16/64 x 1 KiB per sync) against the log with
                   1/16/64 concurrent writers, interleaved; prints ratios and PASS/MISS
                     --seconds N   measured seconds per run (default 5)
                     --warmup N    unmeasured seconds before each run (default 1)
                     --reps N      repetitions, the median is reported (default 3)
                     --count N     at most N records/entries per run (default 1000000)
                     --dir DIR     where the scratch directory goes (default: the temp dir)
          replay   writes N entries of 1 KiB, reopens the log (timed recovery scan) and reads
                   every entry with a warm page cache; prints entries/s and PASS/MISS
                     --entries N   entries to write (default 1000000)
                     --reps N      timed reads, the median is reported (default 3)
                     --dir DIR     where the scratch directory goes (default: the temp dir)
          micro    BenchmarkDotNet micro benchmarks (ShortRun, in process); any further arguments
                   go to BenchmarkDotNet, e.g. micro --filter '*Crc*'

        Everything is written under a fresh scratch directory that is deleted at the end.
        """;

    public static Task<int> Main(string[] args) => HarnessMain.RunAsync(args, Usage, async (mode, options) => mode switch
    {
        "append" => await AppendHarness.RunAsync(AppendHarness.Settings.Parse(options)),
        "replay" => await ReplayHarness.RunAsync(ReplayHarness.Settings.Parse(options)),
        "micro" => MicroBenchmarks.Run(options),
        _ => throw HarnessMain.UnknownMode(mode),
    });
}
