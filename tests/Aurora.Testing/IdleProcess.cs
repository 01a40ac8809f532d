using System.Diagnostics;

namespace Aurora.Testing;

/// <summary>
/// Whether a process that has nothing to do stays idle: the CPU it uses while it goes round its loop
/// a few times, each round proved by an event it reports (an agent's answered heartbeats), never by a
/// bare sleep. A busy loop takes a whole core; an idle agent a few percent.
/// </summary>
public static class IdleProcess
{
    /// <summary>The share of one core a process may use and still be idle; far below a loop's 100%, far above what JIT and GC settling cost.</summary>
    public const double MaxIdleShare = 0.25;

    /// <summary>
    /// Lets the process settle for <paramref name="settleRounds"/> rounds (a last report applied, a
    /// method compiled), then measures its CPU over <paramref name="rounds"/> more, and at least
    /// <paramref name="atLeast"/>; returns the CPU used and the time it took.
    /// </summary>
    /// <param name="roundsDone">How many rounds the process has done so far, e.g. its heartbeats answered.</param>
    public static async Task<(TimeSpan Cpu, TimeSpan Wall)> MeasureAsync(int pid, Func<Task<long>> roundsDone, Func<string>? describe = null, int settleRounds = 2, int rounds = 3, TimeSpan? atLeast = null)
    {
        ArgumentNullException.ThrowIfNull(roundsDone);
        var minimum = atLeast ?? TimeSpan.FromSeconds(2);
        var done = await roundsDone().ConfigureAwait(false);
        await Eventually.HoldsAsync($"{settleRounds} more rounds of process {pid} to settle", async () => await roundsDone().ConfigureAwait(false) >= done + settleRounds, TimeSpan.FromMinutes(1), describe).ConfigureAwait(false);
        done = await roundsDone().ConfigureAwait(false);
        var cpu = CpuOf(pid);
        var wall = Stopwatch.StartNew();
        await Eventually.HoldsAsync($"{rounds} more rounds of process {pid}, and {minimum.TotalSeconds:0} s", async () =>
            await roundsDone().ConfigureAwait(false) >= done + rounds && wall.Elapsed >= minimum, TimeSpan.FromMinutes(1), describe).ConfigureAwait(false);
        return (CpuOf(pid) - cpu, wall.Elapsed);
    }

    /// <summary>User and system CPU of the whole process (all its threads).</summary>
    public static TimeSpan CpuOf(int pid)
    {
        using var process = Process.GetProcessById(pid);
        return process.TotalProcessorTime;
    }
}
