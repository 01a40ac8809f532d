using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Updates;

namespace Aurora.Scheduler.Tests.Updates;

/// <summary>
/// The domain with a manual clock, fake agents and the update engine, keeping the log so that a
/// test can "restart" the scheduler: the live state is then replaced by one rebuilt from the log
/// (through a snapshot), and the engine has nothing else to go on.
/// </summary>
internal sealed class UpdateCluster
{
    private readonly List<(TransactionInfo Info, Transaction Transaction)> _log = [];
    private readonly SeededIdGenerator _ids;

    public UpdateCluster(int seed = 1, SchedulerSettings? settings = null)
    {
        _ids = new SeededIdGenerator(seed);
        Settings = settings ?? SchedulerSettings.Default;
    }

    public SchedulerState State { get; private set; } = new();

    public SchedulerSettings Settings { get; }

    public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public long NowMicros => Micros.Of(Now);

    public IReadOnlyList<(TransactionInfo Info, Transaction Transaction)> Log => _log;

    public CommandContext Context => new("alice", Now, Settings, _ids);

    public Decision Execute(SchedulerCommand command)
    {
        var decision = command.Decide(State, Context);
        if (decision.ChangesState)
        {
            var transaction = new Transaction();
            transaction.Events.AddRange(decision.Events);
            var info = new TransactionInfo((ulong)_log.Count + 1, NowMicros, "alice");
            _log.Add((info, transaction));
            State.Apply(info, transaction);
        }

        return decision;
    }

    public void Advance(TimeSpan by) => Now += by;

    public void AdvanceTo(long micros) => Now = DateTimeOffset.UnixEpoch.AddTicks(micros * TimeSpan.TicksPerMicrosecond);

    /// <summary>What a restarted scheduler has: the state folded from the log (via a snapshot), nothing in memory.</summary>
    public void Restart()
    {
        var replayed = new SchedulerState();
        foreach (var (info, transaction) in _log)
        {
            replayed.Apply(info, transaction);
        }

        var restored = SchedulerState.FromSnapshot(replayed.ToSnapshot());
        Assert.Equal(State.StateHash(), restored.StateHash());
        State = restored;
    }

    public JobKey CreateRunningJob(int instances)
    {
        var config = Configs.Job(instances: instances);
        Execute(new SetQuota(config.Key.Role, DomainScenarios.AmpleQuota));
        Execute(new CreateJob(config));
        Launch(config.Key);
        return config.Key;
    }

    public JobUpdateKey StartUpdate(JobUpdateRequest request) =>
        Assert.IsType<JobUpdateKey>(Execute(new StartJobUpdate(request)).Value);

    public (Decision Decision, UpdateProgress Progress) Step(JobUpdateKey key, long? lastPulseMicros = null)
    {
        var decision = Execute(new AdvanceJobUpdate(key, lastPulseMicros));
        return (decision, Assert.IsType<UpdateProgress>(decision.Value));
    }

    /// <summary>The job's tasks in a fixed order, so that both runs of a restart test act alike.</summary>
    public IReadOnlyList<TaskRecord> Tasks(JobKey job) =>
        State.TasksOf(job).OrderBy(t => t.InstanceId).ThenBy(t => t.TaskId, StringComparer.Ordinal).ToList();

    /// <summary>The agents confirm every kill.</summary>
    public int ConfirmKills(JobKey job)
    {
        var killing = Tasks(job).Where(t => t.Status == ScheduleStatus.Killing).ToList();
        foreach (var task in killing)
        {
            Execute(new ChangeTaskState(task.TaskId, ScheduleStatus.Killed, "killed by agent"));
        }

        return killing.Count;
    }

    /// <summary>Places every waiting task of the job on host-{instance} and the agents report it RUNNING.</summary>
    public int Launch(JobKey job, Func<TaskRecord, bool>? which = null)
    {
        var launched = 0;
        foreach (var task in Tasks(job).Where(t => which?.Invoke(t) ?? true))
        {
            if (task.Status == ScheduleStatus.Throttled)
            {
                Execute(new ChangeTaskState(task.TaskId, ScheduleStatus.Pending, "penalty over"));
            }

            if (task.Status == ScheduleStatus.Pending)
            {
                var host = DomainHarness.Host(task.InstanceId);
                Execute(new AssignTask(task.TaskId, "agent-" + host, host, []));
            }

            if (task.Status is ScheduleStatus.Assigned or ScheduleStatus.Starting)
            {
                Execute(new ChangeTaskState(task.TaskId, ScheduleStatus.Running, "running"));
                launched++;
            }
        }

        return launched;
    }

    public void Settle(JobKey job)
    {
        ConfirmKills(job);
        Launch(job);
    }

    public TaskRecord Active(JobKey job, int instance) => State.ActiveInstances(job)[instance];

    public void Fail(JobKey job, int instance, ScheduleStatus how = ScheduleStatus.Failed) =>
        Execute(new ChangeTaskState(Active(job, instance).TaskId, how, "crashed"));

    public JobUpdateRecord Update(JobUpdateKey key) => State.FindUpdate(key)!;

    public IReadOnlyList<int> Instances(JobUpdateKey key, JobUpdateAction action) =>
        Update(key).InstanceEvents.Where(e => e.Action == action).Select(e => e.InstanceId).ToList();

    /// <summary>Instances the update works on right now (started, neither done nor failed) in its current direction.</summary>
    public IReadOnlyList<int> InFlight(JobUpdateKey key)
    {
        var update = Update(key);
        var back = update.Events.Any(e => e.Status == JobUpdateStatus.RollingBack);
        var (working, done, failed) = back
            ? (JobUpdateAction.InstanceRollingBack, JobUpdateAction.InstanceRolledBack, JobUpdateAction.InstanceRollbackFailed)
            : (JobUpdateAction.InstanceUpdating, JobUpdateAction.InstanceUpdated, JobUpdateAction.InstanceUpdateFailed);
        var finished = update.InstanceEvents.Where(e => e.Action == done || e.Action == failed).Select(e => e.InstanceId).ToHashSet();
        return update.InstanceEvents.Where(e => e.Action == working && !finished.Contains(e.InstanceId)).Select(e => e.InstanceId).Order().ToList();
    }

    /// <summary>
    /// Runs the engine and the agents until the update stops acting (over, paused, awaiting a pulse):
    /// step, let the agents catch up, move the clock to when the engine wants to look again.
    /// </summary>
    public UpdateProgress RunToEnd(JobUpdateKey key, int maxSteps = 500, Action? afterStep = null)
    {
        for (var step = 0; step < maxSteps; step++)
        {
            var (_, progress) = Step(key);
            afterStep?.Invoke();
            if (progress.Status is not (JobUpdateStatus.RollingForward or JobUpdateStatus.RollingBack))
            {
                return progress;
            }

            Settle(key.Job);
            if (progress.NextEvaluationMicros is { } next && next > NowMicros)
            {
                AdvanceTo(next);
            }
            else
            {
                Advance(TimeSpan.FromSeconds(1));
            }
        }

        throw new InvalidOperationException($"The update did not stop within {maxSteps} steps.");
    }

    public static JobUpdateRequest Request(int instances, Action<JobUpdateSettings>? settings = null, TaskConfig? task = null)
    {
        var request = Configs.Update(task ?? DomainScenarios.Changed(Configs.Task()), instances);
        settings?.Invoke(request.Settings);
        return request;
    }
}
