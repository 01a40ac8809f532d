namespace Aurora.Scheduler.Persistence;

/// <summary>A latency histogram with fixed buckets (seconds), Prometheus-shaped; lock-free updates.</summary>
public sealed class LatencyHistogram
{
    /// <summary>From 0.1 ms (a hop between threads) to 10 s (a stalled disk).</summary>
    public static readonly double[] Bounds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

    private readonly long[] _counts = new long[Bounds.Length + 1];
    private long _sumMicros;

    public void Record(TimeSpan elapsed)
    {
        // On every write's path: a plain search, no closure.
        var seconds = elapsed.TotalSeconds;
        var bucket = 0;
        while (bucket < Bounds.Length && seconds > Bounds[bucket])
        {
            bucket++;
        }

        Interlocked.Increment(ref _counts[bucket]);
        Interlocked.Add(ref _sumMicros, (long)(elapsed.Ticks / TimeSpan.TicksPerMicrosecond));
    }

    /// <summary>Cumulative counts per upper bound (the last is +Inf), the total and the sum in seconds.</summary>
    public (long[] Cumulative, long Count, double SumSeconds) Read()
    {
        var cumulative = new long[_counts.Length];
        long running = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            running += Interlocked.Read(ref _counts[i]);
            cumulative[i] = running;
        }

        return (cumulative, running, Interlocked.Read(ref _sumMicros) / 1e6);
    }
}

/// <summary>
/// Where the leader's write pipeline spends a write's time, stage by stage: what an operator reads
/// when writes are slow. The stages add up to the time a command takes, less the hop that hands
/// the answer back to its caller.
/// </summary>
public sealed class WritePipelineTimings
{
    /// <summary>Per command that changed state: from its arrival at the leader to its entry's proposal (queueing behind earlier decisions, and deciding).</summary>
    public LatencyHistogram Decide { get; } = new();

    /// <summary>Per proposal: from proposing a batch to the log reporting it committed (this replica's append, the followers' appends and acknowledgements).</summary>
    public LatencyHistogram Commit { get; } = new();

    /// <summary>Per proposal: from the log reporting it committed to this replica having applied it.</summary>
    public LatencyHistogram Apply { get; } = new();
}
