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
/// <remarks>Agents are not authenticated (docs/security.md): deploy them on the cluster's network, as Mesos agents.</remarks>
internal static class AgentEndpoints
{
    /// <summary>Principal of the log entries written from agents' reports; the host is in each event.</summary>
    public const string AgentPrincipal = "agent";

    private const int MaxHeartbeatBytes = 16 << 20;

    public static void Map(IEndpointRouteBuilder app, ApiContext api, AgentServices agents)
    {
        app.MapPost(AgentApi.HeartbeatPath, async (HttpContext http) =>
        {
            var request = await ReadAsync(http);
            var store = api.Runtime.Store;
            RefuseSecondAgentOnHost(request, agents);
            using var presence = agents.Registry.Arrived(request);
            await SaveAttributesIfChangedAsync(api.Runtime, store, request, http.RequestAborted);
            var report = ToReport(request);
            if (store.Read(state => ApplyAgentReports.WouldChange(state, report)))
            {
                await agents.Pump.SubmitAsync(report).WaitAsync(http.RequestAborted);
            }

            var stopping = http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            using var held = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
            held.CancelAfter(request.WaitMs);
            while (true)
            {
                var (position, answer) = store.Read((state, applied) => (applied, Answer(state, request, agents)));
                if (answer.Launch.Count > 0 || answer.Kill.Count > 0 || answer.Acknowledged.Count > 0 || held.IsCancellationRequested)
                {
                    agents.Metrics.Heartbeat(answer.Launch.Count, answer.Kill.Count);
                    return Results.Json(answer, AgentApi.Json);
                }

                try
                {
                    await store.WaitForChangeAsync(position, held.Token);
                }
                catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
                {
                    // Waited long enough (or shutting down): answer that there is nothing to do.
                }
            }
        });
    }

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

    /// <summary>What the log says the agent should do about its inventory.</summary>
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
                kill.Add(new TaskKill(report.TaskId, task.LatestEvent.Message ?? $"Task is {TaskStatuses.Name(task.Status)} in the scheduler.", grace));
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

    internal static AgentReport ToReport(HeartbeatRequest request) => new(
        request.AgentId,
        request.Hostname,
        request.Tasks.Select(t => new ReportedTask(t.TaskId, t.History.Select(h => new ReportedTransition(Status(h.State), h.Message)).ToList())).ToList());

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
            await runtime.ExecuteAsync(new SaveHostAttributes(attributes), AgentPrincipal, cancellationToken);
        }
    }

    private static async Task<HeartbeatRequest> ReadAsync(HttpContext http)
    {
        if (http.Request.ContentLength > MaxHeartbeatBytes)
        {
            throw new ApiException(System.Net.HttpStatusCode.RequestEntityTooLarge, "TOO_LARGE", $"A heartbeat may be at most {MaxHeartbeatBytes} bytes.");
        }

        HeartbeatRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync<HeartbeatRequest>(http.Request.Body, AgentApi.Json, http.RequestAborted);
        }
        catch (JsonException e)
        {
            throw ApiException.Invalid($"The heartbeat is not valid JSON for the agent protocol: {e.Message}");
        }

        var problem = request is null ? "The heartbeat body is empty." : Problem(request);
        return problem is null ? request! : throw ApiException.Invalid(problem);
    }

    /// <summary>What makes a parsed heartbeat unusable, or null; checked before anything of it is kept, so a refused one leaves no trace.</summary>
    private static string? Problem(HeartbeatRequest request)
    {
        var problem = request switch
        {
            { AgentId: null or "" } => "agentId is required.",
            { Hostname: null or "" } => "hostname is required.",
            { Attributes: null } => "attributes is required (an empty list when the host has none).",
            { Resources: null } => "resources are required.",
            { Tasks: null } => "tasks is required (an empty list when the agent holds none).",
            { WaitMs: < 0 or > AgentApi.MaxWaitMs } => $"waitMs={request.WaitMs} must be between 0 and {AgentApi.MaxWaitMs}.",
            _ => ResourceProblem("resources", request.Resources) ?? ResourceProblem("revocableResources", request.RevocableResources),
        };
        if (problem is not null)
        {
            return problem;
        }

        foreach (var attribute in request.Attributes ?? [])
        {
            if (attribute is null || string.IsNullOrEmpty(attribute.Name) || attribute.Values is null || attribute.Values.Any(v => v is null))
            {
                return $"Attribute {attribute?.Name ?? "(null)"} needs a name and a list of values.";
            }
        }

        foreach (var task in request.Tasks ?? [])
        {
            if (task is null || string.IsNullOrEmpty(task.TaskId) || task.History is not { Count: > 0 } || task.History.Any(h => h is null))
            {
                return $"Task report {task?.TaskId ?? "(null)"} needs a task id and a non-empty history.";
            }
        }

        return null;
    }

    /// <remarks>Checked here because a bad offer would otherwise fail every placement round, not this request.</remarks>
    private static string? ResourceProblem(string name, ResourceSet? resources)
    {
        switch (resources)
        {
            case null:
                return null;
            case { Cpus: < 0 } or { Cpus: double.NaN }:
                return $"{name}.cpus={resources.Cpus} must not be negative.";
            case { RamMb: < 0 }:
                return $"{name}.ramMb={resources.RamMb} must not be negative.";
            case { DiskMb: < 0 }:
                return $"{name}.diskMb={resources.DiskMb} must not be negative.";
            case { Gpus: < 0 }:
                return $"{name}.gpus={resources.Gpus} must not be negative.";
            case { Ports: null }:
                return $"{name}.ports is required (an empty list when the agent offers none).";
        }

        foreach (var range in resources.Ports)
        {
            if (range is null || range.First < 1 || range.Last > 65535 || range.First > range.Last)
            {
                return $"{name}.ports: {range?.First}-{range?.Last} is not a range of ports (first <= last, within 1-65535).";
            }
        }

        return null;
    }
}
