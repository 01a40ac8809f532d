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
    /// method compiled), then measures its CPU over windows of <paramref name="rounds"/> rounds (and
    /// at least two seconds) each, and returns the quietest of <paramref name="windows"/>: a busy loop
    /// is busy in every window, while housekeeping (a sandbox collection, a GC) is a burst in one.
    /// </summary>
    /// <param name="roundsDone">How many rounds the process has done so far, e.g. its heartbeats answered.</param>
    public static async Task<(TimeSpan Cpu, TimeSpan Wall)> MeasureAsync(int pid, Func<Task<long>> roundsDone, Func<string>? describe = null, int settleRounds = 2, int rounds = 3, int windows = 2)
    {
        ArgumentNullException.ThrowIfNull(roundsDone);
        var done = await roundsDone().ConfigureAwait(false);
        await Eventually.HoldsAsync($"{settleRounds} more rounds of process {pid} to settle", async () => await roundsDone().ConfigureAwait(false) >= done + settleRounds, TimeSpan.FromMinutes(1), describe).ConfigureAwait(false);
        (TimeSpan Cpu, TimeSpan Wall)? quietest = null;
        for (var window = 0; window < windows; window++)
        {
            done = await roundsDone().ConfigureAwait(false);
            var cpu = CpuOf(pid);
            var wall = Stopwatch.StartNew();
            await Eventually.HoldsAsync($"{rounds} more rounds of process {pid}, and two seconds", async () =>
                await roundsDone().ConfigureAwait(false) >= done + rounds && wall.Elapsed >= TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1), describe).ConfigureAwait(false);
            var measured = (CpuOf(pid) - cpu, wall.Elapsed);
            if (quietest is not { } best || measured.Item1 / measured.Elapsed < best.Cpu / best.Wall)
            {
                quietest = measured;
            }
        }

        return quietest!.Value;
    }

    /// <summary>User and system CPU of the whole process (all its threads).</summary>
    public static TimeSpan CpuOf(int pid)
    {
        using var process = Process.GetProcessById(pid);
        return process.TotalProcessorTime;
    }
}
