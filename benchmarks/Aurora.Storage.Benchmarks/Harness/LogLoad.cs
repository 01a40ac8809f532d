using System.Diagnostics;
using Aurora.Storage.Log;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Storage.Benchmarks.Harness;

/// <summary>
/// Closed-loop append load on a <see cref="SegmentedLog"/>: each of N writers appends one entry,
/// awaits its acknowledgement (durable), and appends the next.
/// </summary>
internal static class LogLoad
{
    /// <summary>
    /// Runs the writers through a warm-up and then a measured window bounded by time and by count.
    /// Appends that start inside the window are counted and timed; the window ends when the last
    /// of them is acknowledged.
    /// </summary>
    public static async Task<Measurement> RunAsync(SegmentedLog log, CountingFileSystem files, int writers, Any payload, TimeSpan warmup, TimeSpan duration, long maxEntries, CancellationToken cancellationToken)
    {
        var measureFrom = Stopwatch.GetTimestamp() + Ticks(warmup);
        var measureUntil = measureFrom + Ticks(duration);
        long started = 0;
        var latencies = new List<long>[writers];
        var tasks = new Task[writers];
        for (var i = 0; i < writers; i++)
        {
            var mine = latencies[i] = new List<long>(1 << 16);
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
                    if (measured && Interlocked.Increment(ref started) > maxEntries)
                    {
                        return;
                    }

                    await log.AppendAsync(Payloads.Entry(payload));
                    if (measured)
                    {
                        mine.Add(Stopwatch.GetTimestamp() - before);
                    }
                }
            });
        }

        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), measureFrom);
        if (wait > TimeSpan.Zero)
        {
            // Not cancelled by the token: the writers stop on it, and are awaited below either way.
            await Task.Delay(wait);
        }

        // A few milliseconds late at worst; only the CPU and GC figures use it.
        var start = UsageMark.Now();
        var syncsBefore = files.WriterSyncs;
        await Task.WhenAll(tasks);
        var end = UsageMark.Now();
        var syncs = files.WriterSyncs - syncsBefore;
        cancellationToken.ThrowIfCancellationRequested();
        var seconds = (end.Timestamp - measureFrom) / (double)Stopwatch.Frequency;
        var all = Measurement.ToSortedMicros(latencies.SelectMany(l => l));
        return new Measurement($"log_{writers}w", all.Length, (long)all.Length * Payloads.RecordBytes(payload), seconds, all, syncs, end.Since(start));
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}
