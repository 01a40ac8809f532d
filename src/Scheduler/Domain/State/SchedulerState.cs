using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.State;

/// <summary>
/// Every projection the scheduler keeps (tasks, jobs, quotas, locks, hosts, job updates, cron jobs,
/// the framework id) with the indexes queries need, folded from domain events by <see cref="Apply(TransactionInfo, Transaction)"/>.
/// </summary>
/// <remarks>
/// <para>Apply is the only writer and the one fold used everywhere: on the leader after a commit, on
/// followers, in replay, in <c>aurora-log state</c> and in recovery. It is deterministic: the same
/// events give the same state and the same <see cref="StateHash"/>, whatever the process.</para>
/// <para>Threading: not thread-safe. One thread applies; readers must be excluded from Apply by the
/// owner (the persistence layer holds a reader/writer lock). Objects handed out (tasks, records,
/// protobuf messages) are live views owned by the state: callers must not mutate them or keep
/// them across an Apply they did not exclude.</para>
/// </remarks>
public sealed partial class SchedulerState
{
    private readonly Dictionary<string, TaskRecord> _tasks = new(StringComparer.Ordinal);
    private readonly Dictionary<JobKey, HashSet<TaskRecord>> _tasksByJob = [];
    private readonly Dictionary<string, HashSet<TaskRecord>> _tasksByHost = new(StringComparer.Ordinal);
    // Sets only for the statuses work is driven from (pending, throttled, the transient ones with
    // timeouts): RUNNING and the terminal statuses hold nearly every task, and keeping them in sets
    // would cost the hottest path of replay two random memory accesses per transition.
    private readonly HashSet<TaskRecord>?[] _tasksByStatus;
    private readonly int[] _countByStatus;
    private readonly Dictionary<string, HashSet<JobKey>> _jobsByRole = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Resources> _quotas = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HostRecord> _hosts = new(StringComparer.Ordinal);
    private readonly Dictionary<JobUpdateKey, JobUpdateRecord> _updates = [];
    private readonly Dictionary<JobKey, JobUpdateRecord> _activeUpdates = [];
    private readonly Dictionary<JobKey, List<JobUpdateRecord>> _updatesByJob = [];
    private readonly Dictionary<JobKey, CronJobRecord> _cronJobs = [];
    private readonly ConfigInterner _configs = new();
    private readonly StringCache _strings = new();

    public SchedulerState()
    {
        _tasksByStatus = new HashSet<TaskRecord>?[(int)ScheduleStatus.Partitioned + 1];
        _countByStatus = new int[_tasksByStatus.Length];
        foreach (var status in TaskStatuses.All)
        {
            if (status != ScheduleStatus.Running && !TaskStatuses.IsTerminal(status))
            {
                _tasksByStatus[(int)status] = [];
            }
        }
    }

    public string? FrameworkId { get; private set; }

    public int TaskCount => _tasks.Count;

    /// <summary>How many distinct task configurations the tasks share.</summary>
    public int DistinctConfigCount => _configs.Count;

    public IReadOnlyCollection<TaskRecord> Tasks => _tasks.Values;

    public TaskRecord? FindTask(string taskId) => _tasks.GetValueOrDefault(taskId);

    /// <summary>Every task of the job, in any status, until pruned.</summary>
    public IReadOnlyCollection<TaskRecord> TasksOf(JobKey job) =>
        _tasksByJob.TryGetValue(job, out var tasks) ? tasks : [];

    /// <summary>The hosts some task holds resources on.</summary>
    public IReadOnlyCollection<string> HostsWithTasks => _tasksByHost.Keys;

    /// <summary>Tasks holding resources on the host (SLAVE_ASSIGNED_STATES).</summary>
    public IReadOnlyCollection<TaskRecord> TasksOnHost(string host) =>
        _tasksByHost.TryGetValue(host, out var tasks) ? tasks : [];

    /// <summary>The tasks in <paramref name="status"/>: an index for the statuses work is driven from, a scan for RUNNING and the terminal ones.</summary>
    public IReadOnlyCollection<TaskRecord> TasksIn(ScheduleStatus status) =>
        (IReadOnlyCollection<TaskRecord>?)_tasksByStatus[(int)status] ?? _tasks.Values.Where(t => t.Status == status).ToList();

    public int CountIn(ScheduleStatus status) => _countByStatus[(int)status];

    /// <summary>The job's active tasks by instance id (at most one per instance in a consistent state).</summary>
    public SortedDictionary<int, TaskRecord> ActiveInstances(JobKey job) => ActiveInstances(job, static t => t.IsActive);

    /// <summary>The job's tasks that <paramref name="isActive"/> counts as active, by instance id.</summary>
    public SortedDictionary<int, TaskRecord> ActiveInstances(JobKey job, Func<TaskRecord, bool> isActive)
    {
        ArgumentNullException.ThrowIfNull(isActive);
        var instances = new SortedDictionary<int, TaskRecord>();
        foreach (var task in TasksOf(job))
        {
            if (isActive(task))
            {
                instances[task.InstanceId] = task;
            }
        }

        return instances;
    }

    /// <summary>Roles with at least one job (with tasks, or a cron template), sorted.</summary>
    public IEnumerable<string> Roles => _jobsByRole.Keys.Order(StringComparer.Ordinal);

    /// <summary>Every job: service and ad-hoc jobs that have tasks, and cron jobs.</summary>
    public IEnumerable<JobKey> JobKeys => _jobsByRole.Values.SelectMany(jobs => jobs);

    public IReadOnlyCollection<JobKey> JobsOfRole(string role) =>
        _jobsByRole.TryGetValue(role, out var jobs) ? jobs : [];

    public bool JobExists(JobKey job) => _tasksByJob.ContainsKey(job) || _cronJobs.ContainsKey(job);

    public CronJobRecord? FindCronJob(JobKey job) => _cronJobs.GetValueOrDefault(job);

    public IReadOnlyCollection<CronJobRecord> CronJobs => _cronJobs.Values;

    /// <summary>The role's quota; zero when none was ever set.</summary>
    public Resources QuotaOf(string role) => _quotas.GetValueOrDefault(role) ?? new Resources();

    public IReadOnlyDictionary<string, Resources> Quotas => _quotas;

    public HostRecord? FindHost(string host) => _hosts.GetValueOrDefault(host);

    public IReadOnlyCollection<HostRecord> Hosts => _hosts.Values;

    public JobUpdateRecord? FindUpdate(JobUpdateKey key) => _updates.GetValueOrDefault(key);

    public IReadOnlyCollection<JobUpdateRecord> Updates => _updates.Values;

    /// <summary>The job's lock: its one active update, if any.</summary>
    public JobUpdateRecord? ActiveUpdateOf(JobKey job) => _activeUpdates.GetValueOrDefault(job);

    /// <summary>Every held lock: the active updates, one per job.</summary>
    public IReadOnlyCollection<JobUpdateRecord> ActiveUpdates => _activeUpdates.Values;

    public IReadOnlyList<JobUpdateRecord> UpdatesOf(JobKey job) =>
        _updatesByJob.TryGetValue(job, out var updates) ? updates : [];
}
