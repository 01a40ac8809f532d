using System.Globalization;
using System.Text.Json;
using Aurora.Agent.Protocol;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Http;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Server.Agents;

/// <summary>
/// The agents' side of the scheduler: <c>POST /agent/v1/heartbeat</c>. A heartbeat registers the
/// agent, saves its host attributes when they changed, folds its inventory into the log (through
/// the <see cref="StatusPump"/>), and is answered with what the log says the agent should launch,
/// kill and forget — holding the request (long poll) while there is nothing to say.
/// </summary>
/// <remarks>
/// <para>With <c>-agent_credentials</c> (or a -dev agent) a heartbeat must carry an accepted principal and
/// secret (HTTP Basic) or it is answered 401 before its body is read; without them heartbeats are open
/// (docs/security.md). Either way, before anything of a heartbeat is kept:</para>
/// <list type="bullet">
/// <item>an agent id stays bound to the host it registered with (in this replica's registry, else the
/// host attributes in the log): a heartbeat that claims it for another host is answered 409
/// <c>AGENT_ID_BOUND</c>;</item>
/// <item>reports of tasks the log places on another agent are dropped (logged when on another host):
/// their states are not taken, and the answer tells the agent to kill them.</item>
/// </list>
/// </remarks>
internal static class AgentEndpoints
{

    private const int MaxHeartbeatBytes = 16 << 20;

    /// <summary>Port ranges an agent may offer; more than there are ports would only cost every placement round.</summary>
    private const int MaxPortRanges = 1024;

    public static void Map(IEndpointRouteBuilder app, ApiContext api, AgentServices agents)
    {
        app.MapPost(AgentApi.HeartbeatPath, async (HttpContext http) =>
        {
            var principal = Authenticate(http, agents);
            var request = await ReadAsync(http);
            var store = api.Runtime.Store;
            RefuseAgentIdOfAnotherHost(http, request, agents, store, principal);
            RefuseSecondAgentOnHost(request, agents);
            using var presence = agents.Registry.Arrived(request);
            await SaveAttributesIfChangedAsync(api.Runtime, store, request, http.RequestAborted);
            var report = store.Read(state => OwnReport(state, request, agents.Logger, principal));
            if (store.Read(state => ApplyAgentReports.WouldChange(state, report)))
            {
                await agents.Pump.SubmitAsync(report).WaitAsync(http.RequestAborted);
            }

            var stopping = http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            using var held = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
            held.CancelAfter(request.WaitMs);
            while (true)
            {
                var (position, wanted) = store.Read((state, applied) => (applied, Answer(state, request, agents)));
                var (launch, nextLaunchDue) = agents.Launches.Take(request.AgentId, wanted.Launch);
                var answer = wanted with { Launch = launch };
                if (answer.Launch.Count > 0 || answer.Kill.Count > 0 || answer.Acknowledged.Count > 0 || held.IsCancellationRequested)
                {
                    agents.Metrics.Heartbeat(answer.Launch.Count, answer.Kill.Count);
                    return Results.Json(answer, AgentApi.Json);
                }

                try
                {
                    // A launch held back by its back-off wakes the poll when it falls due, as a change of the log does.
                    using var untilDue = CancellationTokenSource.CreateLinkedTokenSource(held.Token);
                    if (nextLaunchDue is { } due)
                    {
                        untilDue.CancelAfter(Max(due - api.Runtime.Time.GetUtcNow(), TimeSpan.Zero));
                    }

                    await store.WaitForChangeAsync(position, untilDue.Token);
                }
                catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
                {
                    // Waited long enough, a launch fell due, or shutting down: look again.
                }
            }
        });
    }

    /// <summary>
    /// The heartbeat's principal: checked against the accepted credentials before the body is read, so a
    /// stranger learns nothing and changes nothing; <see cref="Principals.Agent"/> when heartbeats are open.
    /// </summary>
    private static string Authenticate(HttpContext http, AgentServices agents)
    {
        if (agents.Authenticator is not { } authenticator)
        {
            return Principals.Agent;
        }

        var result = authenticator.Authenticate(http.Request.Headers.Authorization.FirstOrDefault());
        if (result.Outcome == Auth.AuthenticationOutcome.Authenticated)
        {
            return result.User!;
        }

        var reason = result.Outcome == Auth.AuthenticationOutcome.Failed
            ? $"Agent authentication failed: {result.Reason}"
            : "This scheduler accepts heartbeats only from agents with credentials (HTTP Basic; aurora-agent -credential=FILE).";
        ServerMessages.HeartbeatRefusedCredentials(agents.Logger, Remote(http), reason);
        throw new ApiException(System.Net.HttpStatusCode.Unauthorized, "AUTH_REQUIRED", reason);
    }

    /// <summary>
    /// An agent id names one agent on one host: its tasks, its offers and its sandboxes are that host's.
    /// A heartbeat that claims a known id for another host would move the agent (and, through the
    /// inventory, decide its tasks' fate), so it is refused before anything of it is kept.
    /// </summary>
    /// <remarks>The id is bound by this replica's registry, or, after a restart or failover, by the host attributes in the log.</remarks>
    private static void RefuseAgentIdOfAnotherHost(HttpContext http, HeartbeatRequest request, AgentServices agents, SchedulerStore store, string principal)
    {
        var boundHost = agents.Registry.Find(request.AgentId) is { } known
            ? known.Host
            : store.Read(state => state.Hosts.FirstOrDefault(h => h.Attributes.AgentId == request.AgentId && h.Host != request.Hostname)?.Host);
        if (boundHost is null || boundHost == request.Hostname)
        {
            return;
        }

        ServerMessages.HeartbeatRefusedAgentIdBound(agents.Logger, principal, Remote(http), request.AgentId, boundHost, request.Hostname);
        throw new ApiException(
            System.Net.HttpStatusCode.Conflict,
            "AGENT_ID_BOUND",
            $"Agent id {request.AgentId} is bound to host {boundHost}; this heartbeat claims host {request.Hostname}. "
            + "An agent keeps its host for as long as it keeps its id: restore its -hostname, or give it a new id by removing meta/agent_id from its work dir (its tasks on the old host become LOST).");
    }

    /// <summary>
    /// The report of the heartbeat's tasks that the log places on this very agent: a report about another
    /// agent's task is never taken. Those of another host are logged (event 3023); a report from a
    /// replaced agent on the same host is the expected leftover of a wiped work dir and is only dropped.
    /// </summary>
    internal static AgentReport OwnReport(SchedulerState state, HeartbeatRequest request, ILogger logger, string principal)
    {
        var own = new List<ReportedTask>(request.Tasks.Count);
        var foreign = 0;
        (string TaskId, string Host)? example = null;
        foreach (var task in request.Tasks)
        {
            var record = state.FindTask(task.TaskId);
            if (record is not null && record.AgentId is { } agentId && agentId != request.AgentId)
            {
                if (record.Host is { } host && host != request.Hostname)
                {
                    foreign++;
                    example ??= (task.TaskId, host);
                }

                continue;
            }

            own.Add(new ReportedTask(task.TaskId, task.History.Select(h => new ReportedTransition(Status(h.State), ProtocolLimits.FitMessage(h.Message))).ToList()));
        }

        if (example is { } first)
        {
            ServerMessages.ForeignTaskReportsRefused(logger, foreign, request.AgentId, request.Hostname, principal, first.TaskId, first.Host);
        }

        return new AgentReport(request.AgentId, request.Hostname, own);
    }

    private static string Remote(HttpContext http) =>
        http.Connection.RemoteIpAddress is { } address ? $"{address}:{http.Connection.RemotePort}" : "an unknown address";

    /// <summary>
    /// The log knows hosts, not agents: a second live agent under the same host name would have the
    /// scheduler take each for the other's replacement, making their tasks LOST at every heartbeat.
    /// The newcomer is refused until the agent it would replace has been silent for the agent timeout.
    /// </summary>
    private static void RefuseSecondAgentOnHost(HeartbeatRequest request, AgentServices agents)
    {
        if (agents.Registry.OtherPresentOnHost(request.Hostname, request.AgentId) is { } other)
        {
            throw new ApiException(
                System.Net.HttpStatusCode.Conflict,
                "HOST_TAKEN",
                $"Host {request.Hostname} is served by agent {other.AgentId}, heard from within -agent_timeout ({agents.AgentTimeout.TotalSeconds:0} s). "
                + "Give this agent its own -hostname, or stop the other one: this agent is accepted once the other has been silent that long.");
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>What the log says the agent should do about its inventory; every launch it lacks, before <see cref="LaunchBackoff"/> holds repeats back.</summary>
    internal static HeartbeatResponse Answer(SchedulerState state, HeartbeatRequest request, AgentServices agents)
    {
        var held = new HashSet<string>(request.Tasks.Count, StringComparer.Ordinal);
        var kill = new List<TaskKill>();
        var acknowledged = new List<string>();
        var grace = (int)TaskLaunches.KillGracePeriod.TotalSeconds;
        foreach (var report in request.Tasks)
        {
            held.Add(report.TaskId);
            var task = state.FindTask(report.TaskId);
            var ours = task is not null && task.AgentId == request.AgentId;
            if (AgentTaskStates.IsTerminal(report.Current.State))
            {
                // Forgettable once the log has it terminal too (or never had it here).
                if (!ours || task!.IsTerminal)
                {
                    acknowledged.Add(report.TaskId);
                }
            }
            else if (!ours)
            {
                kill.Add(new TaskKill(report.TaskId, $"Task is unknown to the scheduler for agent {request.AgentId}.", grace));
            }
            else if (task!.IsTerminal || IsKillRequested(task.Status))
            {
                // The reason comes back in the agent's reports, so it must be what the protocol carries (a user's kill message may span lines).
                kill.Add(new TaskKill(report.TaskId, ProtocolLimits.FitMessage(task.LatestEvent.Message ?? $"Task is {TaskStatuses.Name(task.Status)} in the scheduler."), grace));
            }
        }

        var launch = new List<TaskLaunch>();
        foreach (var task in state.TasksOnHost(request.Hostname))
        {
            if (task.Status == ScheduleStatus.Assigned && task.AgentId == request.AgentId && !held.Contains(task.TaskId))
            {
                launch.Add(TaskLaunches.From(task, agents.DefaultLogger, agents.GlobalMounts));
            }
        }

        return new HeartbeatResponse(launch, kill, acknowledged, agents.HeartbeatIntervalMs, agents.ThermosExecutorFlags);
    }

    private static bool IsKillRequested(ScheduleStatus status) =>
        status is ScheduleStatus.Killing or ScheduleStatus.Restarting or ScheduleStatus.Draining or ScheduleStatus.Preempting;

    private static ScheduleStatus Status(AgentTaskState state) => state switch
    {
        AgentTaskState.Starting => ScheduleStatus.Starting,
        AgentTaskState.Running => ScheduleStatus.Running,
        AgentTaskState.Finished => ScheduleStatus.Finished,
        AgentTaskState.Failed => ScheduleStatus.Failed,
        AgentTaskState.Killed => ScheduleStatus.Killed,
        _ => ScheduleStatus.Lost,
    };

    private static async Task SaveAttributesIfChangedAsync(SchedulerRuntime runtime, SchedulerStore store, HeartbeatRequest request, CancellationToken cancellationToken)
    {
        var attributes = new HostAttributes { Host = request.Hostname, AgentId = request.AgentId };
        attributes.Attributes.AddRange(request.Attributes.Select(a => new Protos.Attribute { Name = a.Name, Values = { a.Values } }));
        if (!store.Read(state => attributes.Equals(state.FindHost(request.Hostname)?.Attributes)))
        {
            await runtime.ExecuteAsync(new SaveHostAttributes(attributes), Principals.Agent, cancellationToken);
        }
    }

    private static async Task<HeartbeatRequest> ReadAsync(HttpContext http)
    {
        var body = await ApiJson.ReadBytesAsync(http.Request, MaxHeartbeatBytes, "the heartbeat limit");
        HeartbeatRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<HeartbeatRequest>(body, AgentApi.Json);
        }
        catch (JsonException e)
        {
            throw ApiException.Invalid($"The heartbeat is not valid JSON for the agent protocol: {e.Message}");
        }

        var problem = request is null ? "The heartbeat body is empty." : Problem(request);
        return problem is null ? request! : throw ApiException.Invalid(problem);
    }

    /// <summary>What makes a parsed heartbeat unusable, or null; checked before anything of it is kept, so a refused one leaves no trace.</summary>
    /// <remarks>Strings by the protocol's rules (<see cref="ProtocolLimits"/>), amounts by the largest agent that could exist (<see cref="ResourceLimits"/>).</remarks>
    private static string? Problem(HeartbeatRequest request) => request switch
    {
        { WaitMs: < 0 or > AgentApi.MaxWaitMs } => $"waitMs={request.WaitMs} must be between 0 and {AgentApi.MaxWaitMs}.",
        { Resources: null } => "resources are required.",
        _ => ProtocolLimits.Problem(request) ?? ResourceProblem("resources", request.Resources) ?? ResourceProblem("revocableResources", request.RevocableResources),
    };

    /// <remarks>Checked here because a bad offer would otherwise fail every placement round, not this request.</remarks>
    private static string? ResourceProblem(string name, ResourceSet? resources)
    {
        switch (resources)
        {
            case null:
                return null;
            case { Cpus: < 0 or > ResourceLimits.MaxCpus } or { Cpus: double.NaN }:
                return $"{name}.cpus={resources.Cpus.ToString("R", CultureInfo.InvariantCulture)} must be from 0 to {ResourceLimits.MaxCpus}, the most an agent can have.";
            case { RamMb: < 0 or > ResourceLimits.MaxRamMb }:
                return $"{name}.ramMb={resources.RamMb} must be from 0 to {ResourceLimits.MaxRamMb}, the most an agent can have.";
            case { DiskMb: < 0 or > ResourceLimits.MaxDiskMb }:
                return $"{name}.diskMb={resources.DiskMb} must be from 0 to {ResourceLimits.MaxDiskMb}, the most an agent can have.";
            case { Gpus: < 0 or > ResourceLimits.MaxGpus }:
                return $"{name}.gpus={resources.Gpus} must be from 0 to {ResourceLimits.MaxGpus}, the most an agent can have.";
            case { Ports: null }:
                return $"{name}.ports is required (an empty list when the agent offers none).";
        }

        if (resources.Ports.Count > MaxPortRanges)
        {
            return $"{name}.ports has {resources.Ports.Count} ranges; at most {MaxPortRanges} are allowed.";
        }

        foreach (var range in resources.Ports)
        {
            if (range is null || range.First < 1 || range.Last > 65535 || range.First > range.Last)
            {
                return $"{name}.ports: {range?.First}-{range?.Last} is not a range of ports (first <= last, within 1-65535).";
            }
        }

        // Overlapping ranges would offer one port twice, and two tasks could be given it.
        PortRange? previous = null;
        foreach (var range in resources.Ports.OrderBy(r => r.First))
        {
            if (previous is not null && range.First <= previous.Last)
            {
                return $"{name}.ports: {previous.First}-{previous.Last} and {range.First}-{range.Last} overlap.";
            }

            previous = range;
        }

        return null;
    }
}
