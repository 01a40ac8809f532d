using FsCheck;
using FsCheck.Fluent;

namespace Aurora.Scheduler.Tests.Properties;

/// <summary>
/// Runs a property over random scenarios: FsCheck draws the seed and the length (50 to 200
/// commands) and prints them when a run fails; <see cref="RandomScenario.Check"/> adds the last
/// commands. A failing pair is replayed with <c>RandomScenario.Check(seed, length, ...)</c> in a named test.
/// </summary>
internal static class Scenarios
{
    public const int DefaultRuns = 100;

    private static readonly Gen<(int Seed, int Length)> SeedAndLength =
        from seed in Gen.Choose(0, int.MaxValue)
        from length in Gen.Choose(50, 200)
        select (seed, length);

    public static void ForAll(Action<RandomScenario, int> body, bool checkRejections = false, int runs = DefaultRuns) =>
        Prop.ForAll(SeedAndLength.ToArbitrary(), run => RandomScenario.Check(run.Seed, run.Length, body, checkRejections))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(runs).WithQuietOnSuccess(true));
}
