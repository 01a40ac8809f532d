using System.Collections.Concurrent;
using Aurora.Agent.Protocol;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Server.Agents;

/// <summary>An agent as its last heartbeat described it.</summary>
internal sealed record AgentInfo(
    string AgentId,
    string Host,
    string? SandboxUrl,
    IReadOnlyList<AgentAttribute> Attributes,
    ResourceSet Resources,
    ResourceSet? RevocableResources,
    bool ContainerEngine,
    DateTimeOffset RegisteredAt,
    DateTimeOffset LastSeen);

/// <summary>
/// The agents this scheduler hears from. Kept in memory, as Mesos keeps its agents: after a
/// failover agents re-register with their next heartbeat, and only what the log must remember
/// (host attributes, where tasks run) is in the log.
/// </summary>
/// <remarks>
/// An agent counts as present while one of its heartbeats is being held (a long poll is a live
/// connection) or its last one ended within <paramref name="timeout"/> (<c>-agent_timeout</c>).
/// </remarks>
internal sealed class AgentRegistry(TimeProvider time, TimeSpan timeout)
{
    private readonly ConcurrentDictionary<string, Entry> _agents = new(StringComparer.Ordinal);

    private long _startedAtTicks = time.GetUtcNow().UtcTicks;

    /// <summary>When this replica last started leading: agents get one timeout from then to find it.</summary>
    public DateTimeOffset StartedAt => new(Interlocked.Read(ref _startedAtTicks), TimeSpan.Zero);

    /// <summary>A new term of leadership: agents that heartbeated to the old leader are not lost for having been silent here.</summary>
    public void Restart() => Interlocked.Exchange(ref _startedAtTicks, time.GetUtcNow().UtcTicks);

    /// <summary>Records a heartbeat's arrival; dispose the result when the heartbeat has been answered.</summary>
    public IDisposable Arrived(HeartbeatRequest request)
    {
        var now = time.GetUtcNow();
        var entry = _agents.AddOrUpdate(
            request.AgentId,
            _ => new Entry(Describe(request, now, now)),
            (_, existing) =>
            {
                existing.Info = Describe(request, existing.Info.RegisteredAt, now);
                return existing;
            });
        Interlocked.Increment(ref entry.Held);
        return new Departure(time, entry);
    }

    public AgentInfo? Find(string agentId) => _agents.TryGetValue(agentId, out var entry) ? entry.Info : null;

    /// <summary>Agents heard from within the timeout, or holding a heartbeat now, by host.</summary>
    public IReadOnlyList<AgentInfo> Present()
    {
        var now = time.GetUtcNow();
        return _agents.Values.Where(e => IsPresent(e, now)).Select(e => e.Info).OrderBy(a => a.Host, StringComparer.Ordinal).ToList();
    }

    public bool AnyPresent()
    {
        var now = time.GetUtcNow();
        return _agents.Values.Any(e => IsPresent(e, now));
    }

    public bool IsPresent(string agentId) => _agents.TryGetValue(agentId, out var entry) && IsPresent(entry, time.GetUtcNow());

    /// <summary>A present agent on <paramref name="host"/> other than <paramref name="agentId"/>, if any.</summary>
    public AgentInfo? OtherPresentOnHost(string host, string agentId)
    {
        var now = time.GetUtcNow();
        return _agents.Values.FirstOrDefault(e => e.Info.Host == host && e.Info.AgentId != agentId && IsPresent(e, now))?.Info;
    }

    /// <summary>Forgets agents silent for longer than the timeout.</summary>
    public void RemoveSilent()
    {
        var now = time.GetUtcNow();
        foreach (var (id, entry) in _agents)
        {
            if (!IsPresent(entry, now))
            {
                _agents.TryRemove(new KeyValuePair<string, Entry>(id, entry));
            }
        }
    }

    /// <summary>What the present agents offer: their whole capacity (placement subtracts what runs there).</summary>
    public IReadOnlyList<Offer> Offers() => Present().Select(ToOffer).ToList();

    public static Offer ToOffer(AgentInfo agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return new Offer(
            agent.AgentId,
            agent.Host,
            Capacity(agent.Resources),
            agent.Resources.Ports.Select(p => new Placement.PortRange(p.First, p.Last)).ToList(),
            agent.RevocableResources is { } revocable ? Capacity(revocable) : null);
    }

    private static Resources Capacity(ResourceSet set) => new() { NumCpus = set.Cpus, RamMb = set.RamMb, DiskMb = set.DiskMb, NumGpus = set.Gpus };

    private bool IsPresent(Entry entry, DateTimeOffset now) =>
        Volatile.Read(ref entry.Held) > 0 || now - entry.Info.LastSeen <= timeout;

    private static AgentInfo Describe(HeartbeatRequest request, DateTimeOffset registeredAt, DateTimeOffset now) => new(
        request.AgentId,
        request.Hostname,
        request.SandboxUrl,
        request.Attributes,
        request.Resources,
        request.RevocableResources,
        request.ContainerEngine,
        registeredAt,
        now);

    private sealed class Entry(AgentInfo info)
    {
        public int Held;

        public AgentInfo Info { get; set; } = info;
    }

    private sealed class Departure(TimeProvider time, Entry entry) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                entry.Info = entry.Info with { LastSeen = time.GetUtcNow() };
                Interlocked.Decrement(ref entry.Held);
            }
        }
    }
}
