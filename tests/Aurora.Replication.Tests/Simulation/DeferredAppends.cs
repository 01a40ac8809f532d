using Aurora.Replication.Consensus;
using Aurora.Storage.Protos;

namespace Aurora.Replication.Tests.Simulation;

/// <summary>
/// A replica's storage whose <see cref="AppendAsync"/> writes later, when the simulator says the
/// disk got to it (<see cref="CompleteThrough"/>), as the log's writer thread does: the leader's
/// loop goes on meanwhile, and a crash before then loses the append (it never reached the disk).
/// </summary>
/// <remarks>
/// Appends are written in the order they were started; one that fails fails those queued behind it
/// (as <c>SegmentedLog</c> does), and none of them reaches the disk. Any other write while appends
/// are queued is a bug in the core (it must flush them first) and throws.
/// </remarks>
internal sealed class DeferredAppends(IReplicaStorage inner, Action flushedWhileQueued) : DelegatingStorage(inner)
{
    private readonly Queue<(IReadOnlyList<LogEntry> Entries, TaskCompletionSource Written)> _queued = new();

    /// <summary>How many appends are waiting for the disk.</summary>
    public int Queued => _queued.Count;

    public override void Append(IReadOnlyList<LogEntry> entries)
    {
        ThrowIfQueued("append synchronously");
        Inner.Append(entries);
    }

    public override Task AppendAsync(IReadOnlyList<LogEntry> entries)
    {
        var expected = (_queued.Count > 0 ? _queued.Last().Entries[^1].Position : Inner.LastPosition) + 1;
        if (entries.Count == 0 || entries[0].Position != expected)
        {
            throw new ArgumentException($"an append at {(entries.Count > 0 ? entries[0].Position : 0)} does not follow those started, which end at {expected - 1}");
        }

        // Copies, as the log encodes what it is given at the call: the caller may change its entries later.
        var written = new TaskCompletionSource();
        _queued.Enqueue(([.. entries.Select(e => e.Clone())], written));
        return written.Task;
    }

    public override void FlushAppends()
    {
        if (_queued.Count > 0)
        {
            flushedWhileQueued();
        }

        CompleteAll();
    }

    /// <summary>The disk has written every queued append (a test's step, not the core's flush).</summary>
    public void CompleteAll()
    {
        while (_queued.Count > 0)
        {
            WriteOldest();
        }
    }

    /// <summary>The disk has written the queued appends up to and including <paramref name="write"/> (if it is still queued).</summary>
    public void CompleteThrough(Task write)
    {
        if (!_queued.Any(q => q.Written.Task == write))
        {
            return;
        }

        while (_queued.Count > 0 && !write.IsCompleted)
        {
            WriteOldest();
        }
    }

    public override void TruncateSuffix(ulong lastKept)
    {
        ThrowIfQueued("truncate");
        Inner.TruncateSuffix(lastKept);
    }

    public override void SaveMetadata(ReplicaMetadata metadata)
    {
        ThrowIfQueued("save its metadata");
        Inner.SaveMetadata(metadata);
    }

    public override void InstallSnapshot(ReplicaSnapshot snapshot, byte[] blob)
    {
        ThrowIfQueued("install a snapshot");
        Inner.InstallSnapshot(snapshot, blob);
    }

    private void WriteOldest()
    {
        var (entries, written) = _queued.Dequeue();
        try
        {
            Inner.Append(entries);
            written.SetResult();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            written.SetException(e);
            while (_queued.TryDequeue(out var behind))
            {
                behind.Written.SetException(new IOException($"an earlier append failed: {e.Message}", e));
            }
        }
    }

    private void ThrowIfQueued(string what)
    {
        if (_queued.Count > 0)
        {
            throw new InvalidOperationException($"the core tried to {what} with {_queued.Count} of its appends still queued");
        }
    }
}
