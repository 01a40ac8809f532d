using System.Globalization;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Commands;

/// <summary>
/// Collects the events of one decision and remembers what they will change, so that later steps of
/// the same decision see earlier ones (a task killed a moment ago is no longer active; the last
/// task leaving a draining host makes it DRAINED) without touching the state before the commit.
/// </summary>
/// <remarks>Used by one decision on one thread, then discarded.</remarks>
public sealed class DecisionBuilder
{
    private readonly List<Event> _events = [];
    private readonly List<string> _kills = [];
    private readonly Dictionary<string, ScheduleStatus> _statuses = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pruned = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MaintenanceMode> _hostModes = new(StringComparer.Ordinal);
    private readonly HashSet<JobKey> _cronLaunchPending = [];
    private readonly HashSet<JobKey> _cronLaunched = [];
    private readonly HashSet<string> _interrupted = new(StringComparer.Ordinal);

    public DecisionBuilder(SchedulerState state, CommandContext context)
    {
        State = state;
        Context = context;
    }

    public SchedulerState State { get; }

    public CommandContext Context { get; }

    public int EventCount => _events.Count;

    public void Add(Event e) => _events.Add(e);

    public Decision Build(string? message = null, object? value = null) => new(_events.ToArray(), _kills.ToArray(), message, value);

    /// <summary>The task's status once this decision's events so far are applied; Unspecified once pruned.</summary>
    public ScheduleStatus StatusOf(TaskRecord task) =>
        _pruned.Contains(task.TaskId) ? ScheduleStatus.Unspecified
        : _statuses.TryGetValue(task.TaskId, out var status) ? status : task.Status;

    public bool IsActive(TaskRecord task) => TaskStatuses.IsActive(StatusOf(task));

    public MaintenanceMode ModeOf(string host) =>
        _hostModes.TryGetValue(host, out var mode) ? mode : State.FindHost(host)?.Mode ?? MaintenanceMode.None;

    /// <summary>The job's active tasks by instance id, as of this decision so far.</summary>
    public SortedDictionary<int, TaskRecord> ActiveInstances(JobKey job) => State.ActiveInstances(job, IsActive);

    public void SetHostMode(string host, MaintenanceMode mode, HostMaintenanceRequest? request = null)
    {
        _hostModes[host] = mode;
        Add(new Event { HostMaintenanceChanged = new HostMaintenanceChanged { Host = host, Mode = mode, Request = request } });
    }

    /// <summary>
    /// Moves a task through the state machine with every side effect Aurora attaches to the
    /// transition: recording it, deleting a task that never ran, asking for a kill, rescheduling
    /// the instance (with the flapping penalty), counting a failure, LOST after an action on a
    /// partitioned task, and DRAINED once a draining host's last task is gone.
    /// </summary>
    /// <returns>False, changing nothing (except asking to kill a zombie), when the transition is illegal.</returns>
    public bool TryChangeState(TaskRecord task, ScheduleStatus to, string? message, string? host = null)
    {
        var from = StatusOf(task);
        if (from == ScheduleStatus.Pending && to == ScheduleStatus.Assigned)
        {
            // Placement is AssignTask's: it picks the host and ports and applies the vetoes.
            return false;
        }

        var outcome = TaskStateMachine.Evaluate(from, to, task.Facts);
        if (outcome.Has(TransitionEffects.Kill))
        {
            _kills.Add(task.TaskId);
        }

        if (!outcome.IsLegal)
        {
            return false;
        }

        if (outcome.Has(TransitionEffects.Delete))
        {
            _pruned.Add(task.TaskId);
            Add(new Event { TasksPruned = new TasksPruned { TaskIds = { task.TaskId }, Reason = message ?? string.Empty } });
        }
        else if (outcome.Has(TransitionEffects.SaveState))
        {
            _statuses[task.TaskId] = to;
            if (FlappingPenalty.IsInterruption(to))
            {
                _interrupted.Add(task.TaskId);
            }
            Add(new Event
            {
                TaskStateChanged = new TaskStateChanged { TaskId = task.TaskId, From = from, To = to, Message = message ?? string.Empty, Host = host ?? string.Empty },
            });
        }

        if (outcome.Has(TransitionEffects.Reschedule))
        {
            var failures = task.FailureCount + (outcome.Has(TransitionEffects.IncrementFailures) ? 1 : 0);
            Reschedule(task, failures);
        }

        if (outcome.Has(TransitionEffects.TransitionToLost))
        {
            TryChangeState(task, ScheduleStatus.Lost, "Action performed on partitioned task, marking as LOST.");
        }

        MarkDrainedIfEmpty(task);
        LaunchDeferredCronRunIfClear(task.Job);
        return true;
    }

    /// <summary>A KILL_EXISTING cron trigger in this decision: the run launches once the job's active tasks are gone.</summary>
    public void MarkCronLaunchPending(JobKey job) => _cronLaunchPending.Add(job);

    /// <summary>
    /// Like <see cref="TryChangeState"/>, but an illegal transition rejects the command with the
    /// reason — unless it is a zombie's (a terminal task reported alive), which only asks for a kill.
    /// </summary>
    public void ChangeState(TaskRecord task, ScheduleStatus to, string? message, string? host = null)
    {
        var from = StatusOf(task);
        var kills = _kills.Count;
        if (!TryChangeState(task, to, message, host) && _kills.Count == kills)
        {
            throw CommandRejectedException.Invalid(
                $"Task {task.TaskId} cannot move from {TaskStatuses.Name(from)} to {TaskStatuses.Name(to)}.");
        }
    }

    /// <summary>Creates PENDING tasks for <paramref name="instances"/> of the configuration's job.</summary>
    public void CreateTasks(TaskConfig config, IEnumerable<int> instances, string? message = null)
    {
        var created = new TasksCreated { Config = config };
        foreach (var instance in instances)
        {
            created.Tasks.Add(new NewTask
            {
                TaskId = NewTaskId(config.Job, instance),
                InstanceId = instance,
                Status = ScheduleStatus.Pending,
                Message = message ?? string.Empty,
            });
        }

        if (created.Tasks.Count > 0)
        {
            Add(new Event { TasksCreated = created });
        }
    }

    /// <summary>A new task id (<see cref="TaskIds.Create"/>).</summary>
    public string NewTaskId(JobKey job, int instance) => TaskIds.Create(job, instance, Context.Ids.NewId());

    private void Reschedule(TaskRecord task, int failureCount)
    {
        var penalty = FlappingPenalty.Of(State, task, Context.NowMicros, Context.Settings, _interrupted.Contains(task.TaskId));
        var throttled = penalty > TimeSpan.Zero;
        var penaltyMs = (long)penalty.TotalMilliseconds;
        Add(new Event
        {
            // No config: the new generation runs its ancestor's (see TasksCreated in events.proto).
            TasksCreated = new TasksCreated
            {
                Tasks =
                {
                    new NewTask
                    {
                        TaskId = NewTaskId(task.Job, task.InstanceId),
                        InstanceId = task.InstanceId,
                        Status = throttled ? ScheduleStatus.Throttled : ScheduleStatus.Pending,
                        AncestorId = task.TaskId,
                        FailureCount = failureCount,
                        Message = throttled
                            ? string.Create(CultureInfo.InvariantCulture, $"Rescheduled, penalized for {penaltyMs} ms for flapping")
                            : "Rescheduled",
                        PenaltyMs = throttled ? penaltyMs : 0,
                    },
                },
            },
        });
    }

    private void MarkDrainedIfEmpty(TaskRecord task)
    {
        if (task.Host is null || ModeOf(task.Host) != MaintenanceMode.Draining || TaskStatuses.IsAgentAssigned(StatusOf(task)))
        {
            return;
        }

        foreach (var other in State.TasksOnHost(task.Host))
        {
            if (TaskStatuses.IsAgentAssigned(StatusOf(other)))
            {
                return;
            }
        }

        SetHostMode(task.Host, MaintenanceMode.Drained);
    }

    private void LaunchDeferredCronRunIfClear(JobKey job)
    {
        var cron = State.FindCronJob(job);
        if (cron is null || _cronLaunched.Contains(job) || !(cron.LaunchPending || _cronLaunchPending.Contains(job))
            || ActiveInstances(job).Count > 0)
        {
            return;
        }

        // The tasks created below are not in the state yet, so remember that this decision launched.
        _cronLaunched.Add(job);
        Add(new Event { CronJobTriggered = new CronJobTriggered { Job = job, Outcome = CronTriggerOutcome.DeferredLaunched } });
        CreateTasks(cron.Config.Task, Enumerable.Range(0, cron.Config.InstanceCount));
    }
}
