using System.Globalization;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Server.Http;

/// <summary>Aurora's TaskQuery from query-string filters; every filter given must match (docs/api.md, /api/tasks).</summary>
internal sealed record TaskQuery(
    string? Role,
    string? Environment,
    string? Name,
    IReadOnlySet<int>? Instances,
    IReadOnlySet<ScheduleStatus>? Statuses,
    IReadOnlySet<string>? TaskIds,
    IReadOnlySet<string>? Hosts,
    bool ActiveOnly,
    int Offset,
    int? Limit)
{
    /// <summary>Tasks of any of these jobs only (recovery deletes by job key).</summary>
    public IReadOnlySet<JobKey>? Jobs { get; init; }

    public static TaskQuery From(IQueryCollection query)
    {
        string? One(string name) => query[name].FirstOrDefault() is { Length: > 0 } value ? value : null;
        IEnumerable<string>? List(string name) => One(name)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

        var statuses = List("statuses") is { } names ? ApiJson.Enums<ScheduleStatus>(names, "statuses") : null;
        var instances = List("instances")?.Select(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            ? i
            : throw ApiException.Invalid($"instances: '{s}' is not an instance id."));
        return new TaskQuery(
            One("role"),
            One("environment"),
            One("name"),
            instances?.ToHashSet(),
            statuses,
            List("taskIds")?.ToHashSet(StringComparer.Ordinal),
            List("hosts")?.ToHashSet(StringComparer.Ordinal),
            Flag(One("active"), "active"),
            Whole(One("offset"), "offset") ?? 0,
            Whole(One("limit"), "limit"));
    }

    /// <summary>Matching tasks ordered by job, instance, then task id; uses the job index when the whole key is given.</summary>
    public IEnumerable<TaskRecord> Run(SchedulerState state)
    {
        IEnumerable<TaskRecord> candidates = Role is not null && Environment is not null && Name is not null
            ? state.TasksOf(JobKeys.Create(Role, Environment, Name))
            : TaskIds is not null
                ? TaskIds.Select(state.FindTask).OfType<TaskRecord>()
                : state.Tasks;
        var matching = candidates.Where(Matches)
            .OrderBy(t => t.Job.Role, StringComparer.Ordinal)
            .ThenBy(t => t.Job.Environment, StringComparer.Ordinal)
            .ThenBy(t => t.Job.Name, StringComparer.Ordinal)
            .ThenBy(t => t.InstanceId)
            .ThenBy(t => t.TaskId, StringComparer.Ordinal)
            .Skip(Offset);
        return Limit is { } limit ? matching.Take(limit) : matching;
    }

    public bool Matches(TaskRecord task) =>
        (Role is null || task.Job.Role == Role)
        && (Environment is null || task.Job.Environment == Environment)
        && (Name is null || task.Job.Name == Name)
        && (Jobs is null || Jobs.Contains(task.Job))
        && (Instances is null || Instances.Contains(task.InstanceId))
        && (Statuses is null || Statuses.Contains(task.Status))
        && (TaskIds is null || TaskIds.Contains(task.TaskId))
        && (Hosts is null || (task.Host is { } host && Hosts.Contains(host)))
        && (!ActiveOnly || task.IsActive);

    private static bool Flag(string? text, string name) => text switch
    {
        null or "false" => false,
        "true" => true,
        _ => throw ApiException.Invalid($"{name}: must be true or false, got '{text}'."),
    };

    private static int? Whole(string? text, string name) => text is null
        ? null
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : throw ApiException.Invalid($"{name}: '{text}' is not a non-negative whole number.");
}
