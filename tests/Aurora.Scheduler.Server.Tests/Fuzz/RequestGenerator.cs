using System.Text.Json.Nodes;
using Aurora.Agent.Protocol;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Google.Protobuf;

namespace Aurora.Scheduler.Server.Tests.Fuzz;

/// <summary>What a fuzz request is, for the checks that follow it.</summary>
internal enum FuzzKind
{
    CreateJob,
    ScheduleCron,
    StartUpdate,
    UpdateAction,
    JobAction,
    SetQuota,
    Maintenance,
    Heartbeat,
    Read,
    Garbage,
}

/// <summary>One request of a fuzz case.</summary>
/// <param name="Job">The job the request is about, when it names one the fuzzer can track.</param>
/// <param name="AgentId">For heartbeats: the agent id the body claims, when it is a string.</param>
internal sealed record FuzzRequest(FuzzKind Kind, HttpMethod Method, string Path, byte[]? Body, bool Chunked, JobKey? Job = null, string? AgentId = null)
{
    public override string ToString()
    {
        var body = Body is null ? "(no body)" : System.Text.Encoding.UTF8.GetString(Body);
        var path = Path.Length > 300 ? $"{Path[..300]}... ({Path.Length} characters)" : Path;
        return $"{Kind}: {Method} {path} {(Chunked ? "(chunked) " : string.Empty)}{(body.Length > 600 ? body[..600] + $"... ({body.Length} characters)" : body)}";
    }
}

/// <summary>
/// Draws the requests of the API fuzzer: job configurations, updates, quotas, cron and maintenance
/// bodies and agent heartbeats, built valid and then, half of the time, mutated (<see cref="JsonMutator"/>).
/// </summary>
/// <remarks>
/// The jobs it knows (<paramref name="knownJobs"/>) are targets for updates, kills and restarts, so
/// that requests about existing jobs are as common as requests about new ones. Heartbeats come from
/// a few fake agent identities (never the real agent's), so the scheduler sees a small, stable set.
/// </remarks>
internal sealed class RequestGenerator(FuzzValues values, Func<IReadOnlyList<JobKey>> knownJobs, string realAgentHost)
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    private readonly JsonMutator _mutator = new(values);

    public FuzzRequest Next() => values.Random.Next(100) switch
    {
        < 25 => CreateJob(),
        < 32 => ScheduleCron(),
        < 43 => StartUpdate(),
        < 47 => UpdateAction(),
        < 57 => JobAction(),
        < 64 => SetQuota(),
        < 71 => Maintenance(),
        < 87 => Heartbeat(),
        < 93 => Read(),
        _ => Garbage(),
    };

    private FuzzRequest CreateJob()
    {
        var config = JobConfig();
        config.CronSchedule = values.Chance(0.05) ? "*/5 * * * *" : string.Empty;
        return Body(FuzzKind.CreateJob, HttpMethod.Post, "/api/jobs", new JsonObject { ["config"] = Json(config) }, config.Key);
    }

    private FuzzRequest ScheduleCron()
    {
        var config = JobConfig();
        config.CronSchedule = values.Chance(0.8) ? values.Pick(["*/5 * * * *", "0 3 * * *", "* * * * *"]) : values.Nasty();
        config.CronCollisionPolicy = values.Pick([CronCollisionPolicy.KillExisting, CronCollisionPolicy.CancelNew, CronCollisionPolicy.RunOverlap]);
        config.Task.IsService = false;
        var pathKey = values.Chance(0.9) ? config.Key : RandomKey();
        return Body(FuzzKind.ScheduleCron, HttpMethod.Put, $"/api/cron/{PathOf(pathKey)}", new JsonObject { ["config"] = Json(config) }, config.Key);
    }

    private FuzzRequest StartUpdate()
    {
        var job = ExistingOrNewKey();
        var task = Task(job);
        var request = new JobUpdateRequest
        {
            Task = task,
            InstanceCount = values.Chance(0.9) ? values.Between(1, 3) : values.Pick([0, -1, 4000, 4001, int.MaxValue]),
            Settings = new JobUpdateSettings
            {
                MaxPerInstanceFailures = values.Between(0, 2),
                MaxFailedInstances = values.Between(0, 2),
                MinWaitInInstanceRunningMs = values.Pick([0L, 100L, 45_000L, -1L]),
                RollbackOnFailure = values.Chance(0.5),
                Strategy = values.Random.Next(3) switch
                {
                    0 => new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = values.Between(0, 3) } },
                    1 => new JobUpdateStrategy { Batch = new BatchStrategy { GroupSize = values.Between(0, 3), AutopauseAfterBatch = values.Chance(0.3) } },
                    _ => new JobUpdateStrategy { VariableBatch = new VariableBatchStrategy { GroupSizes = { values.Between(0, 2), values.Between(1, 3) } } },
                },
            },
        };
        var body = new JsonObject { ["request"] = Json(request) };
        if (values.Chance(0.3))
        {
            body["message"] = values.Chance(0.5) ? "fuzz update" : values.Nasty();
        }

        return Body(FuzzKind.StartUpdate, HttpMethod.Post, "/api/updates", body, job);
    }

    private FuzzRequest UpdateAction()
    {
        var job = ExistingOrNewKey();
        var id = values.Chance(0.5) ? Guid.NewGuid().ToString() : values.Nasty();
        var verb = values.Pick(["pause", "resume", "abort", "rollback", "pulse"]);
        return Body(FuzzKind.UpdateAction, HttpMethod.Post, $"/api/updates/{PathOf(job)}/{Segment(id)}/{verb}", values.Chance(0.5) ? new JsonObject { ["message"] = values.Nasty() } : null, job);
    }

    private FuzzRequest JobAction()
    {
        var job = ExistingOrNewKey();
        var (verb, body) = values.Random.Next(3) switch
        {
            0 => ("kill", values.Chance(0.5) ? new JsonObject() : new JsonObject { ["instances"] = new JsonArray([.. Enumerable.Range(0, values.Between(0, 3)).Select(_ => values.Number())]), ["message"] = values.Nasty() }),
            1 => ("restart", values.Chance(0.5) ? new JsonObject() : new JsonObject { ["instances"] = new JsonArray(values.Number()) }),
            _ => ("instances", new JsonObject { ["templateInstance"] = values.Chance(0.7) ? 0 : values.Number(), ["count"] = values.Chance(0.7) ? values.Between(1, 2) : values.Number() }),
        };
        return Body(FuzzKind.JobAction, HttpMethod.Post, $"/api/jobs/{PathOf(job)}/{verb}", body, job);
    }

    private FuzzRequest SetQuota()
    {
        var role = values.Role();
        var body = new JsonObject
        {
            ["numCpus"] = values.Chance(0.7) ? values.Between(0, 100) : values.Number(),
            ["ramMb"] = values.Chance(0.7) ? values.Between(0, 100_000) : values.Number(),
            ["diskMb"] = values.Chance(0.7) ? values.Between(0, 100_000) : values.Number(),
        };
        return Body(FuzzKind.SetQuota, HttpMethod.Put, $"/api/quotas/{Segment(role)}", body);
    }

    private FuzzRequest Maintenance()
    {
        var verb = values.Pick(["deactivate", "drain", "activate", "sla_drain"]);
        var hosts = new JsonArray([.. Enumerable.Range(0, values.Between(0, 3)).Select(_ => (JsonNode?)(values.Random.Next(4) switch
        {
            0 => realAgentHost,
            1 => $"fuzz-host-{values.Between(0, 3)}",
            2 => values.Identifier(),
            _ => values.Nasty(),
        }))]);
        var body = new JsonObject { ["hosts"] = hosts };
        if (verb == "sla_drain")
        {
            body["defaultSlaPolicy"] = values.Random.Next(3) switch
            {
                0 => new JsonObject { ["percentage"] = new JsonObject { ["percentage"] = values.Number(), ["durationSecs"] = values.Number() } },
                1 => new JsonObject { ["count"] = new JsonObject { ["count"] = values.Number(), ["durationSecs"] = values.Number() } },
                _ => new JsonObject { ["coordinator"] = new JsonObject { ["coordinatorUrl"] = values.Chance(0.5) ? "http://127.0.0.1:1/" : values.Nasty() } },
            };
            body["timeoutSecs"] = values.Number();
        }

        return Body(FuzzKind.Maintenance, HttpMethod.Post, $"/api/maintenance/{verb}", body);
    }

    private FuzzRequest Heartbeat()
    {
        var k = values.Between(0, 3);
        var request = new HeartbeatRequest(
            $"fuzz-agent-{k}",
            $"fuzz-host-{k}",
            values.Chance(0.9) ? $"http://fuzz-host-{k}:1338" : values.Nasty(),
            [new AgentAttribute("rack", [values.Chance(0.9) ? "r1" : values.Nasty()])],
            new ResourceSet(values.Chance(0.9) ? 2 : 1e308, 1024, 1024, [new PortRange(40000, 40009)]),
            null,
            false,
            values.Chance(0.8) ? [] : [new TaskReport(values.Chance(0.5) ? $"t-{values.Identifier()}" : values.Nasty(), [new TaskTransition(values.Pick(Enum.GetValues<AgentTaskState>()), 1, values.Chance(0.7) ? "ok" : values.Nasty())])],
            values.Chance(0.95) ? 0 : values.Pick([-1, 30_001, 100]));
        var json = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(request, AgentApi.Json));
        var mutated = values.Chance(0.5) ? _mutator.Mutate(json) : json;
        var agentId = mutated is JsonObject obj && obj["agentId"] is JsonValue id && id.TryGetValue<string>(out var text) ? text : null;
        return new FuzzRequest(FuzzKind.Heartbeat, HttpMethod.Post, AgentApi.HeartbeatPath, _mutator.Serialize(mutated), values.Chance(0.1), AgentId: agentId);
    }

    private FuzzRequest Read()
    {
        var path = values.Random.Next(6) switch
        {
            0 => $"/api/jobs?role={Uri.EscapeDataString(values.Role())}",
            1 => $"/api/jobs/{PathOf(ExistingOrNewKey())}",
            2 => $"/api/tasks?statuses={Uri.EscapeDataString(values.Pick(["RUNNING", "PENDING,KILLED", "bogus", values.Nasty()]))}&limit={Uri.EscapeDataString(values.Number()?.ToJsonString() ?? "x")}",
            3 => $"/api/quotas/{Segment(values.Role())}",
            4 => $"/api/updates?statuses={Uri.EscapeDataString(values.Nasty())}",
            _ => values.Pick(["/offers", "/pendingtasks", "/maintenance", "/vars.json", "/state", "/quotas"]),
        };
        return new FuzzRequest(FuzzKind.Read, HttpMethod.Get, path, null, false);
    }

    private FuzzRequest Garbage()
    {
        var method = values.Pick([HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete, HttpMethod.Patch, HttpMethod.Get]);
        var path = values.Pick(["/api/jobs", "/api/updates", "/api/cron/a/prod/b", "/api/quotas/x", "/api/maintenance/drain", "/api/" + Segment(values.Nasty()), "/agent/v1/heartbeat", "/api/snapshot"]);
        var body = values.Chance(0.8) ? _mutator.Serialize(values.AnyJson(3)) : null;
        return new FuzzRequest(FuzzKind.Garbage, method, path, method == HttpMethod.Get ? null : body, values.Chance(0.3));
    }

    private JobConfiguration JobConfig()
    {
        var key = JobKeys.Create(values.Role(), values.Environment(), values.JobName());
        return new JobConfiguration
        {
            Key = key,
            InstanceCount = values.Chance(0.9) ? values.Between(1, 2) : values.Pick([0, -1, 4000, 4001, 1_000_000, int.MaxValue]),
            Task = Task(key),
        };
    }

    private TaskConfig Task(JobKey job)
    {
        var task = new TaskConfig
        {
            Job = job.Clone(),
            IsService = values.Chance(0.7),
            Tier = values.Chance(0.8) ? "preemptible" : values.Pick(["preferred", "revocable", string.Empty, "gold"]),
            MaxTaskFailures = values.Chance(0.9) ? values.Between(-1, 3) : values.Pick([-2, int.MaxValue]),
            Priority = values.Chance(0.9) ? 0 : values.Pick([-1, 1, int.MaxValue]),
            Resources = new Resources
            {
                NumCpus = values.Chance(0.9) ? values.Pick([0.01, 0.1, 0.5]) : values.Pick([0, -1, 1e308, 65536, 65537, double.NaN, double.Epsilon]),
                RamMb = values.Chance(0.9) ? values.Pick([8L, 16, 64]) : values.Pick([0L, -1, long.MaxValue, 1L << 32, (1L << 32) + 1]),
                DiskMb = values.Chance(0.9) ? values.Pick([8L, 16, 64]) : values.Pick([0L, -1, long.MaxValue, 1L << 36, (1L << 36) + 1]),
                NumGpus = values.Chance(0.95) ? 0 : values.Pick([1L, -1, long.MaxValue]),
            },
        };
        foreach (var i in Enumerable.Range(0, values.Chance(0.9) ? values.Between(1, 2) : values.Pick([0, 20])))
        {
            task.Processes.Add(new Protos.Process
            {
                Name = values.Chance(0.85) ? $"p{i}" : values.Chance(0.5) ? values.Pick([".", "..", ".x", "a b"]) : values.Identifier(values.Pick([1, 255, 256])),
                Cmdline = values.Pick(FuzzValues.SafeCommands),
                MaxFailures = values.Between(0, 2),
                Daemon = values.Chance(0.1),
                Ephemeral = values.Chance(0.1),
                Final = values.Chance(0.1),
                MinDurationSecs = values.Chance(0.9) ? 0 : values.Pick([-1, 5]),
            });
        }

        if (values.Chance(0.2))
        {
            task.Resources.NamedPorts.Add(values.Chance(0.8) ? values.Pick(["http", "health", "admin"]) : values.Nasty());
        }

        if (values.Chance(0.2))
        {
            task.Constraints.Add(values.Chance(0.5)
                ? new Constraint { Name = values.Pick(["rack", "host", "dedicated", values.Nasty()]), Value = new ValueConstraint { Values = { values.Pick(["r1", "*/x", values.Nasty()]) }, Negated = values.Chance(0.3) } }
                : new Constraint { Name = values.Pick(["rack", "host"]), Limit = new LimitConstraint { Limit = values.Pick([0, 1, -1, int.MaxValue]) } });
        }

        if (values.Chance(0.1))
        {
            task.HealthCheck = values.Chance(0.5)
                ? new HealthCheck { Shell = new ShellHealthChecker { ShellCommand = FuzzValues.SafeCommands[1] }, IntervalSecs = values.Pick([1.0, -1, 1e308]) }
                : new HealthCheck { Http = new HttpHealthChecker { Endpoint = values.Pick(["/health", values.Nasty()]) }, IntervalSecs = 1 };
        }

        if (values.Chance(0.05))
        {
            task.Container = new Container { Docker = new DockerContainer { Image = values.Pick(["busybox", string.Empty, values.Nasty()]) } };
        }

        if (values.Chance(0.1))
        {
            task.Metadata.Add(new Metadata { Key = values.Pick(["owner", string.Empty, values.Nasty()]), Value = values.Nasty() });
        }

        return task;
    }

    /// <summary>A request whose body is the JSON of <paramref name="body"/>, mutated half of the time.</summary>
    private FuzzRequest Body(FuzzKind kind, HttpMethod method, string path, JsonNode? body, JobKey? job = null)
    {
        var mutated = body is not null && values.Chance(0.5) ? _mutator.Mutate(body) : body;
        return new FuzzRequest(kind, method, path, body is null ? null : _mutator.Serialize(mutated), values.Chance(0.1), job);
    }

    private JobKey ExistingOrNewKey()
    {
        var known = knownJobs();
        return known.Count > 0 && values.Chance(0.7) ? values.Pick(known) : RandomKey();
    }

    private JobKey RandomKey() => JobKeys.Create(values.Role(), values.Environment(), values.JobName());

    private string PathOf(JobKey key) => $"{Segment(key.Role)}/{Segment(key.Environment)}/{Segment(key.Name)}";

    /// <summary>A path segment: escaped as a client would, or, sometimes, raw as an attacker would send it.</summary>
    private string Segment(string value) => values.Chance(0.9) ? Uri.EscapeDataString(value) : value;

    private static JsonNode Json(IMessage message) => JsonNode.Parse(Formatter.Format(message))!;
}
