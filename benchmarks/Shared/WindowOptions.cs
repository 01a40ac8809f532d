using System.Globalization;

namespace Aurora.Benchmarks.Shared;

/// <summary>
/// The options of a harness whose cases are measured windows, interleaved over repetitions:
/// <c>--seconds</c>, <c>--warmup</c>, <c>--reps</c>, <c>--count</c>, <c>--dir</c>.
/// </summary>
internal sealed record WindowOptions(double Seconds, double WarmupSeconds, int Reps, long MaxCount, string? Directory)
{
    /// <summary>The option names, for <see cref="Arguments"/>.</summary>
    public static readonly string[] Names = ["seconds", "warmup", "reps", "count", "dir"];

    /// <summary>The unrecorded run a harness starts with (JIT, thread pool growth): no warm-up, half a second.</summary>
    public static WindowOptions FirstRun { get; } = new(0.5, 0, 1, 100_000, null);

    public TimeSpan Duration => TimeSpan.FromSeconds(Seconds);

    public TimeSpan Warmup => TimeSpan.FromSeconds(WarmupSeconds);

    public static WindowOptions From(Arguments a) => new(
        a.Double("seconds", 5, 0.1),
        a.Double("warmup", 1, 0),
        (int)a.Long("reps", 3, 1),
        a.Long("count", 1_000_000, 64),
        a.String("dir"));

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"reps={Reps} seconds={Seconds} warmup={WarmupSeconds} count={MaxCount}");
}
