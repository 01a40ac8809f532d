using System.Globalization;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Updates;

/// <summary>The work of one <see cref="AdvanceJobUpdate"/> step; used once, then discarded.</summary>
internal sealed class UpdateEngine
{
    private readonly DecisionBuilder _decision;
    private readonly JobUpdateRecord _update;
    private readonly JobUpdateSettings _settings;
    private readonly long _now;
    private readonly Dictionary<int, List<TaskRecord>> _tasksByInstance = [];
    private readonly HashSet<(int Instance, JobUpdateAction Action)> _recorded = [];
    private readonly HashSet<int> _replacedThisStep = [];
    private JobUpdateStatus _status;
    private long? _nextEvaluation;
    private (int Instance, string Reason)? _latestFailure;

    public UpdateEngine(DecisionBuilder decision, JobUpdateRecord update)
    {
        _decision = decision;
        _update = update;
        _settings = update.Instructions.Settings ?? new JobUpdateSettings();
        _now = decision.Context.NowMicros;
        _status = update.Status;
        foreach (var task in decision.State.TasksOf(update.Job))
        {
            if (!_tasksByInstance.TryGetValue(task.InstanceId, out var tasks))
            {
                tasks = [];
                _tasksByInstance.Add(task.InstanceId, tasks);
            }

            tasks.Add(task);
        }

        foreach (var e in update.InstanceEvents)
        {
            _recorded.Add((e.InstanceId, e.Action));
            if (e.Action is JobUpdateAction.InstanceUpdateFailed or JobUpdateAction.InstanceRollbackFailed)
            {
                _latestFailure = (e.InstanceId, e.Message);
            }
        }
    }

    private enum PhaseOutcome
    {
        InProgress,
        Stopped,
        RollBack,
    }

    public Decision Step(long? lastPulseMicros)
    {
        if (_settings.BlockIfNoPulsesAfterMs > 0)
        {
            var deadline = lastPulseMicros + _settings.BlockIfNoPulsesAfterMs * 1000;
            if (deadline is null || _now >= deadline)
            {
                Transition(_status == JobUpdateStatus.RollingBack ? JobUpdateStatus.RollBackAwaitingPulse : JobUpdateStatus.RollForwardAwaitingPulse,
                    AdvanceJobUpdate.PulseTimeoutMessage);
                return Build();
            }

            Consider(deadline.Value);
        }

        if (GroupSizes() is null)
        {
            Transition(JobUpdateStatus.Error, "Internal scheduler error: the update's strategy is unknown.");
            return Build();
        }

        if (_status == JobUpdateStatus.RollingForward)
        {
            if (Run(UpdatePhase.Forward(_update.Instructions, _update.CreatedMicros)) != PhaseOutcome.RollBack)
            {
                return Build();
            }

            // The rollback starts in this step, so that a second step with nothing changed has nothing left to do.
            Run(UpdatePhase.Backward(_update.Instructions, _now, TouchedForward));
            return Build();
        }

        var rollbackStart = _update.Events.FirstOrDefault(e => e.Status == JobUpdateStatus.RollingBack)?.TimeMicros ?? _update.CreatedMicros;
        Run(UpdatePhase.Backward(_update.Instructions, rollbackStart, TouchedForward));
        return Build();
    }

    private Decision Build()
    {
        var waiting = _status is JobUpdateStatus.RollingForward or JobUpdateStatus.RollingBack;
        return _decision.Build(value: new UpdateProgress(_status, waiting ? _nextEvaluation : null));
    }

    private bool TouchedForward(int instance) => _recorded.Contains((instance, JobUpdateAction.InstanceUpdating));

    private PhaseOutcome Run(UpdatePhase phase)
    {
        var inFlight = phase.Order.Where(i => IsStarted(phase, i) && !IsDone(phase, i)).ToList();
        foreach (var instance in inFlight)
        {
            CheckFailures(phase, instance);
        }

        // Failures are settled before anything else moves, so a step that gives up changes no task.
        var failed = phase.Order.Count(i => _recorded.Contains((i, phase.Failed)));
        if (failed > _settings.MaxFailedInstances)
        {
            var message = _latestFailure is { } latest
                ? string.Create(CultureInfo.InvariantCulture, $"Latest failure: instance {latest.Instance} {latest.Reason}")
                : "Too many instances failed.";
            if (!phase.RollingBack && _settings.RollbackOnFailure)
            {
                Transition(JobUpdateStatus.RollingBack, message);
                return PhaseOutcome.RollBack;
            }

            Transition(JobUpdateStatus.Failed, message);
            return PhaseOutcome.Stopped;
        }

        foreach (var instance in inFlight.Where(i => !IsDone(phase, i)))
        {
            Evaluate(phase, instance);
        }

        if (!StartInstances(phase))
        {
            return PhaseOutcome.Stopped;
        }

        if (phase.Order.All(i => IsDone(phase, i)))
        {
            Transition(phase.Completed, null);
            return PhaseOutcome.Stopped;
        }

        return PhaseOutcome.InProgress;
    }

    /// <summary>Starts what the strategy allows; false when the update paused itself instead.</summary>
    private bool StartInstances(UpdatePhase phase)
    {
        var sizes = GroupSizes()!;
        if (_settings.Strategy.KindCase == JobUpdateStrategy.KindOneofCase.Queue)
        {
            // Queue: at most group_size instances in flight; a finished one frees its slot at once.
            var inFlight = phase.Order.Count(i => IsStarted(phase, i) && !IsDone(phase, i));
            foreach (var instance in phase.Order)
            {
                if (inFlight >= sizes[0])
                {
                    break;
                }

                if (!IsStarted(phase, instance))
                {
                    Start(phase, instance);
                    inFlight += IsDone(phase, instance) ? 0 : 1;
                }
            }

            return true;
        }

        // Batch and variable batch: the next group starts once the whole previous one is done.
        var groups = Groups(phase.Order, sizes);
        for (var index = 0; index < groups.Count; index++)
        {
            var group = groups[index];
            if (group.All(i => IsDone(phase, i)))
            {
                continue;
            }

            if (!group.Any(i => IsStarted(phase, i)) && index > 0 && !phase.RollingBack && AutoPausesAfterBatch() && AutoPauses() < index)
            {
                Transition(JobUpdateStatus.RollForwardPaused, AdvanceJobUpdate.AutoPauseMessage);
                return false;
            }

            foreach (var instance in group.Where(i => !IsStarted(phase, i)))
            {
                Start(phase, instance);
            }

            if (!group.All(i => IsDone(phase, i)))
            {
                return true;
            }
        }

        return true;
    }

    private void Start(UpdatePhase phase, int instance)
    {
        Record(instance, phase.Working, null);
        Evaluate(phase, instance);
    }

    /// <summary>Aurora's InstanceUpdater: moves one instance towards its target and records when it gets there or gives up.</summary>
    private void Evaluate(UpdatePhase phase, int instance)
    {
        if (CheckFailures(phase, instance))
        {
            return;
        }

        var target = phase.TargetOf(instance);
        var active = ActiveTask(instance);
        if (active is not null && (target is null || !active.Config.Equals(target)))
        {
            if (_decision.StatusOf(active) != ScheduleStatus.Killing)
            {
                _decision.TryChangeState(active, ScheduleStatus.Killing, AdvanceJobUpdate.KillMessage(_update.Key));
            }

            if (_decision.IsActive(active))
            {
                // Replaced once the agent reports the task gone.
                return;
            }

            // A task that never ran is deleted at once; a partitioned one is LOST at once.
            active = null;
        }

        if (active is null)
        {
            if (target is null)
            {
                Record(instance, phase.Succeeded, null);
            }
            else if (_replacedThisStep.Add(instance))
            {
                _decision.CreateTasks(target, [instance]);
            }

            return;
        }

        if (_decision.StatusOf(active) != ScheduleStatus.Running)
        {
            // On its way up (or being killed by someone else): a task change brings the engine back.
            return;
        }

        var runningSince = active.LatestEvent.TimeMicros;
        var stableAt = runningSince + _settings.MinWaitInInstanceRunningMs * 1000;
        if (_now >= stableAt)
        {
            Record(instance, phase.Succeeded, null);
        }
        else
        {
            Consider(stableAt);
        }
    }

    /// <summary>Records the instance as failed once its attempts failed more than <c>max_per_instance_failures</c> times.</summary>
    private bool CheckFailures(UpdatePhase phase, int instance)
    {
        if (phase.TargetOf(instance) is not { } target)
        {
            return false;
        }

        var (failures, reason) = Failures(phase, instance, target);
        if (failures <= _settings.MaxPerInstanceFailures)
        {
            return false;
        }

        Record(instance, phase.Failed, reason);
        return true;
    }

    /// <summary>
    /// The instance's failed attempts in this direction: its tasks with the target configuration
    /// created since the direction began that ended without being killed (a kill goes through
    /// KILLING). The state machine reschedules each, so the count only grows.
    /// </summary>
    private (int Count, string Reason) Failures(UpdatePhase phase, int instance, TaskConfig target)
    {
        var count = 0;
        TaskRecord? latest = null;
        foreach (var task in _tasksByInstance.GetValueOrDefault(instance) ?? [])
        {
            if (task.IsTerminal && task.Events[0].TimeMicros >= phase.StartMicros
                && !task.HistoryContains(ScheduleStatus.Killing) && task.Config.Equals(target))
            {
                count++;
                if (latest is null || task.LatestEvent.TimeMicros > latest.LatestEvent.TimeMicros
                    || (task.LatestEvent.TimeMicros == latest.LatestEvent.TimeMicros && string.CompareOrdinal(task.TaskId, latest.TaskId) > 0))
                {
                    latest = task;
                }
            }
        }

        var reason = latest is null
            ? string.Empty
            : $"task {latest.TaskId} {TaskStatuses.Name(latest.Status)}: {latest.LatestEvent.Message}";
        return (count, reason);
    }

    private TaskRecord? ActiveTask(int instance)
    {
        foreach (var task in _tasksByInstance.GetValueOrDefault(instance) ?? [])
        {
            if (_decision.IsActive(task))
            {
                return task;
            }
        }

        return null;
    }

    private bool IsStarted(UpdatePhase phase, int instance) => _recorded.Contains((instance, phase.Working));

    private bool IsDone(UpdatePhase phase, int instance) =>
        _recorded.Contains((instance, phase.Succeeded)) || _recorded.Contains((instance, phase.Failed));

    private void Record(int instance, JobUpdateAction action, string? message)
    {
        if (!_recorded.Add((instance, action)))
        {
            return;
        }

        if (action is JobUpdateAction.InstanceUpdateFailed or JobUpdateAction.InstanceRollbackFailed)
        {
            _latestFailure = (instance, message ?? string.Empty);
        }

        _decision.Add(new Event
        {
            JobUpdateInstanceEvent = new JobUpdateInstanceEvent { Key = _update.Key, InstanceId = instance, Action = action, Message = message ?? string.Empty },
        });
    }

    private void Transition(JobUpdateStatus to, string? message)
    {
        if (!JobUpdateStates.CanTransition(_status, to))
        {
            throw new InvalidOperationException(JobUpdateStates.CannotTransition(_status, to));
        }

        _decision.Add(new Event
        {
            JobUpdateStateChanged = new JobUpdateStateChanged { Key = _update.Key, From = _status, To = to, Message = message ?? string.Empty },
        });
        _status = to;
    }

    private void Consider(long micros) => _nextEvaluation = _nextEvaluation is { } next ? Math.Min(next, micros) : micros;

    private IReadOnlyList<int>? GroupSizes() => _settings.Strategy?.KindCase switch
    {
        JobUpdateStrategy.KindOneofCase.Queue => [Math.Max(1, _settings.Strategy.Queue.GroupSize)],
        JobUpdateStrategy.KindOneofCase.Batch => [Math.Max(1, _settings.Strategy.Batch.GroupSize)],
        JobUpdateStrategy.KindOneofCase.VariableBatch when _settings.Strategy.VariableBatch.GroupSizes.Count > 0 =>
            _settings.Strategy.VariableBatch.GroupSizes.Select(size => Math.Max(1, size)).ToList(),
        _ => null,
    };

    private bool AutoPausesAfterBatch() => _settings.Strategy.KindCase switch
    {
        JobUpdateStrategy.KindOneofCase.Batch => _settings.Strategy.Batch.AutopauseAfterBatch,
        JobUpdateStrategy.KindOneofCase.VariableBatch => _settings.Strategy.VariableBatch.AutopauseAfterBatch,
        _ => false,
    };

    /// <summary>How many batches the update has paused after so far: the log is the engine's only memory.</summary>
    private int AutoPauses() =>
        _update.Events.Count(e => e.Status == JobUpdateStatus.RollForwardPaused && e.Message == AdvanceJobUpdate.AutoPauseMessage);

    /// <summary>Consecutive groups of the given sizes, in order; the last size repeats.</summary>
    private static List<List<int>> Groups(IReadOnlyList<int> order, IReadOnlyList<int> sizes)
    {
        var groups = new List<List<int>>();
        for (var start = 0; start < order.Count;)
        {
            var size = sizes[Math.Min(groups.Count, sizes.Count - 1)];
            groups.Add(order.Skip(start).Take(size).ToList());
            start += size;
        }

        return groups;
    }
}
