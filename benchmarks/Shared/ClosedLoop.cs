using System.Diagnostics;

namespace Aurora.Benchmarks.Shared;

/// <summary>
/// Closed-loop load: each of N workers starts an operation (an append, a proposal), awaits its
/// acknowledgement, and starts the next, through a warm-up and then a measured window bounded by
/// time and by count.
/// </summary>
internal static class ClosedLoop
{
    /// <summary>
    /// Runs the workers. Operations that start inside the window are counted and timed (a failed
    /// one, <paramref name="operation"/> returning false, is counted in
    /// <see cref="Measurement.Failures"/> and not timed); the window ends when the last of them is
    /// acknowledged.
    /// </summary>
    /// <param name="name">The case's name in the measurement.</param>
    /// <param name="workers">Concurrent workers.</param>
    /// <param name="operation">One operation; true when it succeeded. Exceptions end the run.</param>
    /// <param name="bytesPerOperation">Bytes one operation writes, for the MiB/s figure.</param>
    /// <param name="syncs">Reads a running count of fdatasyncs, taken at the start and the end of the window.</param>
    /// <param name="window">The warm-up, the window, and the most operations it counts.</param>
    public static async Task<Measurement> RunAsync(
        string name, int workers, Func<Task<bool>> operation, long bytesPerOperation, Func<long> syncs, WindowOptions window, CancellationToken cancellationToken)
    {
        var maxOperations = window.MaxCount;
        var measureFrom = Stopwatch.GetTimestamp() + Ticks(window.Warmup);
        var measureUntil = measureFrom + Ticks(window.Duration);
        long started = 0;
        long failures = 0;
        var latencies = new List<long>[workers];
        var tasks = new Task[workers];
        for (var i = 0; i < workers; i++)
        {
            // Small enough to stay off the large object heap (it grows as needed).
            var mine = latencies[i] = new List<long>(1 << 12);
            tasks[i] = Task.Run(async () =>
            {
                while (true)
                {
                    var before = Stopwatch.GetTimestamp();
                    if (before >= measureUntil || cancellationToken.IsCancellationRequested)
                    {
                        return;
                    }

                    var measured = before >= measureFrom;
                    if (measured && Interlocked.Increment(ref started) > maxOperations)
                    {
                        return;
                    }

                    var succeeded = await operation();
                    if (!measured)
                    {
                        continue;
                    }

                    if (succeeded)
                    {
                        mine.Add(Stopwatch.GetTimestamp() - before);
                    }
                    else
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
            });
        }

        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), measureFrom);
        if (wait > TimeSpan.Zero)
        {
            // Not cancelled by the token: the workers stop on it, and are awaited below either way.
            await Task.Delay(wait);
        }

        // A few milliseconds late at worst; only the CPU, GC and sync figures use it.
        var start = UsageMark.Now();
        var syncsBefore = syncs();
        await Task.WhenAll(tasks);
        var end = UsageMark.Now();
        var syncCount = syncs() - syncsBefore;
        cancellationToken.ThrowIfCancellationRequested();
        var seconds = (end.Timestamp - measureFrom) / (double)Stopwatch.Frequency;
        var all = Measurement.ToSortedMicros(latencies.SelectMany(l => l));
        return new Measurement(name, all.Length, all.Length * bytesPerOperation, seconds, all, syncCount, end.Since(start)) { Failures = Interlocked.Read(ref failures) };
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
