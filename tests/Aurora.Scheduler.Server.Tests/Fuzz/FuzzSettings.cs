using System.Globalization;

namespace Aurora.Scheduler.Server.Tests.Fuzz;

/// <summary>
/// How much a fuzz run does, from the environment: <c>AURORA_FUZZ_LONG=1</c> (set by
/// <c>./test.sh --long</c>) for a long run, <c>AURORA_FUZZ_SEED=N</c> to replay the run a failure printed.
/// </summary>
internal sealed record FuzzSettings(int Seed, int Cases, bool Long)
{
    public const string LongVariable = "AURORA_FUZZ_LONG";

    public const string SeedVariable = "AURORA_FUZZ_SEED";

    /// <param name="cases">Cases in a normal run; a long run does ten times as many.</param>
    public static FuzzSettings FromEnvironment(int cases)
    {
        var isLong = Environment.GetEnvironmentVariable(LongVariable) is "1" or "true";
        var seed = int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var given)
            ? given
            : Random.Shared.Next();
        return new FuzzSettings(seed, isLong ? cases * 10 : cases, isLong);
    }

    /// <summary>How to replay this run, for failure messages.</summary>
    public string Replay => $"replay with {SeedVariable}={Seed}{(Long ? $" {LongVariable}=1" : string.Empty)}";
}
