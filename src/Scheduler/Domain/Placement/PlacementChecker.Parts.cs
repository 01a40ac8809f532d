using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Validation;

namespace Aurora.Scheduler.Placement;

/// <summary>What placement needs of a host, read once per checker: its attribute values by name, its maintenance mode, whether it is dedicated.</summary>
internal sealed class HostView
{
    private readonly Dictionary<string, string[]> _values = new(StringComparer.Ordinal);

    public HostView(string host, HostRecord? record)
    {
        Host = host;
        Mode = record?.Mode ?? MaintenanceMode.None;
        if (record is not null)
        {
            foreach (var attribute in record.Attributes.Attributes)
            {
                // Values of repeated attributes are unioned, as in Aurora's AttributeFilter.
                _values[attribute.Name] = _values.TryGetValue(attribute.Name, out var earlier)
                    ? [.. earlier.Union(attribute.Values, StringComparer.Ordinal)]
                    : [.. attribute.Values.Distinct(StringComparer.Ordinal)];
            }
        }

        IsDedicated = Values(ConfigurationValidator.DedicatedAttribute).Length > 0;
    }

    public string Host { get; }

    public MaintenanceMode Mode { get; }

    public bool IsDedicated { get; }

    public string[] Values(string attribute) => _values.TryGetValue(attribute, out var values) ? values : [];
}

/// <summary>Free CPU, RAM, disk and GPUs of one pool (regular or revocable) of an agent.</summary>
internal struct ResourcePool
{
    public double Cpus;
    public long RamMb;
    public long DiskMb;
    public long Gpus;

    // Sums of fractional CPUs (0.1 + 0.2) must not fail on rounding alone.
    private const double CpuTolerance = 1e-9;

    public static ResourcePool Of(Resources? r) => r is null ? default : new ResourcePool { Cpus = r.NumCpus, RamMb = r.RamMb, DiskMb = r.DiskMb, Gpus = r.NumGpus };

    public void Take(Resources r, int sign = 1)
    {
        Cpus -= sign * r.NumCpus;
        RamMb -= sign * r.RamMb;
        DiskMb -= sign * r.DiskMb;
        Gpus -= sign * r.NumGpus;
    }

    /// <summary>The first resource of <paramref name="r"/> (in Aurora's order) this pool lacks, or null.</summary>
    public readonly string? Shortfall(Resources r) =>
        r.NumCpus - Cpus > CpuTolerance ? Vetoes.InsufficientCpu
        : r.RamMb > RamMb ? Vetoes.InsufficientRam
        : r.DiskMb > DiskMb ? Vetoes.InsufficientDisk
        : r.NumGpus > Gpus ? Vetoes.InsufficientGpu
        : null;
}

/// <summary>One offer in a checker: the agent's host and, once first needed, what is free on it.</summary>
internal sealed class OfferSlot(int index, Offer offer, HostView host)
{
    private PortRange[] _ranges = [];
    private HashSet<int>? _usedPorts;

    public int Index { get; } = index;

    public Offer Offer { get; } = offer;

    public HostView Host { get; } = host;

    public bool Loaded { get; private set; }

    public ResourcePool Regular;

    public ResourcePool Revocable;

    /// <summary>Unused port numbers inside the offer's ranges.</summary>
    public long FreePorts { get; private set; }

    public IReadOnlyList<PortRange> Ranges => _ranges;

    public void Load(SchedulerState state, SchedulerSettings settings)
    {
        if (Loaded)
        {
            return;
        }

        Loaded = true;
        Regular = ResourcePool.Of(Offer.Capacity);
        Revocable = settings.ReceiveRevocableResources ? ResourcePool.Of(Offer.RevocableCapacity) : default;
        _ranges = Merge(Offer.Ports);
        FreePorts = _ranges.Sum(r => r.Count);
        _usedPorts = [];
        foreach (var task in state.TasksOnHost(Offer.Host))
        {
            if (string.Equals(task.AgentId, Offer.AgentId, StringComparison.Ordinal) && TaskStatuses.IsAgentAssigned(task.Status))
            {
                Take(task.Config, TaskTiers.Of(task.Config, settings).Revocable, task.Ports);
            }
        }
    }

    public void Take(TaskConfig config, bool revocable, IReadOnlyList<AssignedPort> ports)
    {
        if (revocable)
        {
            Revocable.Take(config.Resources);
        }
        else
        {
            Regular.Take(config.Resources);
        }

        foreach (var port in ports)
        {
            if (_usedPorts!.Add(port.Port) && InRanges(port.Port))
            {
                FreePorts--;
            }
        }
    }

    public bool IsUsed(int port) => _usedPorts!.Contains(port);

    public bool InRanges(int port)
    {
        foreach (var range in _ranges)
        {
            if (range.Contains(port))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The <paramref name="count"/> lowest unused ports of the offer's ranges (fewer if there are not that many).</summary>
    public List<int> LowestFreePorts(int count)
    {
        var ports = new List<int>(count);
        foreach (var range in _ranges)
        {
            for (var port = range.First; port <= range.Last && ports.Count < count; port++)
            {
                if (!_usedPorts!.Contains(port))
                {
                    ports.Add(port);
                }
            }
        }

        return ports;
    }

    private static PortRange[] Merge(IReadOnlyList<PortRange> ranges)
    {
        var sorted = ranges.OrderBy(r => r.First).ToList();
        var merged = new List<PortRange>(sorted.Count);
        foreach (var range in sorted)
        {
            if (merged.Count > 0 && range.First <= merged[^1].Last + 1L)
            {
                merged[^1] = merged[^1] with { Last = Math.Max(merged[^1].Last, range.Last) };
            }
            else
            {
                merged.Add(range);
            }
        }

        return [.. merged];
    }
}

/// <summary>
/// How many of one job's tasks hold resources on hosts with each value of an attribute, for the
/// job's limit constraints: counted from the state once per checker, then kept up to date as the
/// checker records assignments (jobs have thousands of instances; a scan per check would be quadratic).
/// </summary>
internal sealed class JobLimitCounts(JobKey job)
{
    private readonly Dictionary<string, Dictionary<string, int>> _byAttribute = new(StringComparer.Ordinal);
    private readonly List<HostView> _recorded = [];

    public Dictionary<string, int> For(string attribute, SchedulerState state, Func<string, HostView> hosts)
    {
        if (_byAttribute.TryGetValue(attribute, out var counts))
        {
            return counts;
        }

        counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var task in state.TasksOf(job))
        {
            if (task.Host is not null && TaskStatuses.IsAgentAssigned(task.Status))
            {
                Count(counts, hosts(task.Host).Values(attribute));
            }
        }

        foreach (var host in _recorded)
        {
            Count(counts, host.Values(attribute));
        }

        _byAttribute.Add(attribute, counts);
        return counts;
    }

    public void Record(HostView host)
    {
        _recorded.Add(host);
        foreach (var (attribute, counts) in _byAttribute)
        {
            Count(counts, host.Values(attribute));
        }
    }

    private static void Count(Dictionary<string, int> counts, string[] values)
    {
        foreach (var value in values)
        {
            counts[value] = counts.GetValueOrDefault(value) + 1;
        }
    }
}

/// <summary>A limit constraint of a configuration with its job's live counts and its veto texts.</summary>
internal sealed record LimitRule(string Attribute, int Limit, Dictionary<string, int> Counts, string MissingVeto, string LimitVeto);

/// <summary>
/// A task configuration as the checker uses it: its request, its pool, its constraints with their
/// veto texts prepared, and its static vetoes per offer (dedicated, maintenance, value constraints),
/// computed once per (configuration, offer) however many instances share the configuration.
/// </summary>
internal sealed class ConfigProfile
{
    private static readonly string NotComputed = new('?', 1);
    private readonly string?[] _staticVetoes;

    public ConfigProfile(TaskConfig config, TierInfo tier, LimitRule[] limits, int offerCount)
    {
        Config = config;
        Tier = tier;
        Limits = limits;
        IsDedicated = ConfigurationValidator.IsDedicated(config);
        ValueConstraints = [.. config.Constraints.Where(c => c.KindCase == Constraint.KindOneofCase.Value)];
        ValueVetoes = [.. ValueConstraints.Select(c => Vetoes.ConstraintNotSatisfied(c.Name))];
        _staticVetoes = new string?[offerCount];
        Array.Fill(_staticVetoes, NotComputed);
    }

    public TaskConfig Config { get; }

    public TierInfo Tier { get; }

    public bool Revocable => Tier.Revocable;

    public Resources Request => Config.Resources;

    public int PortCount => Config.Resources.NamedPorts.Count;

    public bool IsDedicated { get; }

    public Constraint[] ValueConstraints { get; }

    public string[] ValueVetoes { get; }

    public LimitRule[] Limits { get; }

    public string? StaticVeto(OfferSlot slot)
    {
        var veto = _staticVetoes[slot.Index];
        if (ReferenceEquals(veto, NotComputed))
        {
            veto = _staticVetoes[slot.Index] = StaticVeto(slot.Host, null);
        }

        return veto;
    }

    /// <summary>Aurora's veto order up to the limit constraints: dedicated host, maintenance, value constraints.</summary>
    public string? StaticVeto(HostView host, MaintenanceMode? modeOverride)
    {
        if (host.IsDedicated && !IsDedicated)
        {
            return Vetoes.HostIsDedicated;
        }

        switch (modeOverride ?? host.Mode)
        {
            case MaintenanceMode.Draining:
                return Vetoes.HostDraining;
            case MaintenanceMode.Drained:
                return Vetoes.HostDrained;
        }

        for (var i = 0; i < ValueConstraints.Length; i++)
        {
            var constraint = ValueConstraints[i].Value;
            var values = host.Values(ValueConstraints[i].Name);
            var matches = false;
            foreach (var wanted in constraint.Values)
            {
                if (Array.IndexOf(values, wanted) >= 0)
                {
                    matches = true;
                    break;
                }
            }

            if (matches == constraint.Negated)
            {
                return ValueVetoes[i];
            }
        }

        return null;
    }

    /// <summary>Limit constraints against the job's counts: a host without the attribute fails; so does any of its values at the limit.</summary>
    public string? LimitVeto(HostView host)
    {
        foreach (var rule in Limits)
        {
            var values = host.Values(rule.Attribute);
            if (values.Length == 0)
            {
                return rule.MissingVeto;
            }

            foreach (var value in values)
            {
                if (rule.Counts.GetValueOrDefault(value) >= rule.Limit)
                {
                    return rule.LimitVeto;
                }
            }
        }

        return null;
    }
}
