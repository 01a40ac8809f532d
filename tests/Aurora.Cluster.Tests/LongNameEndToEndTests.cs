namespace Aurora.Cluster.Tests;

/// <summary>
/// Issue 12, finding 2, where it happened: a job with a 200-character name was accepted, its task id
/// was too long for the agent's checkpoint file, and scheduler and agent spun re-sending the launch.
/// With real processes: the longest key the scheduler accepts runs and is killed like any other, and
/// one character more is refused before anything is created.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LongNameEndToEndTests(ClusterFixture fixture) : IAsyncLifetime
{
    private AgentCluster Cluster => fixture.Cluster;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => Cluster.KillEverythingAsync();

    [Fact]
    public async Task The_longest_job_key_runs_as_a_real_task_and_one_character_more_is_refused()
    {
        // www-data + prod + name = 193 characters, the most a key may have (TaskIds.MaxJobKeyCharacters).
        var name = new string('n', 193 - "www-data".Length - "prod".Length);
        var file = Cluster.JobFile("long.json", Jobs.Service("www-data", name, 1, "sleep 600"));
        var create = await Cluster.AuroraAsync("job", "create", $"devcluster/www-data/prod/{name}", file);
        Assert.True(create.ExitCode == 0, create.ToString());

        var task = (await Cluster.WaitForRunningAsync($"www-data/prod/{name}", 1)).Single();
        var taskId = task["taskId"]!.GetValue<string>();
        var host = AgentCluster.Host(task)!;
        Assert.InRange(taskId.Length, 230, 239);
        Assert.True(File.Exists(Path.Combine(Cluster.WorkDir(host), "checkpoints", taskId + ".json")), "the checkpoint of the longest task id is written");
        Assert.NotEmpty(Cluster.ProcessesOf($"www-data/prod/{name}", host));

        // The agent took the launch once: it is idle, not re-launching (the loop took a whole core).
        var (cpu, wall) = await IdleProcess.MeasureAsync(Cluster.AgentProcess(host).Id, () => Cluster.HeartbeatsAnsweredAsync(host));
        Assert.True(cpu < wall * IdleProcess.MaxIdleShare, $"the agent used {cpu.TotalMilliseconds:F0} ms of CPU in {wall.TotalMilliseconds:F0} ms");

        await Cluster.KillJobAndCheckNoProcessesLeftAsync($"www-data/prod/{name}");

        var longer = name + "n";
        var refused = await Cluster.AuroraAsync("job", "create", $"devcluster/www-data/prod/{longer}", Cluster.JobFile("longer.json", Jobs.Service("www-data", longer, 1, "sleep 600")));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("is too long: role, environment and name together may have at most 193 characters", refused.Out + refused.Err, StringComparison.Ordinal);
        Assert.Empty(await Cluster.TasksAsync($"www-data/prod/{longer}", activeOnly: false));
    }
}
