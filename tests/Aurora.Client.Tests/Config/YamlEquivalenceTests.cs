using Aurora.Client.Config;
using static Aurora.Client.Tests.Config.ConfigText;

namespace Aurora.Client.Tests.Config;

public class YamlEquivalenceTests
{
    private const string Json = """
        {
          "jobs": [
            {
              "cluster": "devcluster",
              "role": "www-data",
              "environment": "prod",
              "name": "web",
              "instances": 4,
              "service": true,
              "tier": "preferred",
              "contact": "ops@example.com",
              "constraints": {"rack": "limit:1", "host": "!bad1,bad2"},
              "metadata": [{"key": "version", "value": "1.10"}],
              "update_config": {"batch_size": 2, "watch_secs": 30, "max_total_failures": 1},
              "health_check_config": {"initial_interval_secs": 20, "health_checker": {"http": {"endpoint": "/ping"}}},
              "partition_policy": {"reschedule": false, "delay_secs": 10},
              "task": {
                "processes": [
                  {"name": "fetch", "cmdline": "fetch-release", "ephemeral": true, "min_duration": 0},
                  {"name": "serve", "cmdline": "serve --http={{thermos.ports[http]}} --health={{thermos.ports[health]}}", "max_failures": 0, "daemon": true}
                ],
                "constraints": [{"order": ["fetch", "serve"]}],
                "resources": {"cpu": 1.5, "ram": "1GB", "disk": 2147483648},
                "finalization_wait": 45
              }
            },
            {
              "cluster": "devcluster",
              "role": "www-data",
              "environment": "prod",
              "name": "nightly",
              "cron_schedule": "0 2 * * *",
              "task": {
                "processes": [{"name": "report", "cmdline": "make-report"}],
                "resources": {"cpu": 0.25, "ram": "128MiB", "disk": "256MB"}
              }
            }
          ]
        }
        """;

    private const string Yaml = """
        # The same two jobs as the JSON above.
        jobs:
          - cluster: devcluster
            role: www-data
            environment: prod
            name: web
            instances: 4
            service: true
            tier: preferred
            contact: ops@example.com
            constraints:
              rack: "limit:1"
              host: "!bad1,bad2"
            metadata:
              - key: version
                value: 1.10          # a plain number stays the text written
            update_config: {batch_size: 2, watch_secs: 30, max_total_failures: 1}
            health_check_config:
              initial_interval_secs: 20
              health_checker:
                http:
                  endpoint: /ping
            partition_policy:
              reschedule: false
              delay_secs: 10
            task:
              processes:
                - &fetch
                  name: fetch
                  cmdline: fetch-release
                  ephemeral: true
                  min_duration: 0
                - name: serve
                  cmdline: >-
                    serve --http={{thermos.ports[http]}}
                    --health={{thermos.ports[health]}}
                  max_failures: 0
                  daemon: true
              constraints:
                - order: [fetch, serve]
              resources:
                cpu: 1.5
                ram: 1GB
                disk: 2147483648
              finalization_wait: 45
          - cluster: devcluster
            role: www-data
            environment: prod
            name: nightly
            cron_schedule: 0 2 * * *
            task:
              processes: [{name: report, cmdline: make-report}]
              resources: {cpu: 0.25, ram: 128MiB, disk: 256MB}
        """;

    [Fact]
    public void Yaml_and_json_of_the_same_jobs_load_the_same()
    {
        var fromJson = JobConfigLoader.Parse(Json, "json", "jobs.json");
        var fromYaml = JobConfigLoader.Parse(Yaml, "yaml", "jobs.yaml");

        Assert.Equal(2, fromJson.Count);
        Assert.Equal(fromJson, fromYaml);
        Assert.Equal("1.10", fromYaml[0].Config.Task.Metadata[0].Value);
        Assert.Equal(["http", "health"], fromYaml[0].Config.Task.Resources.NamedPorts);
        Assert.Equal("/ping", fromYaml[0].Config.Task.HealthCheck.Http.Endpoint);
    }

    private const string MinimalYaml = """
        jobs:
          - cluster: devcluster
            role: www-data
            environment: prod
            task: {processes: [{name: main, cmdline: run}], resources: {cpu: 1, ram: 1MB, disk: 1MB}}

        """;

    [Fact]
    public void Yaml_quoting_decides_between_strings_and_other_scalars()
    {
        Assert.Equal("expected true or false, got \"yes\"", Error(MinimalYaml + "    service: yes\n", "yaml").Problem);
        Assert.Equal("expected true or false, got \"true\"", Error(MinimalYaml + "    service: 'true'\n", "yaml").Problem);
        Assert.Equal("expected a whole number, got \"3\"", Error(MinimalYaml + "    instances: \"3\"\n", "yaml").Problem);
        Assert.Equal("jobs[0].role", Error(MinimalYaml.Replace("role: www-data", "role: ~", StringComparison.Ordinal), "yaml").FieldPath);
        Assert.True(JobConfigLoader.Parse(MinimalYaml + "    service: TRUE\n    contact:\n", "yaml", Source)[0].Config.Task.IsService);
    }

    [Fact]
    public void The_yaml_example_is_the_json_example()
    {
        Assert.Equal(JobConfigLoader.LoadFile(RepoFile("examples/hello.json")), JobConfigLoader.LoadFile(RepoFile("examples/hello.yaml")));
    }
}
