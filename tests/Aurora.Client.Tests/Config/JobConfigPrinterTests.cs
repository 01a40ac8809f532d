using System.Text.Json.Nodes;
using Aurora.Client.Config;
using static Aurora.Client.Tests.Config.ConfigText;

namespace Aurora.Client.Tests.Config;

public class JobConfigPrinterTests
{
    public static TheoryData<string> Configs() =>
    [
        Job(),
        Job(j => { j["service"] = true; j["instances"] = 3; j.Process()["cmdline"] = "serve {{thermos.ports[http]}} {{thermos.ports[health]}}"; }),
        Job(j =>
        {
            j["name"] = "everything";
            j["tier"] = "preferred";
            j["contact"] = "ops@example.com";
            j["constraints"] = JsonNode.Parse("""{"rack": "limit:2", "host": "!a,b", "zone": "z1"}""");
            j["metadata"] = JsonNode.Parse("""{"a": "1"}""");
            j["task_links"] = JsonNode.Parse("""{"logs": "http://logs"}""");
            j["container"] = JsonNode.Parse("""{"mesos": {"image": {"docker": {"name": "debian", "tag": "12"}}, "volumes": [{"container_path": "/a", "host_path": "/b", "mode": "RO"}]}}""");
            j["health_check_config"] = JsonNode.Parse("""{"health_checker": {"shell": {"shell_command": "true"}}, "timeout_secs": 2.5}""");
            j["partition_policy"] = JsonNode.Parse("""{"reschedule": false}""");
            j["sla_policy"] = JsonNode.Parse("""{"count": {"count": 1, "duration_secs": 60}}""");
            j["announce"] = JsonNode.Parse("""{"primary_port": "thrift"}""");
            j["update_config"] = JsonNode.Parse("""{"update_strategy": {"variable_batch": {"batch_sizes": [1, 3]}}, "pulse_interval_secs": 60}""");
            j.Process()["logger"] = JsonNode.Parse("""{"mode": "rotate", "rotate": {"log_size": "1GB", "backups": 2}}""");
            j.Task()["constraints"] = JsonNode.Parse("""[{"order": ["main"]}]""");
            j.Resources()["gpu"] = 1;
        }),
        Job(j => { j["container"] = JsonNode.Parse("""{"docker": {"image": "nginx", "parameters": [{"name": "a", "value": "b"}]}}"""); j["name"] = "d"; j.Task().Remove("processes"); }),
        Job(j => j["update_config"] = JsonNode.Parse("""{"batch_size": 5, "wait_for_batch_completion": true}""")),
        Job(j => j["update_config"] = JsonNode.Parse("""{"update_strategy": {"batch": {"batch_size": 2, "autopause_after_batch": true}}}""")),
        Job(j => { j["cron_schedule"] = "*/5 * * * *"; j["cron_collision_policy"] = "CANCEL_NEW"; }),
    ];

    [Theory]
    [MemberData(nameof(Configs))]
    public void Loading_the_printed_job_gives_the_same_job(string config)
    {
        var loaded = Load(config);

        var printed = JobConfigPrinter.ToJson(loaded);

        Assert.Equal(loaded, Assert.Single(JobConfigLoader.Parse(printed, "json", "printed.json")));
    }

    [Fact]
    public void The_printout_spells_out_defaults_in_Auroras_field_names()
    {
        var printed = JsonNode.Parse(JobConfigPrinter.ToJson(Load(Job())))!["jobs"]![0]!;

        Assert.Equal("main", (string?)printed["name"]);
        Assert.Equal("64MB", (string?)printed["task"]!["resources"]!["ram"]);
        Assert.Equal(5, (int?)printed["task"]!["processes"]![0]!["min_duration"]);
        Assert.Equal("KILL_EXISTING", (string?)printed["cron_collision_policy"]);
        Assert.Equal(45, (int?)printed["update_config"]!["watch_secs"]);
    }

    [Fact]
    public void Without_update_settings_the_printout_has_no_update_config()
    {
        var loaded = Load(Job());

        var printed = JsonNode.Parse(JobConfigPrinter.ToJson(loaded.Config, loaded.Cluster))!["jobs"]![0]!.AsObject();

        Assert.False(printed.ContainsKey("update_config"));
        Assert.Equal(loaded.Config, Assert.Single(JobConfigLoader.Parse(printed.ToJsonString(), "json", "printed.json")).Config);
    }
}
