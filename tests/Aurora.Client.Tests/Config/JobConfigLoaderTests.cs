using System.Text.Json.Nodes;
using Aurora.Client.Config;
using Aurora.Scheduler.Protos;
using static Aurora.Client.Tests.Config.ConfigText;

namespace Aurora.Client.Tests.Config;

public class JobConfigLoaderTests
{
    [Fact]
    public void A_minimal_job_gets_Auroras_defaults()
    {
        var loaded = Load(Job());
        var config = loaded.Config;
        var task = config.Task;

        Assert.Equal("devcluster", loaded.Cluster);
        Assert.Equal(new JobKey { Role = "www-data", Environment = "prod", Name = "main" }, config.Key);
        Assert.Equal(config.Key, task.Job);
        Assert.Equal(1, config.InstanceCount);
        Assert.Equal(string.Empty, config.CronSchedule);
        Assert.Equal(CronCollisionPolicy.KillExisting, config.CronCollisionPolicy);
        Assert.False(task.IsService);
        Assert.Equal(1, task.MaxTaskFailures);
        Assert.Equal(0, task.Priority);
        Assert.False(task.Production);
        Assert.Equal(string.Empty, task.Tier);
        Assert.Equal(string.Empty, task.ContactEmail);
        Assert.Equal(30, task.FinalizationWaitSecs);
        Assert.Null(task.HealthCheck);
        Assert.Null(task.Container);
        Assert.Null(task.PartitionPolicy);
        Assert.Null(task.SlaPolicy);
        Assert.Empty(task.Constraints);
        Assert.Empty(task.Metadata);
        Assert.Empty(task.TaskLinks);
        Assert.Empty(task.ProcessOrder);
        Assert.Equal(new Resources { NumCpus = 0.5, RamMb = 64, DiskMb = 128 }, task.Resources);

        var process = Assert.Single(task.Processes);
        Assert.Equal(
            new Process { Name = "main", Cmdline = "run", MaxFailures = 1, Daemon = false, Ephemeral = false, MinDurationSecs = 5, Final = false },
            process);

        Assert.Equal(
            new JobUpdateSettings
            {
                MinWaitInInstanceRunningMs = 45_000,
                RollbackOnFailure = true,
                Strategy = new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = 1 } },
            },
            loaded.UpdateSettings);
    }

    [Fact]
    public void Every_job_field_is_mapped()
    {
        var loaded = Load(j =>
        {
            j["name"] = "web";
            j["contact"] = "ops@example.com";
            j["instances"] = 3;
            j["service"] = true;
            j["tier"] = "preferred";
            j["production"] = true;
            j["priority"] = 5;
            j["max_task_failures"] = -1;
            j["metadata"] = new JsonArray(new JsonObject { ["key"] = "team", ["value"] = "web" });
            j["task_links"] = new JsonObject { ["logs"] = "http://logs/%host%" };
            j["partition_policy"] = new JsonObject { ["delay_secs"] = 30 };
            j.Task()["finalization_wait"] = 10;
        });
        var task = loaded.Config.Task;

        Assert.Equal("web", loaded.Config.Key.Name);
        Assert.Equal(3, loaded.Config.InstanceCount);
        Assert.True(task.IsService);
        Assert.Equal("preferred", task.Tier);
        Assert.True(task.Production);
        Assert.Equal(5, task.Priority);
        Assert.Equal(-1, task.MaxTaskFailures);
        Assert.Equal("ops@example.com", task.ContactEmail);
        Assert.Equal(new Metadata { Key = "team", Value = "web" }, Assert.Single(task.Metadata));
        Assert.Equal(new TaskLink { Name = "logs", Url = "http://logs/%host%" }, Assert.Single(task.TaskLinks));
        Assert.Equal(new PartitionPolicy { Reschedule = true, DelaySecs = 30 }, task.PartitionPolicy);
        Assert.Equal(10, task.FinalizationWaitSecs);
    }

    [Fact]
    public void Process_fields_are_mapped()
    {
        var process = Assert.Single(Load(j =>
        {
            var p = j.Process();
            p["max_failures"] = 0;
            p["daemon"] = true;
            p["ephemeral"] = true;
            p["min_duration"] = 15;
            p["final"] = true;
            p["logger"] = JsonNode.Parse("""{"destination": "file", "mode": "rotate", "rotate": {"log_size": "200MB", "backups": 3}}""");
        }).Config.Task.Processes);

        Assert.Equal(
            new Process
            {
                Name = "main",
                Cmdline = "run",
                MaxFailures = 0,
                Daemon = true,
                Ephemeral = true,
                MinDurationSecs = 15,
                Final = true,
                Logger = new ProcessLogger { Mode = "rotate", RotateLogSizeMb = 200, RotateLogBackups = 3 },
            },
            process);
    }

    [Fact]
    public void The_job_name_defaults_to_the_task_name_and_that_to_the_first_process_name()
    {
        Assert.Equal("web", Load(j => j.Task()["name"] = "web").Config.Key.Name);
        Assert.Equal("main", Load(Job()).Config.Key.Name);
        Assert.Equal("api", Load(j => { j["name"] = "api"; j.Task()["name"] = "web"; }).Config.Key.Name);
    }

    [Fact]
    public void Finalization_wait_is_capped_at_60_seconds_as_Thermos_does()
    {
        Assert.Equal(60, Load(j => j.Task()["finalization_wait"] = 600).Config.Task.FinalizationWaitSecs);
    }

    [Fact]
    public void Process_order_constraints_are_mapped()
    {
        var task = Load(j =>
        {
            j.Task()["processes"] = JsonNode.Parse("""[{"name": "fetch", "cmdline": "a"}, {"name": "serve", "cmdline": "b"}]""");
            j.Task()["constraints"] = JsonNode.Parse("""[{"order": ["fetch", "serve"]}]""");
        }).Config.Task;

        Assert.Equal(["fetch", "serve"], Assert.Single(task.ProcessOrder).Order);
    }

    [Fact]
    public void A_docker_job_may_have_no_processes()
    {
        var config = Load(j =>
        {
            j["name"] = "nginx";
            j.Task().Remove("processes");
            j["container"] = JsonNode.Parse("""{"docker": {"image": "nginx:1.25", "parameters": [{"name": "env", "value": "A=1"}]}}""");
        }).Config;

        Assert.Empty(config.Task.Processes);
        var docker = config.Task.Container.Docker;
        Assert.Equal("nginx:1.25", docker.Image);
        Assert.Equal(new DockerParameter { Name = "env", Value = "A=1" }, Assert.Single(docker.Parameters));
    }

    [Fact]
    public void A_mesos_container_maps_its_image_and_volumes()
    {
        var mesos = Load(j => j["container"] = JsonNode.Parse("""
            {"mesos": {"image": {"docker": {"name": "debian", "tag": "12"}},
                       "volumes": [{"container_path": "/data", "host_path": "/srv/data", "mode": "RO"},
                                   {"container_path": "/tmp/x", "host_path": "/tmp", "mode": "rw"}]}}
            """)).Config.Task.Container.Mesos;

        Assert.Equal(new DockerImage { Name = "debian", Tag = "12" }, mesos.Image.Docker);
        Assert.Equal(
            [
                new Volume { ContainerPath = "/data", HostPath = "/srv/data", Mode = VolumeMode.Ro },
                new Volume { ContainerPath = "/tmp/x", HostPath = "/tmp", Mode = VolumeMode.Rw },
            ],
            mesos.Volumes);

        var appc = Load(j => j["container"] = JsonNode.Parse("""{"mesos": {"image": {"appc": {"name": "app", "image_id": "sha512-1"}}}}"""));
        Assert.Equal(new AppcImage { Name = "app", ImageId = "sha512-1" }, appc.Config.Task.Container.Mesos.Image.Appc);
    }

    [Fact]
    public void Metadata_may_be_a_list_of_key_value_pairs_or_a_map()
    {
        var fromList = Load(j => j["metadata"] = JsonNode.Parse("""[{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]"""));
        var fromMap = Load(j => j["metadata"] = JsonNode.Parse("""{"a": "1", "b": "2"}"""));

        Assert.Equal(fromList.Config, fromMap.Config);
        Assert.Equal(2, fromMap.Config.Task.Metadata.Count);
    }

    [Theory]
    [InlineData("""{"percentage": {"percentage": 95, "duration_secs": 1800}}""")]
    [InlineData("""{"count": {"count": 2, "duration_secs": 60}}""")]
    [InlineData("""{"coordinator": {"coordinator_url": "http://coord/sla"}}""")]
    public void Sla_policies_are_mapped(string policy)
    {
        var sla = Load(j => j["sla_policy"] = JsonNode.Parse(policy)).Config.Task.SlaPolicy;

        switch (sla.KindCase)
        {
            case SlaPolicy.KindOneofCase.Percentage:
                Assert.Equal(new PercentageSlaPolicy { Percentage = 95, DurationSecs = 1800 }, sla.Percentage);
                break;
            case SlaPolicy.KindOneofCase.Count:
                Assert.Equal(new CountSlaPolicy { Count = 2, DurationSecs = 60 }, sla.Count);
                break;
            default:
                Assert.Equal(new CoordinatorSlaPolicy { CoordinatorUrl = "http://coord/sla", StatusKey = "drain" }, sla.Coordinator);
                break;
        }
    }

    [Fact]
    public void Auroras_single_job_json_form_loads_too()
    {
        var single = JsonNode.Parse(Job())!["jobs"]![0]!.ToJsonString();

        Assert.Equal(Load(Job()), Assert.Single(JobConfigLoader.Parse(single, "json", Source)));
    }

    [Fact]
    public void Json_may_have_comments_and_trailing_commas()
    {
        var text = Job().Replace("\"devcluster\",", "\"devcluster\", // the cluster\n", StringComparison.Ordinal)
            .Replace("]}", "],}", StringComparison.Ordinal);

        Assert.Equal(Load(Job()), Load(text));
    }

    [Fact]
    public void The_examples_load()
    {
        var hello = Assert.Single(JobConfigLoader.LoadFile(RepoFile("examples/hello.json")));
        Assert.Equal("devcluster", hello.Cluster);
        Assert.Equal(new JobKey { Role = "www-data", Environment = "prod", Name = "hello" }, hello.Config.Key);
        Assert.True(hello.Config.Task.IsService);
        Assert.Equal(new Resources { NumCpus = 0.1, RamMb = 32, DiskMb = 32 }, hello.Config.Task.Resources);

        var helloYaml = Assert.Single(JobConfigLoader.LoadFile(RepoFile("examples/hello.yaml")));
        Assert.Equal(hello, helloYaml);

        var cron = Assert.Single(JobConfigLoader.LoadFile(RepoFile("examples/cron.json")));
        Assert.Equal("*/15 * * * *", cron.Config.CronSchedule);
        Assert.Equal(CronCollisionPolicy.CancelNew, cron.Config.CronCollisionPolicy);
        Assert.False(cron.Config.Task.IsService);
    }

    [Fact]
    public void Load_file_reads_json_yaml_and_yml_by_extension()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Sub("a.json"), Job());
        File.WriteAllText(dir.Sub("b.YML"), File.ReadAllText(RepoFile("examples/hello.yaml")));

        Assert.Equal(Load(Job()), Assert.Single(JobConfigLoader.LoadFile(dir.Sub("a.json"))));
        Assert.Equal("hello", Assert.Single(JobConfigLoader.LoadFile(dir.Sub("b.YML"))).Config.Key.Name);
    }

    [Fact]
    public void Select_picks_the_job_by_its_full_key()
    {
        var jobs = JobConfigLoader.Parse(Jobs(j => j["name"] = "a", j => j["name"] = "b", j => { j["name"] = "a"; j["cluster"] = "other"; }), "json", Source);

        var picked = JobConfigLoader.Select(jobs, "other", "www-data", "prod", "a", Source);

        Assert.Same(jobs[2], picked);
        Assert.Same(jobs[1], JobConfigLoader.Select(jobs, "devcluster", "www-data", "prod", "b", Source));
    }

    [Fact]
    public void Select_lists_the_jobs_of_the_file_when_none_matches()
    {
        var jobs = JobConfigLoader.Parse(Jobs(j => j["name"] = "a", j => j["name"] = "b"), "json", Source);

        var error = Assert.Throws<JobConfigException>(() => JobConfigLoader.Select(jobs, "devcluster", "www-data", "staging", "a", Source));

        Assert.Equal(
            "test.json: no job devcluster/www-data/staging/a in this file; it has devcluster/www-data/prod/a, devcluster/www-data/prod/b",
            error.Message);
    }

    [Fact]
    public void Select_refuses_a_key_that_the_file_defines_twice()
    {
        var jobs = JobConfigLoader.Parse(Jobs(j => j["name"] = "a", j => j["name"] = "a"), "json", Source);

        var error = Assert.Throws<JobConfigException>(() => JobConfigLoader.Select(jobs, "devcluster", "www-data", "prod", "a", Source));

        Assert.Contains("2 jobs are devcluster/www-data/prod/a", error.Message, StringComparison.Ordinal);
    }
}
