namespace Aurora.Agent.Executor.Tests;

public sealed class ParsingTests
{
    [Fact]
    public void A_stat_line_is_read_from_after_the_last_parenthesis()
    {
        const string line = "4242 (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615";

        var stat = ProcFs.ParseStat(4242, line);

        Assert.Equal(new ProcStat(4242, 'S', 4242, 987654), stat);
        Assert.True(stat!.Value.IsRunning);
        Assert.False((stat.Value with { State = 'Z' }).IsRunning);
    }

    [Fact]
    public void A_truncated_stat_line_is_no_process()
    {
        Assert.Null(ProcFs.ParseStat(1, "1 (init) S 0 1"));
    }

    [Fact]
    public void The_agents_own_process_reads_as_alive_only_with_its_start_time()
    {
        var pid = Environment.ProcessId;
        var stat = ProcFs.ReadStat(pid)!.Value;

        Assert.True(ProcFs.IsAlive(pid, stat.StartTime));
        Assert.False(ProcFs.IsAlive(pid, stat.StartTime + 1));
    }

    [Theory]
    [InlineData("http", "HTTP")]
    [InlineData("health-check", "HEALTH_CHECK")]
    [InlineData("a.b", "A_B")]
    public void Port_names_become_environment_variable_suffixes(string name, string variable)
    {
        Assert.Equal(variable, TaskSupervisor.VariableName(name));
    }

    [Fact]
    public void Templates_bind_known_variables_and_name_the_first_unknown_one()
    {
        var launch = Launches.Task("t1", Launches.Process("a", "x")) with { Ports = new Dictionary<string, int> { ["http"] = 8080 } };
        var template = new CommandTemplate(launch, "host-1", "alice");

        Assert.True(template.TryBind("run --port={{thermos.ports['http']}} --id={{thermos.task_id}}", "p", out var bound, out _));
        Assert.Equal("run --port=8080 --id=t1", bound);
        Assert.False(template.TryBind("{{mesos.instance}} {{unknown.thing}} {{other}}", "Process 'p'", out _, out var error));
        Assert.StartsWith("Process 'p' uses {{unknown.thing}}, an unknown template variable", error);
    }
}
