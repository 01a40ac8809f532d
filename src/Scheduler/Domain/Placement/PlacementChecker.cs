using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Placement;

/// <summary>
/// Aurora's SchedulingFilterImpl for one planning round or one decision: says why a task may not
/// go on an offer, in Aurora's veto order — dedicated host, maintenance (DRAINING, DRAINED), value
/// constraints, limit constraints, then resources (CPU, RAM, disk, GPU, ports) — and records the
/// assignments accepted so far, so that later checks see the resources, ports and limit counts
/// they took.
/// </summary>
/// <remarks>
/// <para>What is free on an offer is its capacity minus the tasks the state has on that agent id in
/// an agent-assigned status, minus what this checker recorded. Revocable-tier tasks use only the
/// offer's revocable capacity, and only with <see cref="SchedulerSettings.ReceiveRevocableResources"/>;
/// other tasks use only the regular capacity. Ports are shared by both.</para>
/// <para>Static vetoes are computed once per (configuration, offer): identical configurations are
/// one object in the state, so every instance of a job shares them. Limit counts are counted from
/// the state once per job and attribute, then updated by <see cref="Record"/>.</para>
/// <para>Threading: one caller, on one thread, while the state is not being applied to (the
/// caller holds the store's read lock or is the deciding command). Discard it after the round or
/// decision: it does not follow later changes of the state.</para>
/// </remarks>
public sealed class PlacementChecker
{
    private readonly SchedulerState _state;
    private readonly SchedulerSettings _settings;
    private readonly OfferSlot[] _slots;
    private readonly Dictionary<string, int> _slotByAgent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HostView> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<TaskConfig, ConfigProfile> _profiles = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<JobKey, JobLimitCounts> _limits = [];
    private readonly Func<string, HostView> _hostLookup;

    /// <exception cref="ArgumentException">An offer is invalid, or two offers come from the same agent; the message says which.</exception>
    public PlacementChecker(SchedulerState state, IReadOnlyList<Offer> offers, SchedulerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(offers);
        ArgumentNullException.ThrowIfNull(settings);
        _state = state;
        _settings = settings;
        _hostLookup = HostFor;
        var problem = ProblemWith(offers);
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(offers));
        }

        _slots = new OfferSlot[offers.Count];
        for (var i = 0; i < offers.Count; i++)
        {
            _slots[i] = new OfferSlot(i, offers[i], HostFor(offers[i].Host));
            _slotByAgent.Add(offers[i].AgentId, i);
        }

        Offers = offers;
    }

    public IReadOnlyList<Offer> Offers { get; }

    public SchedulerState State => _state;

    public SchedulerSettings Settings => _settings;

    /// <summary>What is wrong with this list of offers (an invalid offer, an agent offered twice), or null.</summary>
    public static string? ProblemWith(IReadOnlyList<Offer> offers)
    {
        ArgumentNullException.ThrowIfNull(offers);
        var agents = new HashSet<string>(StringComparer.Ordinal);
        foreach (var offer in offers)
        {
            if (offer is null)
            {
                return "An offer is missing (null).";
            }

            var problem = offer.Problem();
            if (problem is not null)
            {
                return problem;
            }

            if (!agents.Add(offer.AgentId))
            {
                return $"Agent {offer.AgentId} is offered twice; an offer is the agent's whole capacity.";
            }
        }

        return null;
    }

    /// <summary>The index of the offer from <paramref name="agentId"/>, or -1.</summary>
    public int IndexOf(string agentId) => _slotByAgent.TryGetValue(agentId, out var index) ? index : -1;

    /// <summary>Why a task with <paramref name="config"/> may not go on offer <paramref name="offer"/> now, or null if it may.</summary>
    public string? Veto(TaskConfig config, int offer) => Veto(Profile(config), Slot(offer));

    /// <summary>
    /// The vetoes that need no offer — dedicated host, maintenance, value and limit constraints —
    /// for a host that may not be among the offers (a placement made without an offer).
    /// </summary>
    public string? HostVeto(TaskConfig config, string host, MaintenanceMode? modeOverride = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        var profile = Profile(config);
        var view = HostFor(host);
        return profile.StaticVeto(view, modeOverride) ?? profile.LimitVeto(view);
    }

    /// <summary>The lowest free ports of the offer's ranges, one per named port of the configuration, in the order they are named.</summary>
    /// <exception cref="InvalidOperationException">The offer lacks free ports for them (check <see cref="Veto(TaskConfig, int)"/> first).</exception>
    public IReadOnlyList<AssignedPort> LowestFreePorts(TaskConfig config, int offer)
    {
        ArgumentNullException.ThrowIfNull(config);
        var slot = LoadedSlot(offer);
        var names = config.Resources.NamedPorts;
        if (names.Count == 0)
        {
            return [];
        }

        var numbers = slot.LowestFreePorts(names.Count);
        if (numbers.Count < names.Count)
        {
            throw new InvalidOperationException($"Agent {slot.Offer.AgentId} has {numbers.Count} free ports; {names.Count} are needed.");
        }

        var ports = new AssignedPort[names.Count];
        for (var i = 0; i < names.Count; i++)
        {
            ports[i] = new AssignedPort { Name = names[i], Port = numbers[i] };
        }

        return ports;
    }

    /// <summary>
    /// Everything an assignment must satisfy to be committed, as one message, or null when it is
    /// valid: the task is PENDING (as <paramref name="status"/> says: a decision may know better
    /// than the state), the agent has an offer on that host, no veto, and its ports are exactly
    /// the task's named ports, inside the offer's ranges and free.
    /// </summary>
    public string? Problem(TaskRecord task, Assignment assignment, ScheduleStatus status)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(assignment);
        var common = CommonProblem(task, assignment.AgentId, assignment.Host, status);
        if (common is not null)
        {
            return common;
        }

        var index = IndexOf(assignment.AgentId);
        if (index < 0)
        {
            return $"There is no offer from agent {assignment.AgentId}.";
        }

        var slot = LoadedSlot(index);
        if (!string.Equals(slot.Offer.Host, assignment.Host, StringComparison.Ordinal))
        {
            return $"Agent {assignment.AgentId} is on {slot.Offer.Host}, not {assignment.Host}.";
        }

        var veto = Veto(Profile(task.Config), slot);
        if (veto is not null)
        {
            return $"Task {task.TaskId} cannot run on {assignment.Host}: {veto}";
        }

        var named = PortNamesProblem(task, assignment.Ports);
        if (named is not null)
        {
            return named;
        }

        var seen = new HashSet<int>();
        foreach (var port in assignment.Ports)
        {
            if (!slot.InRanges(port.Port))
            {
                return $"Port {port.Port} is not among the ports agent {assignment.AgentId} offers ({string.Join(", ", slot.Ranges)}).";
            }

            if (slot.IsUsed(port.Port) || !seen.Add(port.Port))
            {
                return $"Port {port.Port} is already in use on agent {assignment.AgentId}.";
            }
        }

        return null;
    }

    /// <summary>
    /// The checks of a placement made without an offer (no resources known): the task is PENDING,
    /// the host passes the vetoes that need no offer, and the ports are exactly the task's named ports.
    /// </summary>
    public string? ProblemWithoutOffer(TaskRecord task, string agentId, string host, IReadOnlyList<AssignedPort> ports, ScheduleStatus status)
    {
        ArgumentNullException.ThrowIfNull(task);
        var common = CommonProblem(task, agentId, host, status);
        if (common is not null)
        {
            return common;
        }

        var veto = HostVeto(task.Config, host);
        return veto is null ? PortNamesProblem(task, ports) : $"Task {task.TaskId} cannot run on {host}: {veto}";
    }

    /// <summary>Records an accepted assignment on offer <paramref name="offer"/>: its resources and ports are taken, and its job's limit counts include it.</summary>
    public void Record(TaskConfig config, int offer, IReadOnlyList<AssignedPort> ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        var profile = Profile(config);
        var slot = LoadedSlot(offer);
        slot.Take(config, profile.Revocable, ports);
        LimitsOf(config.Job).Record(slot.Host);
    }

    /// <summary>Records a placement made without an offer (only the limit counts change).</summary>
    public void RecordOnHost(TaskConfig config, string host)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrEmpty(host);
        LimitsOf(config.Job).Record(HostFor(host));
    }

    internal int OfferCount => _slots.Length;

    internal OfferSlot Slot(int offer)
    {
        if ((uint)offer >= (uint)_slots.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(offer), offer, $"There are {_slots.Length} offers.");
        }

        return _slots[offer];
    }

    internal OfferSlot LoadedSlot(int offer)
    {
        var slot = Slot(offer);
        slot.Load(_state, _settings);
        return slot;
    }

    internal ConfigProfile Profile(TaskConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (_profiles.TryGetValue(config, out var profile))
        {
            return profile;
        }

        var limits = config.Constraints
            .Where(c => c.KindCase == Constraint.KindOneofCase.Limit)
            .Select(c => new LimitRule(
                c.Name,
                c.Limit.Limit,
                LimitsOf(config.Job).For(c.Name, _state, _hostLookup),
                Vetoes.ConstraintNotSatisfied(c.Name),
                Vetoes.LimitNotSatisfied(c.Name)))
            .ToArray();
        profile = new ConfigProfile(config, TaskTiers.Of(config, _settings), limits, _slots.Length);
        _profiles.Add(config, profile);
        return profile;
    }

    internal string? Veto(ConfigProfile profile, OfferSlot slot)
    {
        var veto = profile.StaticVeto(slot) ?? profile.LimitVeto(slot.Host);
        if (veto is not null)
        {
            return veto;
        }

        slot.Load(_state, _settings);
        var pool = profile.Revocable ? slot.Revocable : slot.Regular;
        return pool.Shortfall(profile.Request) ?? (profile.PortCount > slot.FreePorts ? Vetoes.InsufficientPorts : null);
    }

    /// <summary>The vetoes other than resources (for preemption: victims can free resources, not fix a constraint).</summary>
    internal string? NonResourceVeto(ConfigProfile profile, OfferSlot slot) => profile.StaticVeto(slot) ?? profile.LimitVeto(slot.Host);

    internal HostView HostFor(string host)
    {
        if (!_hosts.TryGetValue(host, out var view))
        {
            view = new HostView(host, _state.FindHost(host));
            _hosts.Add(host, view);
        }

        return view;
    }

    private JobLimitCounts LimitsOf(JobKey job)
    {
        if (!_limits.TryGetValue(job, out var counts))
        {
            counts = new JobLimitCounts(job);
            _limits.Add(job, counts);
        }

        return counts;
    }

    private static string? CommonProblem(TaskRecord task, string agentId, string host, ScheduleStatus status)
    {
        if (status != ScheduleStatus.Pending)
        {
            return $"Task {task.TaskId} is {TaskStatuses.Name(status)}; only PENDING tasks can be assigned.";
        }

        return string.IsNullOrEmpty(host) || string.IsNullOrEmpty(agentId) ? "An assignment needs an agent id and a host." : null;
    }

    private static string? PortNamesProblem(TaskRecord task, IReadOnlyList<AssignedPort>? ports)
    {
        var requested = task.Config.Resources.NamedPorts;
        if (ports is null || ports.Any(p => p is null) || ports.Count != requested.Count || requested.Any(name => ports.Count(p => p.Name == name) != 1))
        {
            return $"Task {task.TaskId} needs exactly the ports [{string.Join(", ", requested)}].";
        }

        return null;
    }
}
