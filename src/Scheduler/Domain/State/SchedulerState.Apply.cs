using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.State;

/// <summary>Where and when a transaction was committed, and by whom: the context of each of its events.</summary>
public readonly record struct TransactionInfo(ulong Position, long TimeMicros, string Principal);

public sealed partial class SchedulerState
{
    /// <summary>Folds every event of a committed transaction, in order.</summary>
    /// <exception cref="EventApplyException">An event contradicts the state (the log and the state diverged).</exception>
    /// <exception cref="UnknownEventException">An event kind this version does not know.</exception>
    public void Apply(TransactionInfo tx, Transaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var events = transaction.Events;
        for (var i = 0; i < events.Count; i++)
        {
            Apply(tx, events[i]);
        }
    }

    /// <summary>Folds one event. The one apply function: there is no other way to change the state.</summary>
    public void Apply(TransactionInfo tx, Event e)
    {
        ArgumentNullException.ThrowIfNull(e);
        switch (e.KindCase)
        {
            case Event.KindOneofCase.TasksCreated:
                ApplyTasksCreated(tx, e.TasksCreated);
                break;
            case Event.KindOneofCase.TaskAssigned:
                ApplyTaskAssigned(tx, e.TaskAssigned);
                break;
            case Event.KindOneofCase.TaskStateChanged:
                ApplyTaskStateChanged(tx, e.TaskStateChanged);
                break;
            case Event.KindOneofCase.TasksPruned:
                foreach (var taskId in e.TasksPruned.TaskIds)
                {
                    RemoveTask(RequireTask(tx, taskId));
                }

                break;
            case Event.KindOneofCase.JobCreated:
            case Event.KindOneofCase.JobKilled:
            case Event.KindOneofCase.InstancesAdded:
            case Event.KindOneofCase.SnapshotCommitted:
                // Audit facts: the state changes they describe are carried by the events that
                // follow them in the same transaction (or, for a snapshot, by none).
                break;
            case Event.KindOneofCase.JobConfigReplaced:
                RequireCron(tx, e.JobConfigReplaced.Config.Key).Config = e.JobConfigReplaced.Config;
                break;
            case Event.KindOneofCase.QuotaSet:
                _quotas[e.QuotaSet.Role] = e.QuotaSet.Quota ?? new Resources();
                break;
            case Event.KindOneofCase.HostAttributesSaved:
                HostFor(e.HostAttributesSaved.Attributes.Host).Attributes = e.HostAttributesSaved.Attributes;
                break;
            case Event.KindOneofCase.HostMaintenanceChanged:
                ApplyHostMaintenanceChanged(e.HostMaintenanceChanged);
                break;
            case Event.KindOneofCase.JobUpdateStarted:
                ApplyJobUpdateStarted(tx, e.JobUpdateStarted);
                break;
            case Event.KindOneofCase.JobUpdateStateChanged:
                ApplyJobUpdateStateChanged(tx, e.JobUpdateStateChanged);
                break;
            case Event.KindOneofCase.JobUpdateInstanceEvent:
                ApplyJobUpdateInstanceEvent(tx, e.JobUpdateInstanceEvent);
                break;
            case Event.KindOneofCase.JobUpdatesPruned:
                foreach (var key in e.JobUpdatesPruned.Keys)
                {
                    RemoveUpdate(tx, key);
                }

                break;
            case Event.KindOneofCase.CronJobScheduled:
                ApplyCronJobScheduled(tx, e.CronJobScheduled);
                break;
            case Event.KindOneofCase.CronJobDescheduled:
                RequireCron(tx, e.CronJobDescheduled.Job);
                _cronJobs.Remove(e.CronJobDescheduled.Job);
                RemoveFromRoleIfGone(e.CronJobDescheduled.Job);
                break;
            case Event.KindOneofCase.CronJobTriggered:
                ApplyCronJobTriggered(tx, e.CronJobTriggered);
                break;
            case Event.KindOneofCase.FrameworkIdSaved:
                FrameworkId = e.FrameworkIdSaved.FrameworkId;
                break;
            case Event.KindOneofCase.RecoveryCommitted:
                ReplaceWith(SchedulerSnapshot.Parser.ParseFrom(e.RecoveryCommitted.State));
                break;
            default:
                throw new UnknownEventException(tx.Position, e);
        }
    }

    private void ApplyTasksCreated(TransactionInfo tx, TasksCreated created)
    {
        if (created.Tasks.Count == 0)
        {
            return;
        }

        if (created.Config is not null && created.Config.Job is null)
        {
            throw new EventApplyException(tx.Position, "TasksCreated with a configuration that names no job");
        }

        var shared = created.Config is null ? null : _configs.Acquire(created.Config, created.Tasks.Count);
        foreach (var newTask in created.Tasks)
        {
            if (newTask.Status is not (ScheduleStatus.Pending or ScheduleStatus.Throttled))
            {
                throw new EventApplyException(tx.Position, $"task {newTask.TaskId} created in {TaskStatuses.Name(newTask.Status)}, not PENDING or THROTTLED");
            }

            var ancestor = newTask.AncestorId.Length == 0 ? null : FindTask(newTask.AncestorId);
            var config = shared ?? ancestor?.Config
                ?? throw new EventApplyException(tx.Position, $"task {newTask.TaskId} has no configuration and no ancestor in the store to take it from");
            if (shared is null)
            {
                _configs.AddReference(config);
            }

            var task = new TaskRecord(newTask.TaskId, config, newTask.InstanceId, ancestor?.TaskId ?? NullIfEmpty(newTask.AncestorId), newTask.FailureCount, newTask.PenaltyMs)
            {
                Status = newTask.Status,
            };
            task.AddEvent(new TaskEvent(tx.TimeMicros, newTask.Status, _strings.Share(newTask.Message), null));
            if (!_tasks.TryAdd(task.TaskId, task))
            {
                throw new EventApplyException(tx.Position, $"task {newTask.TaskId} already exists");
            }

            IndexTask(task);
        }
    }

    private void ApplyTaskAssigned(TransactionInfo tx, TaskAssigned assigned)
    {
        var task = RequireTask(tx, assigned.TaskId);
        if (task.Status != ScheduleStatus.Pending)
        {
            throw new EventApplyException(tx.Position, $"task {task.TaskId} assigned while {TaskStatuses.Name(task.Status)}, not PENDING");
        }

        task.AgentId = _strings.Share(assigned.AgentId);
        task.Host = _strings.Share(assigned.Host);
        task.Ports = assigned.Ports.Count == 0 ? [] : [.. assigned.Ports];
        SetStatus(task, ScheduleStatus.Assigned);
        task.AddEvent(new TaskEvent(tx.TimeMicros, ScheduleStatus.Assigned, _strings.Share(assigned.Message), task.Host));
    }

    private void ApplyTaskStateChanged(TransactionInfo tx, TaskStateChanged changed)
    {
        var task = RequireTask(tx, changed.TaskId);
        if (task.Status != changed.From)
        {
            throw new EventApplyException(tx.Position, $"task {task.TaskId} is {TaskStatuses.Name(task.Status)}, but the event moves it from {TaskStatuses.Name(changed.From)}");
        }

        var outcome = TaskStateMachine.Evaluate(changed.From, changed.To, task.Facts);
        if (!outcome.IsLegal || !outcome.Has(TransitionEffects.SaveState) || changed.From == ScheduleStatus.Pending)
        {
            throw new EventApplyException(tx.Position, $"task {task.TaskId}: {TaskStatuses.Name(changed.From)} -> {TaskStatuses.Name(changed.To)} is not a recordable transition");
        }

        if (outcome.Has(TransitionEffects.IncrementFailures))
        {
            task.FailureCount++;
        }

        if (changed.To == ScheduleStatus.Partitioned)
        {
            task.TimesPartitioned++;
        }

        SetStatus(task, changed.To);
        task.AddEvent(new TaskEvent(tx.TimeMicros, changed.To, _strings.Share(changed.Message), _strings.Share(changed.Host)));
    }

    private void ApplyHostMaintenanceChanged(HostMaintenanceChanged changed)
    {
        var host = HostFor(changed.Host);
        host.Mode = changed.Mode;
        if (changed.Mode is MaintenanceMode.None or MaintenanceMode.Scheduled)
        {
            host.Request = null;
        }
        else if (changed.Request is not null)
        {
            host.Request = changed.Request;
        }
    }

    private void ApplyJobUpdateStarted(TransactionInfo tx, JobUpdateStarted started)
    {
        var key = started.Key;
        if (_updates.ContainsKey(key))
        {
            throw new EventApplyException(tx.Position, $"job update {key.Job.Canonical()}/{key.Id} already exists");
        }

        if (JobUpdateStates.IsActive(started.Status) && _activeUpdates.TryGetValue(key.Job, out var holder))
        {
            throw new EventApplyException(tx.Position, $"job {key.Job.Canonical()} already has active update {holder.Key.Id}");
        }

        var update = new JobUpdateRecord(key, started.User, [.. started.Metadata], started.Instructions, tx.TimeMicros)
        {
            Status = started.Status,
        };
        update.AddEvent(new JobUpdateEventRecord { Status = started.Status, TimeMicros = tx.TimeMicros, User = tx.Principal, Message = started.Message });
        AddUpdate(update);
    }

    private void ApplyJobUpdateStateChanged(TransactionInfo tx, JobUpdateStateChanged changed)
    {
        var update = RequireUpdate(tx, changed.Key);
        if (update.Status != changed.From || !JobUpdateStates.CanTransition(changed.From, changed.To))
        {
            throw new EventApplyException(tx.Position, $"job update {changed.Key.Id} is {ProtoNames.Of(update.Status)}: {JobUpdateStates.CannotTransition(changed.From, changed.To)}");
        }

        update.Status = changed.To;
        update.LastModifiedMicros = tx.TimeMicros;
        update.AddEvent(new JobUpdateEventRecord { Status = changed.To, TimeMicros = tx.TimeMicros, User = tx.Principal, Message = changed.Message });
        if (!update.IsActive)
        {
            _activeUpdates.Remove(update.Job);
        }
    }

    private void ApplyJobUpdateInstanceEvent(TransactionInfo tx, JobUpdateInstanceEvent instanceEvent)
    {
        var update = RequireUpdate(tx, instanceEvent.Key);
        update.LastModifiedMicros = tx.TimeMicros;
        update.AddInstanceEvent(new JobInstanceUpdateEventRecord
        {
            InstanceId = instanceEvent.InstanceId,
            TimeMicros = tx.TimeMicros,
            Action = instanceEvent.Action,
            Message = instanceEvent.Message,
        });
    }

    private void ApplyCronJobScheduled(TransactionInfo tx, CronJobScheduled scheduled)
    {
        var job = scheduled.Config.Key;
        if (_cronJobs.ContainsKey(job))
        {
            throw new EventApplyException(tx.Position, $"cron job {job.Canonical()} is already scheduled");
        }

        _cronJobs.Add(job, new CronJobRecord(scheduled.Config, tx.TimeMicros));
        RoleJobs(job.Role).Add(job);
    }

    private void ApplyCronJobTriggered(TransactionInfo tx, CronJobTriggered triggered)
    {
        var cron = RequireCron(tx, triggered.Job);
        switch (triggered.Outcome)
        {
            case CronTriggerOutcome.KillingExisting:
                cron.LaunchPending = true;
                break;
            case CronTriggerOutcome.DeferredLaunched:
                cron.LaunchPending = false;
                break;
            case CronTriggerOutcome.Launched:
            case CronTriggerOutcome.Skipped:
            case CronTriggerOutcome.IgnoredLaunchPending:
                break;
            default:
                throw new EventApplyException(tx.Position, $"cron trigger of {triggered.Job.Canonical()} has unknown outcome {triggered.Outcome}");
        }
    }

    private void AddTask(TaskRecord task)
    {
        _tasks.Add(task.TaskId, task);
        IndexTask(task);
    }

    private void IndexTask(TaskRecord task)
    {
        if (!_tasksByJob.TryGetValue(task.Job, out var jobTasks))
        {
            jobTasks = [];
            _tasksByJob.Add(task.Job, jobTasks);
            RoleJobs(task.Job.Role).Add(task.Job);
        }

        jobTasks.Add(task);
        _tasksByStatus[(int)task.Status]?.Add(task);
        _countByStatus[(int)task.Status]++;
        if (task.Host is not null && TaskStatuses.IsAgentAssigned(task.Status))
        {
            TasksOnHostFor(task.Host).Add(task);
        }
    }

    private void RemoveTask(TaskRecord task)
    {
        _tasks.Remove(task.TaskId);
        _tasksByStatus[(int)task.Status]?.Remove(task);
        _countByStatus[(int)task.Status]--;
        RemoveFromHost(task);
        var jobTasks = _tasksByJob[task.Job];
        jobTasks.Remove(task);
        if (jobTasks.Count == 0)
        {
            _tasksByJob.Remove(task.Job);
            RemoveFromRoleIfGone(task.Job);
        }

        _configs.Release(task.Config);
    }

    private void SetStatus(TaskRecord task, ScheduleStatus status)
    {
        var from = task.Status;
        _tasksByStatus[(int)from]?.Remove(task);
        _countByStatus[(int)from]--;
        task.Status = status;
        _tasksByStatus[(int)status]?.Add(task);
        _countByStatus[(int)status]++;
        if (task.Host is null || TaskStatuses.IsAgentAssigned(from) == TaskStatuses.IsAgentAssigned(status))
        {
            return;
        }

        if (TaskStatuses.IsAgentAssigned(status))
        {
            TasksOnHostFor(task.Host).Add(task);
        }
        else
        {
            RemoveFromHost(task);
        }
    }

    private void RemoveFromHost(TaskRecord task)
    {
        if (task.Host is not null && _tasksByHost.TryGetValue(task.Host, out var onHost) && onHost.Remove(task) && onHost.Count == 0)
        {
            _tasksByHost.Remove(task.Host);
        }
    }

    private HashSet<TaskRecord> TasksOnHostFor(string host)
    {
        if (!_tasksByHost.TryGetValue(host, out var tasks))
        {
            tasks = [];
            _tasksByHost.Add(host, tasks);
        }

        return tasks;
    }

    private HashSet<JobKey> RoleJobs(string role)
    {
        if (!_jobsByRole.TryGetValue(role, out var jobs))
        {
            jobs = [];
            _jobsByRole.Add(role, jobs);
        }

        return jobs;
    }

    private void RemoveFromRoleIfGone(JobKey job)
    {
        if (!JobExists(job) && _jobsByRole.TryGetValue(job.Role, out var jobs) && jobs.Remove(job) && jobs.Count == 0)
        {
            _jobsByRole.Remove(job.Role);
        }
    }

    private HostRecord HostFor(string host)
    {
        if (!_hosts.TryGetValue(host, out var record))
        {
            record = new HostRecord(host);
            _hosts.Add(host, record);
        }

        return record;
    }

    private void AddUpdate(JobUpdateRecord update)
    {
        _updates.Add(update.Key, update);
        if (update.IsActive)
        {
            _activeUpdates.Add(update.Job, update);
        }

        if (!_updatesByJob.TryGetValue(update.Job, out var updates))
        {
            updates = [];
            _updatesByJob.Add(update.Job, updates);
        }

        updates.Add(update);
    }

    private void RemoveUpdate(TransactionInfo tx, JobUpdateKey key)
    {
        var update = RequireUpdate(tx, key);
        if (update.IsActive)
        {
            throw new EventApplyException(tx.Position, $"job update {key.Id} is active and cannot be pruned");
        }

        _updates.Remove(key);
        var updates = _updatesByJob[update.Job];
        updates.Remove(update);
        if (updates.Count == 0)
        {
            _updatesByJob.Remove(update.Job);
        }
    }

    private TaskRecord RequireTask(TransactionInfo tx, string taskId) =>
        _tasks.GetValueOrDefault(taskId) ?? throw new EventApplyException(tx.Position, $"task {taskId} does not exist");

    private JobUpdateRecord RequireUpdate(TransactionInfo tx, JobUpdateKey key) =>
        _updates.GetValueOrDefault(key) ?? throw new EventApplyException(tx.Position, $"job update {key.Job?.Canonical()}/{key.Id} does not exist");

    private CronJobRecord RequireCron(TransactionInfo tx, JobKey job) =>
        _cronJobs.GetValueOrDefault(job) ?? throw new EventApplyException(tx.Position, $"cron job {job.Canonical()} is not scheduled");
}
