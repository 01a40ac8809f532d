using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Protos;

namespace Aurora.LogTool;

/// <summary>
/// dump's filters, all ANDed: <c>--job</c>, <c>--role</c>, <c>--principal</c>, <c>--since</c>, <c>--until</c>.
/// An event concerns a job when it names the job's key, one of its update keys, or one of its tasks.
/// </summary>
/// <remarks>Immutable once built; safe to share.</remarks>
internal sealed record EventFilter(JobKey? Job, string? Role, string? Principal, long? SinceMicros, long? UntilMicros)
{
    /// <summary>Whether tasks must be traced back to their jobs (see <see cref="TaskJobs"/>).</summary>
    public bool NeedsTaskJobs => Job is not null || Role is not null;

    /// <summary>The entry passes the filters that look only at the entry (principal, time).</summary>
    public bool MatchesEntry(LogEntry entry) =>
        (Principal is null || entry.Principal == Principal)
        && (SinceMicros is null || entry.TimestampMicros >= SinceMicros)
        && (UntilMicros is null || entry.TimestampMicros <= UntilMicros);

    /// <summary>An entry that holds no scheduler events matches only when no job or role is asked for.</summary>
    public bool MatchesOpaque(LogEntry entry) => !NeedsTaskJobs && MatchesEntry(entry);

    /// <summary>The event (of an entry that passed <see cref="MatchesEntry"/>) passes the job and role filters.</summary>
    public bool MatchesEvent(Event e, TaskJobs tasks)
    {
        if (!NeedsTaskJobs)
        {
            return true;
        }

        var (jobs, taskIds, role) = Subjects(e);
        if (Role is not null && role == Role && Job is null)
        {
            return true;
        }

        foreach (var job in jobs.Concat(taskIds.Select(tasks.JobOf).OfType<JobKey>()))
        {
            if ((Job is null || job.Equals(Job)) && (Role is null || job.Role == Role))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The jobs an event names directly, the tasks it names, and the role it names without a job (QuotaSet).</summary>
    public static (IEnumerable<JobKey> Jobs, IEnumerable<string> TaskIds, string? Role) Subjects(Event e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.KindCase switch
        {
            Event.KindOneofCase.JobCreated => (Jobs(e.JobCreated.Config?.Key), [], null),
            Event.KindOneofCase.JobConfigReplaced => (Jobs(e.JobConfigReplaced.Config?.Key), [], null),
            Event.KindOneofCase.JobKilled => (Jobs(e.JobKilled.Job), [], null),
            Event.KindOneofCase.InstancesAdded => (Jobs(e.InstancesAdded.Job), [], null),
            Event.KindOneofCase.TasksCreated => (Jobs(e.TasksCreated.Config?.Job), e.TasksCreated.Tasks.Select(t => t.TaskId), null),
            Event.KindOneofCase.TaskAssigned => ([], [e.TaskAssigned.TaskId], null),
            Event.KindOneofCase.TaskStateChanged => ([], [e.TaskStateChanged.TaskId], null),
            Event.KindOneofCase.TasksPruned => ([], e.TasksPruned.TaskIds, null),
            Event.KindOneofCase.QuotaSet => ([], [], e.QuotaSet.Role),
            Event.KindOneofCase.JobUpdateStarted => (Jobs(e.JobUpdateStarted.Key?.Job), [], null),
            Event.KindOneofCase.JobUpdateStateChanged => (Jobs(e.JobUpdateStateChanged.Key?.Job), [], null),
            Event.KindOneofCase.JobUpdateInstanceEvent => (Jobs(e.JobUpdateInstanceEvent.Key?.Job), [], null),
            Event.KindOneofCase.JobUpdatesPruned => (e.JobUpdatesPruned.Keys.Select(k => k.Job).OfType<JobKey>(), [], null),
            Event.KindOneofCase.CronJobScheduled => (Jobs(e.CronJobScheduled.Config?.Key), [], null),
            Event.KindOneofCase.CronJobDescheduled => (Jobs(e.CronJobDescheduled.Job), [], null),
            Event.KindOneofCase.CronJobTriggered => (Jobs(e.CronJobTriggered.Job), [], null),
            // Hosts, the framework id, snapshot markers and recoveries belong to no job.
            _ => ([], [], null),
        };
    }

    private static JobKey[] Jobs(JobKey? key) => key is null ? [] : [key];
}

/// <summary>
/// Which job each task belongs to, learned while scanning: from TasksCreated events, from the state a
/// RecoveryCommitted installs, and from a state rebuilt up to where the scan starts (tasks created
/// before a truncated prefix have no TasksCreated left in the log). Task ids are not parsed: job
/// names may contain '-', so <c>role-env-name-instance-uuid</c> is ambiguous.
/// </summary>
/// <remarks>Not thread-safe; one scan owns it.</remarks>
internal sealed class TaskJobs
{
    private readonly Dictionary<string, JobKey> _jobs = new(StringComparer.Ordinal);

    public int Count => _jobs.Count;

    public JobKey? JobOf(string taskId) => _jobs.GetValueOrDefault(taskId);

    public void Seed(SchedulerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (var task in state.Tasks)
        {
            _jobs[task.TaskId] = task.Job;
        }
    }

    /// <summary>Learns from one event; call it before matching the event, so a TasksCreated names its own tasks.</summary>
    public void Observe(Event e)
    {
        ArgumentNullException.ThrowIfNull(e);
        switch (e.KindCase)
        {
            case Event.KindOneofCase.TasksCreated:
                foreach (var task in e.TasksCreated.Tasks)
                {
                    // A reschedule carries no configuration: the task belongs to its ancestor's job.
                    if ((e.TasksCreated.Config?.Job ?? JobOf(task.AncestorId)) is { } job)
                    {
                        _jobs[task.TaskId] = job;
                    }
                }

                break;
            case Event.KindOneofCase.RecoveryCommitted:
                // Tasks the recovered state holds may never have been created in this log. The old
                // ones stay known: later events can only name tasks of the recovered state anyway.
                try
                {
                    Seed(SchedulerState.FromSnapshot(e.RecoveryCommitted.State.Span));
                }
                catch (Google.Protobuf.InvalidProtocolBufferException)
                {
                    // Replay would refuse this entry; dump still shows it, without the tasks it brought.
                }

                break;
        }
    }
}
