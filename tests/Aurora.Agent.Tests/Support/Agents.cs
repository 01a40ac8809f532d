using System.Net;
using Aurora.Agent.Node;
using Aurora.Agent.Protocol;

namespace Aurora.Agent.Tests.Support;

internal static class Agents
{
    /// <summary>Options for an in-process agent on a free port, retrying quickly so tests do not wait on backoff.</summary>
    public static AgentOptions Options(string workDir, Uri scheduler) => new()
    {
        Scheduler = scheduler,
        WorkDir = workDir,
        Hostname = "agent-host",
        Ip = IPAddress.Loopback,
        HttpPort = 0,
        Attributes = [new AgentAttribute("host", ["agent-host"]), new AgentAttribute("rack", ["r1"])],
        Resources = new ResourceSet(2, 1024, 4096, [new PortRange(31000, 31009)]),
        HeartbeatWait = TimeSpan.FromSeconds(10),
        RetryBackoffMin = TimeSpan.FromMilliseconds(10),
        RetryBackoffMax = TimeSpan.FromMilliseconds(100),
    };

    public static TaskLaunch Launch(string taskId) => new(
        taskId, "www-data", "prod", "hello", 0, 0.5, 128, 256,
        new Dictionary<string, int>(), [new ProcessSpec("main", "sleep 60", 1, false, false, 0, false, null)], [], 30, null, null, null, []);
}
