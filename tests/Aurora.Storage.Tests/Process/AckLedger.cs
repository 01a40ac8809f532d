using Aurora.Storage.CrashChild;

namespace Aurora.Storage.Tests.Process;

/// <summary>Every acknowledgement any crash child printed for one log directory, across all its restarts.</summary>
internal sealed class AckLedger
{
    private readonly Dictionary<ulong, AckLine> _acks = [];

    public int Count => _acks.Count;

    /// <summary>The highest acknowledged position, 0 if none.</summary>
    public ulong Highest { get; private set; }

    public IEnumerable<AckLine> All => _acks.Values;

    public void Add(AckLine ack, string context)
    {
        // A position acknowledged twice means a restart handed out an acknowledged position again,
        // that is, the log lost it.
        if (!_acks.TryAdd(ack.Position, ack))
        {
            Assert.Fail($"{context}: position {ack.Position} was acknowledged twice, first as {_acks[ack.Position]}, then as {ack}");
        }

        Highest = Math.Max(Highest, ack.Position);
    }
}
