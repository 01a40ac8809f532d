using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aurora.CommandLine;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Client.Config;

/// <summary>
/// Writes a job back in the file format <see cref="JobConfigLoader"/> reads, with every default
/// spelt out (for <c>aurora job inspect</c>). Loading the output gives the same job back, except
/// what the format cannot say: ports that nothing references (beyond one, written as
/// <c>announce.primary_port</c>) and amounts that are not whole seconds or megabytes.
/// </summary>
public static partial class JobConfigPrinter
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A loadable file, <c>{"jobs": [...]}</c>, holding this one job.</summary>
    public static string ToJson(LoadedJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return ToJson(job.Config, job.Cluster, job.UpdateSettings);
    }

    /// <summary>As <see cref="ToJson(LoadedJob)"/>; <c>update_config</c> is left out when <paramref name="updateSettings"/> is null.</summary>
    public static string ToJson(JobConfiguration config, string cluster, JobUpdateSettings? updateSettings = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(cluster);
        var job = Job(config, cluster);
        if (updateSettings is not null)
        {
            job["update_config"] = UpdateConfig(updateSettings);
        }

        return new JsonObject { ["jobs"] = new JsonArray(job) }.ToJsonString(Indented);
    }

    private static JsonObject Job(JobConfiguration config, string cluster)
    {
        var task = config.Task ?? new TaskConfig();
        var key = config.Key ?? task.Job ?? new JobKey();
        var job = new JsonObject
        {
            ["name"] = key.Name,
            ["role"] = key.Role,
            ["cluster"] = cluster,
            ["environment"] = key.Environment,
            ["instances"] = config.InstanceCount,
            ["service"] = task.IsService,
            ["max_task_failures"] = task.MaxTaskFailures,
            ["priority"] = task.Priority,
            ["production"] = task.Production,
        };
        AddIfSet(job, "tier", task.Tier);
        AddIfSet(job, "contact", task.ContactEmail);
        AddIfSet(job, "cron_schedule", config.CronSchedule);
        job["cron_collision_policy"] = ProtoNames.Of(config.CronCollisionPolicy);
        if (task.Constraints.Count > 0)
        {
            job["constraints"] = new JsonObject(task.Constraints.Select(c => KeyValuePair.Create(c.Name, (JsonNode?)ConstraintText(c))));
        }

        if (task.Metadata.Count > 0)
        {
            job["metadata"] = new JsonArray([.. task.Metadata.Select(m => new JsonObject { ["key"] = m.Key, ["value"] = m.Value })]);
        }

        if (task.TaskLinks.Count > 0)
        {
            job["task_links"] = new JsonObject(task.TaskLinks.Select(l => KeyValuePair.Create(l.Name, (JsonNode?)l.Url)));
        }

        AddIfSet(job, "container", Container(task.Container));
        AddIfSet(job, "health_check_config", HealthCheck(task.HealthCheck));
        if (task.PartitionPolicy is { } partition)
        {
            job["partition_policy"] = new JsonObject { ["reschedule"] = partition.Reschedule, ["delay_secs"] = partition.DelaySecs };
        }

        AddIfSet(job, "sla_policy", SlaPolicy(task.SlaPolicy));
        job["task"] = Task(task);

        // Ports come from references; one that nothing references can only be said as the announced port.
        var referenced = PortReference().Matches(job.ToJsonString()).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var unreferenced = task.Resources?.NamedPorts.Where(p => !referenced.Contains(p)).ToList() ?? [];
        if (unreferenced.Count > 0)
        {
            job["announce"] = new JsonObject { ["primary_port"] = unreferenced[0] };
        }

        return job;
    }

    private static JsonObject Task(TaskConfig task)
    {
        var resources = task.Resources ?? new Resources();
        var result = new JsonObject
        {
            ["processes"] = new JsonArray([.. task.Processes.Select(Process)]),
            ["resources"] = new JsonObject
            {
                ["cpu"] = resources.NumCpus,
                ["ram"] = Amounts.FormatBytes(resources.RamMb << 20),
                ["disk"] = Amounts.FormatBytes(resources.DiskMb << 20),
                ["gpu"] = resources.NumGpus,
            },
            ["finalization_wait"] = task.FinalizationWaitSecs,
        };
        if (task.ProcessOrder.Count > 0)
        {
            result["constraints"] = new JsonArray([.. task.ProcessOrder.Select(o => new JsonObject { ["order"] = new JsonArray([.. o.Order.Select(n => (JsonNode?)n)]) })]);
        }

        return result;
    }

    private static JsonObject Process(Process process)
    {
        var result = new JsonObject
        {
            ["name"] = process.Name,
            ["cmdline"] = process.Cmdline,
            ["max_failures"] = process.MaxFailures,
            ["daemon"] = process.Daemon,
            ["ephemeral"] = process.Ephemeral,
            ["min_duration"] = process.MinDurationSecs,
            ["final"] = process.Final,
        };
        if (process.Logger is { } logger)
        {
            var json = new JsonObject();
            AddIfSet(json, "mode", logger.Mode);
            if (logger.RotateLogSizeMb > 0 || logger.RotateLogBackups > 0)
            {
                var rotate = new JsonObject();
                AddIfSet(rotate, "log_size", logger.RotateLogSizeMb > 0 ? Amounts.FormatBytes(logger.RotateLogSizeMb << 20) : null);
                if (logger.RotateLogBackups > 0)
                {
                    rotate["backups"] = logger.RotateLogBackups;
                }

                json["rotate"] = rotate;
            }

            result["logger"] = json;
        }

        return result;
    }

    private static string ConstraintText(Constraint constraint) => constraint.KindCase == Constraint.KindOneofCase.Limit
        ? $"limit:{constraint.Limit.Limit}"
        : (constraint.Value?.Negated == true ? "!" : string.Empty) + string.Join(",", constraint.Value?.Values ?? []);

    private static JsonObject? Container(Container? container) => container?.KindCase switch
    {
        Scheduler.Protos.Container.KindOneofCase.Docker => new JsonObject
        {
            ["docker"] = new JsonObject
            {
                ["image"] = container.Docker.Image,
                ["parameters"] = new JsonArray([.. container.Docker.Parameters.Select(p => new JsonObject { ["name"] = p.Name, ["value"] = p.Value })]),
            },
        },
        Scheduler.Protos.Container.KindOneofCase.Mesos => new JsonObject { ["mesos"] = Mesos(container.Mesos) },
        _ => null,
    };

    private static JsonObject Mesos(MesosContainer mesos)
    {
        var result = new JsonObject();
        switch (mesos.Image?.KindCase)
        {
            case Image.KindOneofCase.Docker:
                result["image"] = new JsonObject { ["docker"] = new JsonObject { ["name"] = mesos.Image.Docker.Name, ["tag"] = mesos.Image.Docker.Tag } };
                break;
            case Image.KindOneofCase.Appc:
                result["image"] = new JsonObject { ["appc"] = new JsonObject { ["name"] = mesos.Image.Appc.Name, ["image_id"] = mesos.Image.Appc.ImageId } };
                break;
        }

        result["volumes"] = new JsonArray([.. mesos.Volumes.Select(v =>
        {
            var volume = new JsonObject { ["container_path"] = v.ContainerPath, ["host_path"] = v.HostPath };
            AddIfSet(volume, "mode", v.Mode switch { VolumeMode.Ro => "RO", VolumeMode.Rw => "RW", _ => null });
            return volume;
        })]);
        return result;
    }

    private static JsonObject? HealthCheck(HealthCheck? check)
    {
        if (check is null)
        {
            return null;
        }

        var checker = check.KindCase == Scheduler.Protos.HealthCheck.KindOneofCase.Shell
            ? new JsonObject { ["shell"] = new JsonObject { ["shell_command"] = check.Shell.ShellCommand } }
            : new JsonObject
            {
                ["http"] = new JsonObject
                {
                    ["endpoint"] = check.Http?.Endpoint,
                    ["expected_response"] = check.Http?.ExpectedResponse,
                    ["expected_response_code"] = check.Http?.ExpectedResponseCode,
                },
            };
        return new JsonObject
        {
            ["health_checker"] = checker,
            ["initial_interval_secs"] = check.InitialIntervalSecs,
            ["interval_secs"] = check.IntervalSecs,
            ["timeout_secs"] = check.TimeoutSecs,
            ["max_consecutive_failures"] = check.MaxConsecutiveFailures,
            ["min_consecutive_successes"] = check.MinConsecutiveSuccesses,
        };
    }

    private static JsonObject? SlaPolicy(SlaPolicy? policy) => policy?.KindCase switch
    {
        Scheduler.Protos.SlaPolicy.KindOneofCase.Percentage => new JsonObject
        {
            ["percentage"] = new JsonObject { ["percentage"] = policy.Percentage.Percentage, ["duration_secs"] = policy.Percentage.DurationSecs },
        },
        Scheduler.Protos.SlaPolicy.KindOneofCase.Count => new JsonObject
        {
            ["count"] = new JsonObject { ["count"] = policy.Count.Count, ["duration_secs"] = policy.Count.DurationSecs },
        },
        Scheduler.Protos.SlaPolicy.KindOneofCase.Coordinator => new JsonObject
        {
            ["coordinator"] = new JsonObject { ["coordinator_url"] = policy.Coordinator.CoordinatorUrl, ["status_key"] = policy.Coordinator.StatusKey },
        },
        _ => null,
    };

    private static JsonObject UpdateConfig(JobUpdateSettings settings)
    {
        // Aurora's batch_size and wait_for_batch_completion say a queue or a non-pausing batch; the rest needs update_strategy.
        var result = new JsonObject();
        var strategy = settings.Strategy;
        switch (strategy?.KindCase)
        {
            case JobUpdateStrategy.KindOneofCase.Queue:
                result["batch_size"] = strategy.Queue.GroupSize;
                break;
            case JobUpdateStrategy.KindOneofCase.Batch when !strategy.Batch.AutopauseAfterBatch:
                result["batch_size"] = strategy.Batch.GroupSize;
                result["wait_for_batch_completion"] = true;
                break;
            case JobUpdateStrategy.KindOneofCase.Batch:
                result["update_strategy"] = new JsonObject
                {
                    ["batch"] = new JsonObject { ["batch_size"] = strategy.Batch.GroupSize, ["autopause_after_batch"] = true },
                };
                break;
            case JobUpdateStrategy.KindOneofCase.VariableBatch:
                result["update_strategy"] = new JsonObject
                {
                    ["variable_batch"] = new JsonObject
                    {
                        ["batch_sizes"] = new JsonArray([.. strategy.VariableBatch.GroupSizes.Select(s => (JsonNode?)s)]),
                        ["autopause_after_batch"] = strategy.VariableBatch.AutopauseAfterBatch,
                    },
                };
                break;
        }

        result["watch_secs"] = settings.MinWaitInInstanceRunningMs / 1000;
        result["max_per_shard_failures"] = settings.MaxPerInstanceFailures;
        result["max_total_failures"] = settings.MaxFailedInstances;
        result["rollback_on_failure"] = settings.RollbackOnFailure;
        result["sla_aware"] = settings.SlaAware;
        if (settings.BlockIfNoPulsesAfterMs > 0)
        {
            result["pulse_interval_secs"] = settings.BlockIfNoPulsesAfterMs / 1000;
        }

        return result;
    }

    private static void AddIfSet(JsonObject target, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            target[key] = value;
        }
    }

    private static void AddIfSet(JsonObject target, string key, JsonNode? value)
    {
        if (value is not null)
        {
            target[key] = value;
        }
    }

    [GeneratedRegex(@"\{\{\s*thermos\.ports\[([^\[\]]*)\]\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex PortReference();
}
