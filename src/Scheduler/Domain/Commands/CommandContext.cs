using Aurora.Scheduler.Model;
using Aurora.Scheduler.Settings;

namespace Aurora.Scheduler.Commands;

/// <summary>Mints the unique part of new task ids and job update ids.</summary>
/// <remarks>
/// An input of decisions, like the clock: production uses random UUIDs (Aurora.Scheduler.Persistence.RandomIdGenerator), tests and simulations a
/// seeded source. Replay never calls it: the ids are in the events.
/// </remarks>
public interface IIdGenerator
{
    string NewId();
}

/// <summary>UUID-shaped ids from a seed: the same seed gives the same ids.</summary>
/// <remarks>Not thread-safe.</remarks>
public sealed class SeededIdGenerator(int seed) : IIdGenerator
{
    private readonly Random _random = new(seed);

    public string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        _random.NextBytes(bytes);
        return new Guid(bytes).ToString();
    }
}

/// <summary>Who asks, when, under which settings, and where new ids come from: every input of a decision besides the state.</summary>
public sealed record CommandContext(string Principal, DateTimeOffset Now, SchedulerSettings Settings, IIdGenerator Ids)
{
    public long NowMicros => Micros.Of(Now);
}
