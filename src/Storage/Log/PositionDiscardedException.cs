namespace Aurora.Storage.Log;

/// <summary>
/// A read met an entry that a suffix truncation (<see cref="SegmentedLog.TruncateSuffixAsync"/>) or a
/// reset (<see cref="SegmentedLog.ResetAsync"/>) discarded while the read was under way: what it
/// would have returned there may no longer be the log's entry at that position. Read again.
/// </summary>
public sealed class PositionDiscardedException(ulong position)
    : InvalidOperationException($"position {position} was discarded by a suffix truncation or a reset of the log while it was being read; read it again")
{
    public ulong Position { get; } = position;
}
