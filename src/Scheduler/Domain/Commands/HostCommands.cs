using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Commands;

/// <summary>An agent advertised its host's attributes.</summary>
public sealed record SaveHostAttributes(HostAttributes Attributes) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(Attributes);
        if (string.IsNullOrWhiteSpace(Attributes.Host))
        {
            throw CommandRejectedException.Invalid("Host attributes must name the host.");
        }

        if (Attributes.Attributes.Any(a => string.IsNullOrEmpty(a.Name)))
        {
            throw CommandRejectedException.Invalid($"Host {Attributes.Host} has an attribute without a name.");
        }

        if (state.FindHost(Attributes.Host)?.Attributes.Equals(Attributes) == true)
        {
            return Decision.Nothing();
        }

        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event { HostAttributesSaved = new HostAttributesSaved { Attributes = Attributes } });
        return decision.Build();
    }
}

/// <summary>
/// Host maintenance, as Aurora's startMaintenance (SCHEDULED: de-prioritised), drainHosts and
/// slaDrainHosts (DRAINING: no new tasks; a forced drain moves the host's tasks to DRAINING, an
/// SLA-aware one leaves that to the maintenance controller), and endMaintenance (NONE).
/// </summary>
public sealed record ChangeHostMaintenance(IReadOnlyCollection<string> Hosts, MaintenanceMode Mode, HostMaintenanceRequest? Request = null) : SchedulerCommand
{
    public const string DrainingMessage = "Draining machine for maintenance.";

    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(Hosts);
        if (Hosts.Count == 0 || Hosts.Any(string.IsNullOrWhiteSpace))
        {
            throw CommandRejectedException.Invalid("Name at least one host, and no empty host names.");
        }

        if (Mode is not (MaintenanceMode.None or MaintenanceMode.Scheduled or MaintenanceMode.Draining))
        {
            throw CommandRejectedException.Invalid($"Hosts can be put in NONE, SCHEDULED or DRAINING, not {ProtoNames.Of(Mode)}.");
        }

        var decision = new DecisionBuilder(state, context);
        foreach (var host in Hosts.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            if (Mode == MaintenanceMode.Draining)
            {
                Drain(decision, host, context);
            }
            else if (decision.ModeOf(host) != Mode)
            {
                decision.SetHostMode(host, Mode);
            }
        }

        return decision.Build();
    }

    private void Drain(DecisionBuilder decision, string host, CommandContext context)
    {
        var current = decision.ModeOf(host);
        if (current is MaintenanceMode.Draining or MaintenanceMode.Drained)
        {
            return;
        }

        var request = Request?.Clone() ?? new HostMaintenanceRequest();
        request.CreatedMicros = context.NowMicros;
        decision.SetHostMode(host, MaintenanceMode.Draining, request);
        var tasks = decision.State.TasksOnHost(host).OrderBy(t => t.TaskId, StringComparer.Ordinal).ToList();
        if (request.DefaultSlaPolicy is null)
        {
            foreach (var task in tasks)
            {
                decision.TryChangeState(task, ScheduleStatus.Draining, DrainingMessage);
            }
        }

        // The last task may have left within this decision (a partitioned task goes LOST at once).
        if (decision.ModeOf(host) == MaintenanceMode.Draining && tasks.All(t => !TaskStatuses.IsAgentAssigned(decision.StatusOf(t))))
        {
            decision.SetHostMode(host, MaintenanceMode.Drained);
        }
    }
}
