using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Model;

/// <summary>Aurora's named sets of task statuses (api.thrift constants).</summary>
public static class TaskStatuses
{
    private static readonly bool[] ActiveSet = Flags(
        ScheduleStatus.Assigned, ScheduleStatus.Draining, ScheduleStatus.Killing, ScheduleStatus.Pending,
        ScheduleStatus.Preempting, ScheduleStatus.Restarting, ScheduleStatus.Running, ScheduleStatus.Starting,
        ScheduleStatus.Partitioned, ScheduleStatus.Throttled);

    private static readonly bool[] AgentAssignedSet = Flags(
        ScheduleStatus.Assigned, ScheduleStatus.Draining, ScheduleStatus.Killing, ScheduleStatus.Preempting,
        ScheduleStatus.Restarting, ScheduleStatus.Running, ScheduleStatus.Partitioned, ScheduleStatus.Starting);

    private static readonly bool[] LiveSet = Flags(
        ScheduleStatus.Killing, ScheduleStatus.Preempting, ScheduleStatus.Restarting, ScheduleStatus.Draining,
        ScheduleStatus.Partitioned, ScheduleStatus.Running);

    private static readonly bool[] TerminalSet = Flags(
        ScheduleStatus.Failed, ScheduleStatus.Finished, ScheduleStatus.Killed, ScheduleStatus.Lost);

    /// <summary>Every status a task can be in, in Aurora's lifecycle order.</summary>
    public static IReadOnlyList<ScheduleStatus> All { get; } =
    [
        ScheduleStatus.Init, ScheduleStatus.Pending, ScheduleStatus.Throttled, ScheduleStatus.Assigned,
        ScheduleStatus.Starting, ScheduleStatus.Running, ScheduleStatus.Finished, ScheduleStatus.Failed,
        ScheduleStatus.Killing, ScheduleStatus.Killed, ScheduleStatus.Lost, ScheduleStatus.Restarting,
        ScheduleStatus.Draining, ScheduleStatus.Preempting, ScheduleStatus.Partitioned,
    ];

    /// <summary>ACTIVE_STATES: the task counts against its instance and its role's quota.</summary>
    public static bool IsActive(ScheduleStatus status) => Lookup(ActiveSet, status);

    /// <summary>SLAVE_ASSIGNED_STATES: the task holds resources on an agent.</summary>
    public static bool IsAgentAssigned(ScheduleStatus status) => Lookup(AgentAssignedSet, status);

    /// <summary>LIVE_STATES.</summary>
    public static bool IsLive(ScheduleStatus status) => Lookup(LiveSet, status);

    /// <summary>TERMINAL_STATES.</summary>
    public static bool IsTerminal(ScheduleStatus status) => Lookup(TerminalSet, status);

    /// <summary>The status as Aurora spells it (<c>RUNNING</c>).</summary>
    public static string Name(ScheduleStatus status) => status switch
    {
        ScheduleStatus.Unspecified => "UNSPECIFIED",
        _ => ProtoNames.Of(status),
    };

    private static bool Lookup(bool[] set, ScheduleStatus status)
    {
        var index = (int)status;
        return (uint)index < (uint)set.Length && set[index];
    }

    private static bool[] Flags(params ScheduleStatus[] statuses)
    {
        var set = new bool[(int)ScheduleStatus.Partitioned + 1];
        foreach (var status in statuses)
        {
            set[(int)status] = true;
        }

        return set;
    }
}
