namespace Aurora.Client.Api;

/// <summary>The filters of <c>GET /api/tasks</c> and <c>GET /api/recovery/tasks</c>; null means not filtered.</summary>
public sealed record TaskQuery
{
    public string? Role { get; init; }

    public string? Environment { get; init; }

    public string? Name { get; init; }

    public IReadOnlyCollection<int>? Instances { get; init; }

    /// <summary>Aurora's spelling (<c>RUNNING</c>).</summary>
    public IReadOnlyCollection<string>? Statuses { get; init; }

    public IReadOnlyCollection<string>? TaskIds { get; init; }

    public IReadOnlyCollection<string>? Hosts { get; init; }

    public bool? Active { get; init; }

    public bool? Events { get; init; }

    public int? Limit { get; init; }

    public int? Offset { get; init; }

    internal string ToQueryString() => SchedulerClient.Query(
        ("role", Role),
        ("environment", Environment),
        ("name", Name),
        ("instances", Join(Instances)),
        ("statuses", Join(Statuses)),
        ("taskIds", Join(TaskIds)),
        ("hosts", Join(Hosts)),
        ("active", Bool(Active)),
        ("events", Bool(Events)),
        ("limit", Limit?.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("offset", Offset?.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static string? Join<T>(IReadOnlyCollection<T>? values) => values is null ? null : string.Join(',', values);

    private static string? Bool(bool? value) => value switch
    {
        null => null,
        true => "true",
        false => "false",
    };
}

/// <summary>The filters of <c>GET /api/updates</c>; null means not filtered.</summary>
public sealed record UpdateQuery
{
    public string? Role { get; init; }

    public string? Environment { get; init; }

    public string? Name { get; init; }

    /// <summary>Aurora's spelling (<c>ROLLING_FORWARD</c>).</summary>
    public IReadOnlyCollection<string>? Statuses { get; init; }

    public string? User { get; init; }

    internal string ToQueryString() => SchedulerClient.Query(
        ("role", Role),
        ("environment", Environment),
        ("name", Name),
        ("statuses", Statuses is null ? null : string.Join(',', Statuses)),
        ("user", User));
}
