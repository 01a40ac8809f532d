using System.Text.Json.Nodes;
using Aurora.Client;

namespace Aurora.Client.Tests.Commands;

/// <summary><c>aurora_admin sla_host_drain</c>: flags to <c>POST /api/maintenance/sla_drain</c>, and bad flags refused before asking.</summary>
public sealed class SlaHostDrainCommandTests : FakeSchedulerTests
{
    private const string SlaDrainPath = "/api/maintenance/sla_drain";

    [Fact]
    public async Task A_percentage_drain_sends_the_policy_and_the_timeout_in_seconds()
    {
        Scheduler.On("POST", SlaDrainPath, Canned.Write());

        var result = await Cli.AdminAsync("sla_host_drain", "test", "--hosts=agent1,agent2", "--default_percentage=99.5", "--default_duration=30m", "--force_drain_timeout=2h");

        Assert.True(result.Exit == 0, result.ToString());
        var body = JsonNode.Parse(Assert.Single(Scheduler.To("POST", SlaDrainPath)).Body)!;
        Assert.Equal(["agent1", "agent2"], body["hosts"]!.AsArray().Select(h => h!.GetValue<string>()));
        var percentage = body["defaultSlaPolicy"]!["percentage"]!;
        Assert.Equal(99.5, percentage["percentage"]!.GetValue<double>());
        Assert.Equal("1800", percentage["durationSecs"]!.ToString());
        Assert.Null(body["defaultSlaPolicy"]!["count"]);
        Assert.Equal(7200, body["timeoutSecs"]!.GetValue<long>());
        Assert.Contains("SLA-aware drain started for agent1, agent2 (default SLA 99.5% of each job RUNNING for 30mins; forced after 2hrs)", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_count_drain_takes_hosts_from_a_file_and_bare_numbers_as_seconds()
    {
        Scheduler.On("POST", SlaDrainPath, Canned.Write());
        var file = Cli.WriteFile("hosts.txt", "# rack 2\nagent3\n");

        var result = await Cli.AdminAsync("sla_host_drain", "test", "--filename", file, "--default_count=2", "--default_duration=90", "--force_drain_timeout=1d");

        Assert.True(result.Exit == 0, result.ToString());
        var body = JsonNode.Parse(Assert.Single(Scheduler.To("POST", SlaDrainPath)).Body)!;
        Assert.Equal(["agent3"], body["hosts"]!.AsArray().Select(h => h!.GetValue<string>()));
        Assert.Equal("2", body["defaultSlaPolicy"]!["count"]!["count"]!.ToString());
        Assert.Equal("90", body["defaultSlaPolicy"]!["count"]!["durationSecs"]!.ToString());
        Assert.Equal(86400, body["timeoutSecs"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("--default_percentage or --default_count, not both", "--hosts=a", "--default_percentage=95", "--default_count=2", "--default_duration=30m", "--force_drain_timeout=1h")]
    [InlineData("give the default SLA with --default_percentage=P or --default_count=N", "--hosts=a", "--default_duration=30m", "--force_drain_timeout=1h")]
    [InlineData("--default_percentage must be a number greater than 0 and at most 100, got '0'", "--hosts=a", "--default_percentage=0", "--default_duration=30m", "--force_drain_timeout=1h")]
    [InlineData("--default_percentage must be a number greater than 0 and at most 100, got '100.1'", "--hosts=a", "--default_percentage=100.1", "--default_duration=30m", "--force_drain_timeout=1h")]
    [InlineData("--default_percentage must be a number greater than 0 and at most 100, got 'most'", "--hosts=a", "--default_percentage=most", "--default_duration=30m", "--force_drain_timeout=1h")]
    [InlineData("--default_count must be a whole number of at least 1, got '0'", "--hosts=a", "--default_count=0", "--default_duration=30m", "--force_drain_timeout=1h")]
    [InlineData("--default_count must be a whole number of at least 1, got '1.5'", "--hosts=a", "--default_count=1.5", "--default_duration=30m", "--force_drain_timeout=1h")]
    [InlineData("missing flag --default_duration=DURATION", "--hosts=a", "--default_count=2", "--force_drain_timeout=1h")]
    [InlineData("--default_duration must be a duration in whole seconds such as 30m, 2h, 1d or 90, got 'soon'", "--hosts=a", "--default_count=2", "--default_duration=soon", "--force_drain_timeout=1h")]
    [InlineData("--default_duration must be a duration in whole seconds such as 30m, 2h, 1d or 90, got '250ms'", "--hosts=a", "--default_count=2", "--default_duration=250ms", "--force_drain_timeout=1h")]
    [InlineData("missing flag --force_drain_timeout=DURATION", "--hosts=a", "--default_count=2", "--default_duration=30m")]
    [InlineData("--force_drain_timeout must be a duration in whole seconds such as 30m, 2h, 1d or 90, got '-1'", "--hosts=a", "--default_count=2", "--default_duration=30m", "--force_drain_timeout=-1")]
    [InlineData("give the hosts with --hosts=HOST[,HOST...] or --filename=FILE", "--default_count=2", "--default_duration=30m", "--force_drain_timeout=1h")]
    public async Task Bad_flags_are_refused_without_asking_the_scheduler(string problem, params string[] flags)
    {
        var result = await Cli.AdminAsync(["sla_host_drain", "test", .. flags]);

        Assert.True(result.Exit == ExitCodes.Usage, result.ToString());
        Assert.Contains(problem, result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Scheduler.Requests);
    }
}
