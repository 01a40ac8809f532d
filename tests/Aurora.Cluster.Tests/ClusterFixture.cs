namespace Aurora.Cluster.Tests;

/// <summary>
/// One cluster for the end-to-end tests: the dev scheduler and four agents — three on racks r1,
/// r2 and r3, and one dedicated to db_team/redis. Tests run one after another on it and each kills
/// what it started, checking that no process is left.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public static readonly string[] RackHosts = ["agent-r1", "agent-r2", "agent-r3"];

    public const string DedicatedHost = "agent-db";

    public AgentCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // A short preemption delay so production work preempts within a test; small jobs held to SLAs.
        Cluster = await AgentCluster.StartAsync("-preemption_delay=1secs", "-transient_task_state_timeout=1mins", "-min_required_instances_for_sla_check=3");
        for (var i = 0; i < RackHosts.Length; i++)
        {
            Cluster.StartAgent(RackHosts[i], $"rack:r{i + 1};zone:z1", 41000 + (i * 100));
        }

        Cluster.StartAgent(DedicatedHost, "rack:r9;dedicated:db_team/redis", 41900);
        await Cluster.WaitForAgentsAsync([.. RackHosts, DedicatedHost]);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
