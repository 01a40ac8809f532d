using System.Text.Json.Nodes;
using Aurora.Scheduler.Protos;
using static Aurora.Client.Tests.Config.ConfigText;

namespace Aurora.Client.Tests.Config;

public class UpdateConfigAndCronTests
{
    [Fact]
    public void Update_config_maps_onto_job_update_settings()
    {
        var settings = Load(j => j["update_config"] = JsonNode.Parse("""
            {"batch_size": 3, "watch_secs": 60, "max_per_shard_failures": 2, "max_total_failures": 4,
             "rollback_on_failure": false, "pulse_interval_secs": 120, "sla_aware": true}
            """)).UpdateSettings;

        Assert.Equal(
            new JobUpdateSettings
            {
                MaxPerInstanceFailures = 2,
                MaxFailedInstances = 4,
                MinWaitInInstanceRunningMs = 60_000,
                RollbackOnFailure = false,
                BlockIfNoPulsesAfterMs = 120_000,
                SlaAware = true,
                Strategy = new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = 3 } },
            },
            settings);
    }

    [Fact]
    public void An_empty_update_config_has_the_same_defaults_as_none()
    {
        Assert.Equal(Load(Job()).UpdateSettings, Load(j => j["update_config"] = new JsonObject()).UpdateSettings);
    }

    [Fact]
    public void Waiting_for_batch_completion_is_the_batch_strategy()
    {
        var settings = Load(j => j["update_config"] = JsonNode.Parse("""{"batch_size": 2, "wait_for_batch_completion": true}""")).UpdateSettings;

        Assert.Equal(new JobUpdateStrategy { Batch = new BatchStrategy { GroupSize = 2, AutopauseAfterBatch = false } }, settings.Strategy);
    }

    [Theory]
    [InlineData("""{"queue": {"batch_size": 4}}""")]
    [InlineData("""{"batch": {"batch_size": 4, "autopause_after_batch": true}}""")]
    [InlineData("""{"variable_batch": {"batch_sizes": [1, 2, 5], "autopause_after_batch": true}}""")]
    public void Update_strategies_are_mapped(string strategy)
    {
        var mapped = Load(j => j["update_config"] = new JsonObject { ["update_strategy"] = JsonNode.Parse(strategy) }).UpdateSettings.Strategy;

        var expected = mapped.KindCase switch
        {
            JobUpdateStrategy.KindOneofCase.Queue => new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = 4 } },
            JobUpdateStrategy.KindOneofCase.Batch => new JobUpdateStrategy { Batch = new BatchStrategy { GroupSize = 4, AutopauseAfterBatch = true } },
            _ => new JobUpdateStrategy { VariableBatch = new VariableBatchStrategy { GroupSizes = { 1, 2, 5 }, AutopauseAfterBatch = true } },
        };
        Assert.Equal(expected, mapped);
    }

    [Theory]
    [InlineData("""{"batch_size": 0}""", "update_config.batch_size", "must be at least 1, got 0")]
    [InlineData("""{"watch_secs": -1}""", "update_config.watch_secs", "must be at least 0, got -1")]
    [InlineData("""{"max_total_failures": -1}""", "update_config.max_total_failures", "must be at least 0, got -1")]
    [InlineData("""{"pulse_interval_secs": 30}""", "update_config.pulse_interval_secs", "must be at least 60, got 30")]
    [InlineData("""{"restart_threshold": 30}""", "update_config.restart_threshold", "was removed from Aurora (0.13): an instance is watched for watch_secs once it runs; remove it")]
    [InlineData("""{"batch_size": 2, "update_strategy": {"queue": {}}}""", "update_config.update_strategy", "is ambiguous with batch_size greater than 1: set the batch size inside update_strategy instead")]
    [InlineData("""{"wait_for_batch_completion": true, "update_strategy": {"queue": {}}}""", "update_config.update_strategy", "is ambiguous with wait_for_batch_completion: use update_strategy {\"batch\": {...}} instead")]
    [InlineData("""{"update_strategy": {"variable_batch": {"batch_sizes": []}}}""", "update_config.update_strategy.variable_batch.batch_sizes", "required: at least one batch size")]
    [InlineData("""{"update_strategy": {"variable_batch": {"batch_sizes": [1, 0]}}}""", "update_config.update_strategy.variable_batch.batch_sizes[1]", "must be at least 1, got 0")]
    [InlineData("""{"update_strategy": {"queue": {"batch_size": 0}}}""", "update_config.update_strategy.queue.batch_size", "must be at least 1, got 0")]
    [InlineData("""{"update_strategy": {"rolling": {}}}""", "update_config.update_strategy", "unknown kind \"rolling\"; expected one of \"queue\", \"batch\", \"variable_batch\"")]
    public void Bad_update_configs_are_refused(string json, string field, string problem)
    {
        var error = Error(j => j["update_config"] = JsonNode.Parse(json));

        Assert.Equal($"jobs[0].{field}: {problem}", $"{error.FieldPath}: {error.Problem}");
    }

    [Fact]
    public void A_cron_job_maps_its_schedule_and_collision_policy()
    {
        var config = Load(j =>
        {
            j["cron_schedule"] = "0 3 * * 1-5";
            j["cron_collision_policy"] = "cancel_new";
        }).Config;

        Assert.Equal("0 3 * * 1-5", config.CronSchedule);
        Assert.Equal(CronCollisionPolicy.CancelNew, config.CronCollisionPolicy);
    }

    [Fact]
    public void Run_overlap_is_mapped_faithfully_for_the_scheduler_to_refuse()
    {
        Assert.Equal(CronCollisionPolicy.RunOverlap, Load(j => j["cron_collision_policy"] = "RUN_OVERLAP").Config.CronCollisionPolicy);
    }
}
