using Xunit.Abstractions;

namespace Aurora.Replication.Tests.Simulation;

public sealed class SimulationTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void Seeds_hold_the_invariants(int replicas)
    {
        var seeds = Environment.GetEnvironmentVariable("AURORA_SIM_SEED") is { } one ? [int.Parse(one, System.Globalization.CultureInfo.InvariantCulture)] : Enumerable.Range(1, 50).ToArray();
        foreach (var seed in seeds)
        {
            var sim = new Simulator(seed, new SimulationConfig { Replicas = replicas });
            sim.Run();
            output.WriteLine($"seed {seed}: {sim.Events} events, {sim.History.Count} operations, {sim.History.Count(o => o.Completed && !o.IsRead)} acknowledged appends");
        }
    }
}
