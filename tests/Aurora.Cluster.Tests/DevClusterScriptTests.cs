using System.Net;
using System.Net.Sockets;

namespace Aurora.Cluster.Tests;

/// <summary>scripts/dev-cluster.sh, as the README tells a newcomer to use it: start, kill the leader, watch another lead, stop.</summary>
public sealed class DevClusterScriptTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private (int Http, int Replication) _ports;

    public void Dispose()
    {
        // Whatever a failed assertion left running.
        _ = RunAsync("stop").GetAwaiter().GetResult();
        _root.Dispose();
    }

    [Fact]
    public async Task The_script_starts_three_replicas_survives_killing_the_leader_and_stops_everything()
    {
        var started = await RunAsync("start");
        Assert.True(started.Code == 0, started.Output);
        var first = (await RunAsync("leader")).Output.Trim();
        Assert.StartsWith("http://127.0.0.1:", first, StringComparison.Ordinal);

        var killed = await RunAsync("kill-leader");
        Assert.True(killed.Code == 0, killed.Output);
        string? next = null;
        await Eventually.HoldsAsync("a new leader", async () =>
        {
            var leader = await RunAsync("leader");
            next = leader.Code == 0 ? leader.Output.Trim() : null;
            return next is not null && next != first;
        }, timeout: TimeSpan.FromSeconds(30));

        // start brings the killed replica back; stop ends every process.
        Assert.Equal(0, (await RunAsync("start")).Code);
        var pids = Directory.GetFiles(_root.Path, "*pid", SearchOption.AllDirectories).Select(f => int.Parse(File.ReadAllText(f).Trim(), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(4, pids.Count);
        Assert.Equal(0, (await RunAsync("stop")).Code);
        Assert.All(pids, pid => Assert.False(Alive(pid), $"process {pid} still runs after stop"));
    }

    /// <summary>Running, not a zombie (an ended process not yet reaped by whatever adopted it).</summary>
    private static bool Alive(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return false;
        }

        try
        {
            var text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private async Task<(int Code, string Output)> RunAsync(string verb)
    {
        var script = Path.GetFullPath(Path.Combine(DistClients.DistBin, "..", "..", "scripts", "dev-cluster.sh"));
        var (http, replication) = Ports();
        using var process = ChildProcess.Start(script, [verb], new Dictionary<string, string>
        {
            ["AURORA_DEV_CLUSTER_DIR"] = _root.Path,
            ["AURORA_DEV_HTTP_PORT"] = http.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AURORA_DEV_REPLICATION_PORT"] = replication.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var code = await process.WaitForExitAsync(TimeSpan.FromMinutes(2));
        return (code, process.StandardOutput + process.StandardError);
    }

    /// <summary>Two runs of three consecutive free loopback ports, chosen once per test.</summary>
    private (int Http, int Replication) Ports()
    {
        if (_ports.Http == 0)
        {
            _ports = (ConsecutiveFree(20000), 0);
            _ports.Replication = ConsecutiveFree(_ports.Http + 3);
        }

        return _ports;
    }

    private static int ConsecutiveFree(int from)
    {
        for (var first = from + Random.Shared.Next(0, 20000); ; first += 3)
        {
            if (Enumerable.Range(first, 3).All(Free))
            {
                return first;
            }
        }
    }

    private static bool Free(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
