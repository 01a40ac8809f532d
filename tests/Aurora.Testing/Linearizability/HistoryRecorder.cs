namespace Aurora.Testing.Linearizability;

/// <summary>
/// Records a history as clients run: <see cref="Invoke"/> when a client sends a request,
/// <see cref="Return"/> when it gets the answer, <see cref="Fail"/> when it learns for certain the
/// request had no effect. Whatever is neither when <see cref="History"/> is taken has an unknown outcome.
/// </summary>
/// <remarks>
/// Safe from any thread: clients of a real-process test record concurrently. Times must come from one
/// clock (the simulator's, or <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>), taken before the
/// request leaves and after the answer arrives, so each operation's interval contains its effect.
/// A timeout, a lost connection or a crashed leader is not a failure: the request may have committed,
/// so leave the operation pending. Call <see cref="Fail"/> only on an answer that guarantees nothing
/// happened (rejected before it was proposed).
/// </remarks>
public sealed class HistoryRecorder<TInput, TOutput>
{
    private readonly Lock _lock = new();
    private readonly List<Entry> _entries = [];

    /// <summary>Records a call; returns the handle to pass to <see cref="Return"/> or <see cref="Fail"/>.</summary>
    public int Invoke(int clientId, TInput input, long time)
    {
        lock (_lock)
        {
            _entries.Add(new Entry(clientId, input, time));
            return _entries.Count - 1;
        }
    }

    /// <summary>Records the answer to the call <paramref name="handle"/>.</summary>
    public void Return(int handle, TOutput output, long time)
    {
        ArgumentNullException.ThrowIfNull(output);
        lock (_lock)
        {
            var entry = Pending(handle);
            if (time < entry.CallTime)
            {
                throw new ArgumentOutOfRangeException(nameof(time), $"operation {handle} returned at {time}, before its call at {entry.CallTime}");
            }

            entry.Output = output;
            entry.ReturnTime = time;
        }
    }

    /// <summary>Drops the call <paramref name="handle"/>: it certainly had no effect.</summary>
    public void Fail(int handle)
    {
        lock (_lock)
        {
            Pending(handle).Failed = true;
        }
    }

    /// <summary>The history so far: returned operations, and pending ones as of unknown outcome.</summary>
    public IReadOnlyList<Operation<TInput, TOutput>> History()
    {
        lock (_lock)
        {
            return _entries
                .Where(e => !e.Failed)
                .Select(e => new Operation<TInput, TOutput>(e.ClientId, e.Input, e.CallTime, e.Output, e.Output is null ? long.MaxValue : e.ReturnTime))
                .ToList();
        }
    }

    private Entry Pending(int handle)
    {
        if (handle < 0 || handle >= _entries.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(handle), $"no operation {handle} was invoked");
        }

        var entry = _entries[handle];
        if (entry.Failed || entry.Output is not null)
        {
            throw new InvalidOperationException($"operation {handle} already {(entry.Failed ? "failed" : "returned")}");
        }

        return entry;
    }

    private sealed class Entry(int clientId, TInput input, long callTime)
    {
        public int ClientId { get; } = clientId;

        public TInput Input { get; } = input;

        public long CallTime { get; } = callTime;

        public TOutput? Output { get; set; }

        public long ReturnTime { get; set; }

        public bool Failed { get; set; }
    }
}
