using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Commands;

/// <summary>
/// What a command decided: the events to commit as one transaction (none when nothing changes),
/// the tasks whose agents must be told to kill them once committed, a message for the caller
/// (Aurora's response detail, e.g. "No tasks to kill.") and a result value (e.g. the update key).
/// </summary>
public sealed record Decision(IReadOnlyList<Event> Events, IReadOnlyList<string> TasksToKill, string? Message = null, object? Value = null)
{
    public static Decision Nothing(string? message = null, object? value = null) => new([], [], message, value);

    public bool ChangesState => Events.Count > 0;
}
