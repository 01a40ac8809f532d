using System.Globalization;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Placement;

/// <summary>A closed range of port numbers an agent offers (Mesos' ports resource).</summary>
public readonly record struct PortRange(int First, int Last)
{
    public const int MinPort = 1;
    public const int MaxPort = 65535;

    public long Count => (long)Last - First + 1;

    public bool Contains(int port) => port >= First && port <= Last;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"[{First}-{Last}]");
}

/// <summary>
/// An agent's whole capacity: what it has, not what is free. What is free is derived from the
/// state (the tasks assigned to <see cref="AgentId"/> that hold resources) and from what a
/// planning round or decision already gave out.
/// </summary>
/// <param name="RevocableCapacity">Oversubscribed resources revocable-tier tasks may use; null when the agent offers none.</param>
public sealed record Offer(string AgentId, string Host, Resources Capacity, IReadOnlyList<PortRange> Ports, Resources? RevocableCapacity = null)
{
    /// <summary>What is wrong with the offer, or null when it is usable.</summary>
    public string? Problem()
    {
        if (string.IsNullOrWhiteSpace(AgentId))
        {
            return "An offer needs an agent id.";
        }

        if (string.IsNullOrWhiteSpace(Host))
        {
            return $"The offer of agent {AgentId} needs a host.";
        }

        if (Capacity is null)
        {
            return $"The offer of agent {AgentId} needs a capacity.";
        }

        if (Ports is null)
        {
            return $"The offer of agent {AgentId} needs a port range list (empty when it offers no ports).";
        }

        var negative = Negative(Capacity) ?? (RevocableCapacity is null ? null : Negative(RevocableCapacity));
        if (negative is not null)
        {
            return $"The offer of agent {AgentId} has a negative {negative}.";
        }

        foreach (var range in Ports)
        {
            if (range.First < PortRange.MinPort || range.Last > PortRange.MaxPort || range.First > range.Last)
            {
                return $"The offer of agent {AgentId} has the invalid port range {range}: ports run from {PortRange.MinPort} to {PortRange.MaxPort}, first <= last.";
            }
        }

        return null;
    }

    private static string? Negative(Resources r) =>
        r.NumCpus < 0 || double.IsNaN(r.NumCpus) ? "num_cpus"
        : r.RamMb < 0 ? "ram_mb"
        : r.DiskMb < 0 ? "disk_mb"
        : r.NumGpus < 0 ? "num_gpus"
        : null;
}

/// <summary>A PENDING task placed on an agent, with a concrete number for each of its named ports.</summary>
public sealed record Assignment(string TaskId, string AgentId, string Host, IReadOnlyList<AssignedPort> Ports);
