using System.Net.Http.Json;
using Aurora.Agent.Protocol;

namespace Aurora.Scheduler.Server.Tests.Support;

/// <summary>
/// An agent that runs nothing: it heartbeats as <c>aurora-agent</c> does (the protocol's types and
/// <see cref="AgentApi.Json"/>), and its inventory holds whatever the test says its tasks did.
/// </summary>
/// <remarks>Used by one test at a time; it keeps no background loop, so it is silent between calls.</remarks>
internal sealed class FakeAgent(HttpClient http, string agentId, string hostname)
{
    /// <summary>The longest a test waits for the scheduler to say something.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, List<TaskTransition>> _inventory = new(StringComparer.Ordinal);

    public string AgentId => agentId;

    public string Hostname => hostname;

    public string SandboxUrl => $"http://{hostname}:1338";

    public ResourceSet Resources { get; init; } = new(4, 4096, 8192, [new PortRange(31000, 31009)]);

    public IReadOnlyList<AgentAttribute> Attributes { get; init; } = [new("rack", ["r1"]), new("zone", ["east"])];

    public ResourceSet? RevocableResources { get; init; }

    /// <summary>What each heartbeat presents (HTTP Basic), as aurora-agent -credential; null sends none.</summary>
    public AgentCredential? Credential { get; init; }

    public HeartbeatRequest Request(int waitMs) => new(
        agentId,
        hostname,
        SandboxUrl,
        Attributes,
        Resources,
        RevocableResources,
        ContainerEngine: false,
        [.. _inventory.Select(t => new TaskReport(t.Key, [.. t.Value]))],
        waitMs);

    /// <summary>Adds a step to a task's history on this agent, as its executor would.</summary>
    public void Report(string taskId, AgentTaskState state, string message = "")
    {
        if (!_inventory.TryGetValue(taskId, out var history))
        {
            _inventory[taskId] = history = [];
        }

        history.Add(new TaskTransition(state, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), message));
    }

    /// <summary>One heartbeat; tasks the scheduler acknowledged are dropped from the inventory, as an agent drops them.</summary>
    public async Task<HeartbeatResponse> HeartbeatAsync(int waitMs = 0)
    {
        using var response = await SendAsync(Request(waitMs));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"heartbeat answered {(int)response.StatusCode}: {text}");
        var answer = System.Text.Json.JsonSerializer.Deserialize<HeartbeatResponse>(text, AgentApi.Json)!;
        foreach (var taskId in answer.Acknowledged)
        {
            _inventory.Remove(taskId);
        }

        return answer;
    }

    /// <summary>Sends <paramref name="request"/> as a heartbeat with this agent's credential (or <paramref name="authorization"/> when given), whatever the answer.</summary>
    public async Task<HttpResponseMessage> SendAsync(HeartbeatRequest request, string? authorization = null)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, AgentApi.HeartbeatPath.TrimStart('/')) { Content = JsonContent.Create(request, options: AgentApi.Json) };
        if ((authorization ?? Credential?.BasicHeader()) is { } header)
        {
            message.Headers.TryAddWithoutValidation("Authorization", header);
        }

        return await http.SendAsync(message);
    }

    /// <summary>Long-polls until an answer satisfies <paramref name="until"/>, failing after <see cref="Patience"/>.</summary>
    public async Task<HeartbeatResponse> HeartbeatUntilAsync(Func<HeartbeatResponse, bool> until, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var answer = await HeartbeatAsync(waitMs: 1000);
            if (until(answer))
            {
                return answer;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no heartbeat answer with {what} within {Patience.TotalSeconds} s");
        }
    }
}
