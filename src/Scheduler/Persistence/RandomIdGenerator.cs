using Aurora.Scheduler.Commands;

namespace Aurora.Scheduler.Persistence;

/// <summary>Random UUIDs, as Aurora's TaskIdGenerator and update keys use. The domain only sees <see cref="IIdGenerator"/>.</summary>
public sealed class RandomIdGenerator : IIdGenerator
{
    public static RandomIdGenerator Instance { get; } = new();

    public string NewId() => Guid.NewGuid().ToString();
}
