using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Maintenance;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Updates;

namespace Aurora.Scheduler.Server.Agents;

/// <summary>
/// The scheduler's own initiative, as commands through the ordinary write path: agents that went
/// silent lose their tasks, throttled tasks are released, stuck transient states time out, pending
/// tasks are placed on offers (preempting when production work does not fit), active updates are
/// advanced, and SLA-aware drains move on. One loop, woken by every commit and by a tick, so each
/// step sees the previous step's effects and the log orders them all.
/// </summary>
/// <remarks>
/// Every step is a pure decision over the state the log built, so after a failover the new leader
/// simply continues: an update resumes from its instance events, a drain from the host's mode.
/// </remarks>
internal sealed class ClusterLoop : IAsyncDisposable
{
    /// <summary>How often the loop looks even when nothing was committed (timers: watch times, penalties, timeouts).</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);

    private static readonly TimeSpan TransientCheckInterval = TimeSpan.FromSeconds(5);

    /// <summary>How often an unchanged cluster is planned again, for preemption delays to fall due.</summary>
    private static readonly TimeSpan ReplanInterval = TimeSpan.FromSeconds(5);

    /// <summary>Assignments per placement transaction: large enough for throughput, small enough for one log entry.</summary>
    private const int MaxAssignmentsPerRound = 2000;

    private readonly SchedulerRuntime _runtime;
    private readonly SchedulerStore _store;
    private readonly AgentServices _agents;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeSpan _transientTimeout;
    private Task _loop = Task.CompletedTask;
    private DateTimeOffset _lastTransientCheck;
    private (ulong Position, string Agents, DateTimeOffset At) _lastPlacement;

    public ClusterLoop(SchedulerRuntime runtime, SchedulerStore store, AgentServices agents, TimeSpan transientTimeout)
    {
        _runtime = runtime;
        _store = store;
        _agents = agents;
        _time = runtime.Time;
        _transientTimeout = transientTimeout;
        _logger = runtime.Loggers.CreateLogger("Aurora.Scheduler.Cluster");
        _lastTransientCheck = _time.GetUtcNow();
    }

    public void Start() => _loop = Task.Run(RunAsync);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        ulong seen = 0;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await _store.WaitForChangeAsync(seen, _stop.Token).WaitAsync(Tick, _time, _stop.Token).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A tick: timers may have fallen due.
            }
            catch (OperationCanceledException)
            {
                return;
            }

            seen = _store.AppliedPosition;
            try
            {
                await StepAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is StorageNotReadyException or OperationCanceledException)
            {
                return;
            }
#pragma warning disable CA1031 // A failed step is logged and retried on the next tick; the loop must not die.
            catch (Exception e)
#pragma warning restore CA1031
            {
                ServerMessages.ClusterStepFailed(_logger, e);
            }
        }
    }

    private async Task StepAsync()
    {
        await LoseSilentAgentsAsync().ConfigureAwait(false);
        var now = _time.GetUtcNow();
        if (_store.Read(ReleaseThrottledTasks.NextReleaseMicros) is { } due && due <= Micros.Of(now))
        {
            await ExecuteAsync(new ReleaseThrottledTasks()).ConfigureAwait(false);
        }

        if (now - _lastTransientCheck >= TransientCheckInterval)
        {
            _lastTransientCheck = now;
            await ExecuteAsync(new TimeOutTransientTasks(_transientTimeout)).ConfigureAwait(false);
        }

        await PlaceAsync().ConfigureAwait(false);
        await AdvanceUpdatesAsync().ConfigureAwait(false);
        if (_store.Read(state => state.Hosts.Any(h => h.Mode == MaintenanceMode.Draining && h.Request?.DefaultSlaPolicy is not null)))
        {
            await ExecuteAsync(new DrainHostsWithSla()).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Tasks on agents not heard from within the timeout are LOST. After a start or failover, agents
    /// get one timeout to re-register before their tasks are given up.
    /// </summary>
    private async Task LoseSilentAgentsAsync()
    {
        var timeout = _agents.AgentTimeout;
        _agents.Registry.RemoveSilent();
        if (_time.GetUtcNow() - _agents.Registry.StartedAt <= timeout)
        {
            return;
        }

        // The per-host index holds only tasks on agents (ASSIGNED through KILLING): no scan of history.
        var silent = _store.Read(state => state.HostsWithTasks
            .SelectMany(state.TasksOnHost)
            .Where(t => t.AgentId is not null)
            .Select(t => (AgentId: t.AgentId!, Host: t.Host!))
            .Distinct()
            .Where(a => !_agents.Registry.IsPresent(a.AgentId))
            .ToList());
        foreach (var (agentId, host) in silent)
        {
            _agents.Metrics.AgentLost();
            ServerMessages.AgentLost(_logger, agentId, host, timeout);
            await ExecuteAsync(new MarkAgentLost(agentId, host, $"Agent {agentId} on {host} has not been heard from for {timeout.TotalSeconds:0} s.")).ConfigureAwait(false);
        }
    }

    private async Task PlaceAsync()
    {
        if (_store.Read(state => state.CountIn(ScheduleStatus.Pending)) == 0)
        {
            _agents.PendingReasons = new Dictionary<string, string>(StringComparer.Ordinal);
            return;
        }

        var offers = _agents.Registry.Offers();
        var agentsKey = string.Join(',', offers.Select(o => o.AgentId));
        var position = _store.AppliedPosition;
        var now = _time.GetUtcNow();

        // Nothing new to place with: only time passing (preemption delays) justifies another round.
        if (_lastPlacement.Position == position && _lastPlacement.Agents == agentsKey && now - _lastPlacement.At < ReplanInterval)
        {
            return;
        }

        _lastPlacement = (position, agentsKey, now);
        var settings = _runtime.Options.Settings;
        var plan = _store.Read(state => PlacementEngine.Plan(state, offers, settings, Micros.Of(now), MaxAssignmentsPerRound));
        _agents.PendingReasons = plan.PendingReasons;
        if (plan.Assignments.Count > 0)
        {
            await ExecuteAsync(new AssignTasks(plan.Assignments, offers)).ConfigureAwait(false);
            _agents.Metrics.Placed(plan.Assignments.Count);
        }

        foreach (var proposal in plan.Preemptions)
        {
            if (await ExecuteAsync(new PreemptTasks(proposal)).ConfigureAwait(false))
            {
                _agents.Metrics.Preempted();
            }
        }
    }

    private async Task AdvanceUpdatesAsync()
    {
        var active = _store.Read(state => state.ActiveUpdates.Select(u => u.Key).ToList());
        foreach (var key in active)
        {
            long? pulse = _agents.Pulses.TryGetValue(key, out var micros) ? micros : null;
            await ExecuteAsync(new AdvanceJobUpdate(key, pulse)).ConfigureAwait(false);
        }
    }

    /// <returns>Whether the command changed anything.</returns>
    private async Task<bool> ExecuteAsync(SchedulerCommand command)
    {
        try
        {
            var committed = await _runtime.ExecuteAsync(command, Principals.Scheduler, _stop.Token).ConfigureAwait(false);
            return committed.Decision.ChangesState;
        }
        catch (CommandRejectedException e)
        {
            // The state moved between reading and deciding (a user killed the task meanwhile): the next step sees it.
            ServerMessages.ClusterCommandRejected(_logger, command.GetType().Name, e.Message);
            return false;
        }
    }
}
