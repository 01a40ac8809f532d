namespace Aurora.Storage.Log;

/// <summary>A read asked for a position that prefix truncation has already removed.</summary>
public sealed class PositionTruncatedException(ulong requested, ulong firstRetained)
    : InvalidOperationException($"position {requested} was truncated; the first retained position is {firstRetained}")
{
    public ulong Requested { get; } = requested;

    public ulong FirstRetained { get; } = firstRetained;
}
