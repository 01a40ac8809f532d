using System.Globalization;

namespace Aurora.Testing;

/// <summary>
/// How much a fuzzer does and from which seed, read from the environment the same way by every
/// fuzzer: <c>AURORA_FUZZ_SEED=N</c> replays the run a failure printed, <c>AURORA_FUZZ_LONG=1</c>
/// (set by <c>./test.sh --long</c>) runs the long count, <c>AURORA_FUZZ_CASES=N</c> runs N cases.
/// </summary>
public sealed record FuzzSettings(int Seed, int Cases, bool Long)
{
    public const string SeedVariable = "AURORA_FUZZ_SEED";

    public const string LongVariable = "AURORA_FUZZ_LONG";

    public const string CasesVariable = "AURORA_FUZZ_CASES";

    /// <param name="defaultCases">Cases in a run of ./test.sh.</param>
    /// <param name="longCases">Cases in a long run.</param>
    public static FuzzSettings FromEnvironment(int defaultCases, int longCases)
    {
        var isLong = Environment.GetEnvironmentVariable(LongVariable) is "1" or "true";
        var seed = int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var given)
            ? given
            : Random.Shared.Next();
        var cases = int.TryParse(Environment.GetEnvironmentVariable(CasesVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0
            ? count
            : isLong ? longCases : defaultCases;
        return new FuzzSettings(seed, cases, isLong);
    }

    /// <summary>How to replay this run, for failure messages.</summary>
    public string Replay => $"seed {Seed}, {Cases} cases (replay with {SeedVariable}={Seed} {CasesVariable}={Cases})";
}
