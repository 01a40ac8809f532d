using Aurora.Scheduler.Protos;

namespace Aurora.Client.Config;

// UpdateConfig -> JobUpdateSettings, as Aurora's UpdaterConfig.to_thrift_update_settings.
internal static partial class JobConverter
{
    // Aurora's client refuses shorter pulse intervals (UpdaterConfig.MIN_PULSE_INTERVAL_SECONDS).
    private const int MinPulseIntervalSecs = 60;

    private static readonly Schema UpdateConfigSchema = Schema.Of(
            "batch_size", "watch_secs", "max_per_shard_failures", "max_total_failures", "rollback_on_failure",
            "wait_for_batch_completion", "pulse_interval_secs", "sla_aware", "update_strategy")
        .Refusing("restart_threshold", "was removed from Aurora (0.13): an instance is watched for watch_secs once it runs; remove it");

    private static readonly Schema QueueStrategySchema = Schema.Of("batch_size");
    private static readonly Schema BatchStrategySchema = Schema.Of("batch_size", "autopause_after_batch");
    private static readonly Schema VariableBatchStrategySchema = Schema.Of("batch_sizes", "autopause_after_batch");

    private static JobUpdateSettings UpdateSettings(StructReader job)
    {
        var update = job.Struct("update_config", UpdateConfigSchema);
        if (update is null)
        {
            return new JobUpdateSettings
            {
                MinWaitInInstanceRunningMs = 45_000,
                RollbackOnFailure = true,
                Strategy = new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = 1 } },
            };
        }

        var batchSize = update.Int("batch_size", 1, 1);
        var waitForBatch = update.Bool("wait_for_batch_completion", false);
        var settings = new JobUpdateSettings
        {
            MaxPerInstanceFailures = update.Int("max_per_shard_failures", 0, 0),
            MaxFailedInstances = update.Int("max_total_failures", 0, 0),
            MinWaitInInstanceRunningMs = update.Int("watch_secs", 45, 0) * 1000L,
            RollbackOnFailure = update.Bool("rollback_on_failure", true),
            BlockIfNoPulsesAfterMs = update.OptionalInt("pulse_interval_secs", MinPulseIntervalSecs) * 1000L ?? 0,
            SlaAware = update.Bool("sla_aware", false),
        };

        var strategy = Strategy(update);
        if (strategy is not null && batchSize > 1)
        {
            throw update.Fail("update_strategy", "is ambiguous with batch_size greater than 1: set the batch size inside update_strategy instead");
        }

        if (strategy is not null && waitForBatch)
        {
            throw update.Fail("update_strategy", "is ambiguous with wait_for_batch_completion: use update_strategy {\"batch\": {...}} instead");
        }

        settings.Strategy = strategy ?? (waitForBatch
            ? new JobUpdateStrategy { Batch = new BatchStrategy { GroupSize = batchSize } }
            : new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = batchSize } });
        return settings;
    }

    private static JobUpdateStrategy? Strategy(StructReader update)
    {
        switch (update.OneOf(
            "update_strategy",
            ("queue", QueueStrategySchema),
            ("batch", BatchStrategySchema),
            ("variable_batch", VariableBatchStrategySchema)))
        {
            case null:
                return null;
            case ("queue", var queue):
                return new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = queue.Int("batch_size", 1, 1) } };
            case ("batch", var batch):
                return new JobUpdateStrategy
                {
                    Batch = new BatchStrategy { GroupSize = batch.Int("batch_size", 1, 1), AutopauseAfterBatch = batch.Bool("autopause_after_batch", false) },
                };
            case var (_, variable):
                var sizes = variable.List("batch_sizes");
                if (sizes.Count == 0)
                {
                    throw variable.Fail("batch_sizes", "required: at least one batch size");
                }

                var strategy = new VariableBatchStrategy { AutopauseAfterBatch = variable.Bool("autopause_after_batch", false) };
                for (var i = 0; i < sizes.Count; i++)
                {
                    strategy.GroupSizes.Add((int)Values.Integer(variable.Source, FieldPath.Index(variable.PathOf("batch_sizes"), i), sizes[i], 1, int.MaxValue));
                }

                return new JobUpdateStrategy { VariableBatch = strategy };
        }
    }
}
