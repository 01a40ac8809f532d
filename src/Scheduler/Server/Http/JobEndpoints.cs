using System.Text.Json.Nodes;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Cron;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Auth;

namespace Aurora.Scheduler.Server.Http;

/// <summary>Jobs, tasks, quotas, updates and cron: Aurora's ReadOnlyScheduler and AuroraSchedulerManager (docs/api.md).</summary>
internal static class JobEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ApiContext api)
    {
        var jobs = app.MapGroup("/api/jobs");
        jobs.MapGet("/", (HttpRequest request) => ApiContext.Json(ListJobs(api, request.Query)));
        jobs.MapPost("/", async (HttpContext http) =>
        {
            var body = await ApiJson.ReadBodyAsync(http.Request, api.MaxBodyBytes);
            var config = ApiJson.Message<JobConfiguration>(body, "config");
            if (config.CronSchedule.Length > 0)
            {
                throw ApiException.Invalid($"Job {Describe(config.Key)} has a cron schedule; schedule it with PUT /api/cron/... (aurora cron schedule) instead of creating it.");
            }

            return await api.ExecuteAsync(http, Permission("createJob", config.Key), new CreateJob(config), _ => new JsonObject { ["job"] = Views.Key(config.Key ?? new JobKey()) });
        });
        jobs.MapGet("/{role}/{env}/{name}", (string role, string env, string name) =>
        {
            var job = Key(role, env, name);
            return ApiContext.Json(api.Read(state =>
            {
                if (!state.JobExists(job))
                {
                    throw ApiException.NotFound($"No job {job.Canonical()}.");
                }

                var tasks = new JsonArray([.. state.TasksOf(job).OrderBy(t => t.InstanceId).ThenBy(t => t.TaskId, StringComparer.Ordinal).Select(t => (JsonNode)Views.Task(t, withEvents: true, api.Runtime.Agents))]);
                return new JsonObject
                {
                    ["job"] = Views.Key(job),
                    ["config"] = ApiJson.Node(Views.Configuration(state, job)),
                    ["cron"] = state.FindCronJob(job) is not null,
                    ["tasks"] = tasks,
                };
            }));
        });
        jobs.MapPost("/{role}/{env}/{name}/kill", async (HttpContext http, string role, string env, string name) =>
        {
            var job = Key(role, env, name);
            var body = await ApiJson.ReadBodyAsync(http.Request, api.MaxBodyBytes);
            return await api.ExecuteAsync(http, Permission("killTasks", job), new KillTasks(job, ApiJson.Ints(body, "instances"), ApiJson.String(body, "message")));
        });
        jobs.MapPost("/{role}/{env}/{name}/restart", async (HttpContext http, string role, string env, string name) =>
        {
            var job = Key(role, env, name);
            var body = await ApiJson.ReadBodyAsync(http.Request, api.MaxBodyBytes);
            var instances = ApiJson.Ints(body, "instances") ?? api.Read(state => state.ActiveInstances(job).Keys.ToList());
            return await api.ExecuteAsync(http, Permission("restartShards", job), new RestartInstances(job, instances));
        });
        jobs.MapPost("/{role}/{env}/{name}/instances", async (HttpContext http, string role, string env, string name) =>
        {
            var job = Key(role, env, name);
            var body = await ApiJson.ReadBodyAsync(http.Request, api.MaxBodyBytes);
            var template = ApiJson.Int(body, "templateInstance") ?? throw ApiException.Invalid("The request body needs \"templateInstance\".");
            var count = ApiJson.Int(body, "count") ?? throw ApiException.Invalid("The request body needs \"count\".");
            return await api.ExecuteAsync(http, Permission("addInstances", job), new AddInstances(job, template, count));
        });

        app.MapGet("/api/tasks", (HttpRequest request) =>
        {
            var query = TaskQuery.From(request.Query);
            var events = request.Query["events"] == "true";
            return ApiContext.Json(api.Read(state => new JsonObject
            {
                ["tasks"] = new JsonArray([.. query.Run(state).Select(t => (JsonNode)Views.Task(t, events, api.Runtime.Agents))]),
            }));
        });

        app.MapGet("/api/quotas/{role}", (string role) =>
        {
            RequireIdentifier(role, "role");
            return ApiContext.Json(api.Read(state => Views.Quota(state, role)));
        });

        MapUpdates(app, api);
        MapCron(app, api);
    }

    /// <summary>Aurora's job-scoped permission, e.g. <c>thrift.AuroraSchedulerManager:createJob:www-data:prod:hello</c>.</summary>
    /// <remarks>A request without a valid job key is refused here, before any permission could be checked.</remarks>
    public static string Permission(string rpc, JobKey? job) =>
        JobKeys.Problem(job) is { } problem
            ? throw ApiException.Invalid(problem)
            : Permissions.SchedulerManager(rpc, job!.Role, job.Environment, job.Name);

    public static JobKey Key(string role, string env, string name)
    {
        var key = JobKeys.Create(role, env, name);
        return JobKeys.Problem(key) is { } problem ? throw ApiException.Invalid(problem) : key;
    }

    private static void RequireIdentifier(string value, string what)
    {
        if (!JobKeys.IsGoodIdentifier(value))
        {
            throw ApiException.Invalid($"{what} '{value}' is not an identifier ([A-Za-z0-9_.-]+, not starting with '.').");
        }
    }

    private static string Describe(JobKey? key) => key is null ? "(no key)" : key.Canonical();

    private static JsonObject ListJobs(ApiContext api, IQueryCollection query)
    {
        string? Filter(string name) => query[name].FirstOrDefault() is { Length: > 0 } value ? value : null;
        var role = Filter("role");
        var environment = Filter("environment");
        var name = Filter("name");
        return api.Read(state =>
        {
            var keys = (role is null ? state.JobKeys : state.JobsOfRole(role))
                .Where(k => (environment is null || k.Environment == environment) && (name is null || k.Name == name))
                .OrderBy(k => k.Canonical(), StringComparer.Ordinal);
            return new JsonObject { ["jobs"] = new JsonArray([.. keys.Select(k => (JsonNode)Views.JobSummary(state, k))]) };
        });
    }

    private static void MapUpdates(IEndpointRouteBuilder app, ApiContext api)
    {
        var updates = app.MapGroup("/api/updates");
        updates.MapPost("/", async (HttpContext http) =>
        {
            var body = await ApiJson.ReadBodyAsync(http.Request, api.MaxBodyBytes);
            var request = ApiJson.Message<JobUpdateRequest>(body, "request");
            var job = request.Task?.Job;
            return await api.ExecuteAsync(http, Permission("startJobUpdate", job), new StartJobUpdate(request, ApiJson.String(body, "message")), outcome =>
                outcome.Decision.Value is JobUpdateKey key ? new JsonObject { ["key"] = Views.UpdateKey(key) } : []);
        });
        updates.MapGet("/", (HttpRequest request) =>
        {
            string? Filter(string name) => request.Query[name].FirstOrDefault() is { Length: > 0 } value ? value : null;
            var statuses = Filter("statuses") is { } names
                ? ApiJson.Enums<JobUpdateStatus>(names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), "statuses")
                : null;
            var (role, environment, name, user) = (Filter("role"), Filter("environment"), Filter("name"), Filter("user"));
            return ApiContext.Json(api.Read(state => new JsonObject
            {
                ["updates"] = new JsonArray([.. state.Updates
                    .Where(u => (role is null || u.Job.Role == role) && (environment is null || u.Job.Environment == environment)
                        && (name is null || u.Job.Name == name) && (user is null || u.User == user)
                        && (statuses is null || statuses.Contains(u.Status)))
                    .OrderByDescending(u => u.CreatedMicros)
                    .Select(u => (JsonNode)Views.UpdateSummary(u))]),
            }));
        });
        updates.MapGet("/{role}/{env}/{name}/{id}", (string role, string env, string name, string id) =>
        {
            var key = new JobUpdateKey { Job = Key(role, env, name), Id = id };
            return ApiContext.Json(api.Read(state => state.FindUpdate(key) is { } update
                ? Views.UpdateDetails(update)
                : throw ApiException.NotFound($"No update {id} of job {key.Job.Canonical()}.")));
        });
        foreach (var (verb, rpc, action) in new (string, string, JobUpdateUserAction?)[]
        {
            ("pause", "pauseJobUpdate", JobUpdateUserAction.Pause),
            ("resume", "resumeJobUpdate", JobUpdateUserAction.Resume),
            ("abort", "abortJobUpdate", JobUpdateUserAction.Abort),
            ("rollback", "rollbackJobUpdate", JobUpdateUserAction.Rollback),
            ("pulse", "pulseJobUpdate", null),
        })
        {
            updates.MapPost($"/{{role}}/{{env}}/{{name}}/{{id}}/{verb}", async (HttpContext http, string role, string env, string name, string id) =>
            {
                var key = new JobUpdateKey { Job = Key(role, env, name), Id = id };
                var body = await ApiJson.ReadBodyAsync(http.Request, api.MaxBodyBytes);
                SchedulerCommand command = action is { } userAction
                    ? new ChangeJobUpdate(key, userAction, ApiJson.String(body, "message"))
                    : new PulseJobUpdate(key);
                var answer = await api.ExecuteAsync(http, Permission(rpc, key.Job), command, _ => api.Read(state =>
                    state.FindUpdate(key) is { } update ? new JsonObject { ["update"] = Views.UpdateSummary(update) } : []));
                if (action is null)
                {
                    // Pulses live in memory, as in Aurora: after a failover a coordinated update waits for the next one.
                    api.Runtime.Agents.Pulses[key] = Micros.Of(api.Runtime.Time.GetUtcNow());
                }

                return answer;
            });
        }
    }

    private static void MapCron(IEndpointRouteBuilder app, ApiContext api)
    {
        var cron = app.MapGroup("/api/cron/{role}/{env}/{name}");
        cron.MapPut("/", async (HttpContext http, string role, string env, string name) =>
        {
            var job = Key(role, env, name);
            var body = await ApiJson.ReadBodyAsync(http.Request, api.MaxBodyBytes);
            var config = ApiJson.Message<JobConfiguration>(body, "config");
            if (config.Key is null || !config.Key.Equals(job))
            {
                throw ApiException.Invalid($"The configuration is for job {Describe(config.Key)}, not {job.Canonical()}.");
            }

            return await api.ExecuteAsync(http, Permission("scheduleCronJob", job), new ScheduleCronJob(config));
        });
        cron.MapDelete("/", async (HttpContext http, string role, string env, string name) =>
        {
            var job = Key(role, env, name);
            return await api.ExecuteAsync(http, Permission("descheduleCronJob", job), new DescheduleCronJob(job));
        });
        cron.MapPost("/start", async (HttpContext http, string role, string env, string name) =>
        {
            var job = Key(role, env, name);
            return await api.ExecuteAsync(http, Permission("startCronJob", job), new TriggerCronJob(job));
        });
        cron.MapGet("/", (string role, string env, string name) =>
        {
            var job = Key(role, env, name);
            var now = api.Runtime.Time.GetUtcNow();
            return ApiContext.Json(api.Read(state =>
            {
                var record = state.FindCronJob(job) ?? throw ApiException.NotFound($"No cron job {job.Canonical()}.");
                DateTimeOffset? next = CronSchedule.TryParse(record.Config.CronSchedule, out var schedule, out _)
                    ? schedule.NextAfter(now, api.Runtime.Options.CronTimeZone)
                    : null;
                return new JsonObject
                {
                    ["job"] = Views.Key(job),
                    ["cronSchedule"] = record.Config.CronSchedule,
                    ["collisionPolicy"] = ProtoNames.Of(record.Config.CronCollisionPolicy),
                    ["nextRun"] = next is { } time ? ApiJson.Time(time) : null,
                    ["config"] = ApiJson.Node(record.Config),
                };
            }));
        });
    }
}
