namespace Aurora.Scheduler.State;

/// <summary>
/// Shares equal strings that recur across tasks (hosts, agent ids, audit messages) so that a
/// store of many tasks holds each of them once, with bounded memory: a direct-mapped table where
/// a collision simply replaces the older string. Which instance is kept never affects state.
/// </summary>
/// <remarks>Not thread-safe: used only by the thread applying events.</remarks>
internal sealed class StringCache
{
    private readonly string?[] _slots;
    private readonly int _mask;

    public StringCache(int capacityPowerOfTwo = 8192)
    {
        _slots = new string?[capacityPowerOfTwo];
        _mask = capacityPowerOfTwo - 1;
    }

    public string? Share(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            // Absent and empty are the same fact; the state keeps null for both.
            return null;
        }

        if (value.Length > 256)
        {
            return value;
        }

        var slot = string.GetHashCode(value, StringComparison.Ordinal) & _mask;
        var existing = _slots[slot];
        if (existing is not null && string.Equals(existing, value, StringComparison.Ordinal))
        {
            return existing;
        }

        _slots[slot] = value;
        return value;
    }
}
