using System.Globalization;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Validation;

namespace Aurora.Scheduler.Benchmarks.Generation;

/// <summary>The size and shape of the generated cluster.</summary>
internal sealed record ClusterShape(int Seed = 42, int Jobs = 10_000, int Tasks = 100_000, int Roles = 200, int Hosts = 1_000, int ChurnHours = 48)
{
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"seed={Seed} jobs={Jobs} instances={Tasks} roles={Roles} hosts={Hosts} churn_hours={ChurnHours}");
}

/// <summary>
/// Generates a cluster's log through the real decision code: quotas, host attributes, 10,000 jobs
/// (70% services, 20% ad-hoc, 10% cron) with 100,000 instances in all, every task placed and
/// started, then hours of churn: failures and reschedules (flapping ones throttled), lost agents,
/// restarts, kills, rolling updates, cron runs, finishing batch jobs, a host drain, history pruning.
/// </summary>
/// <remarks>
/// Deterministic for a seed: every set that the state hands out (whose order depends on object
/// hash codes) is sorted by task id before it drives a decision. Not thread-safe.
/// </remarks>
internal sealed class ClusterGenerator
{
    private const string Scheduler = "scheduler";
    private const int DedicatedRoles = 10;
    private const int DedicatedHostsPerRole = 2;
    private const int MaxStatusBatch = 1000;
    private const int TasksPerPlacement = 5;

    private readonly ClusterShape _shape;
    private readonly Random _random;
    private readonly LogWriter _log;
    private readonly List<JobSpec> _jobs = [];
    private readonly Dictionary<JobKey, int> _versions = [];
    private readonly HashSet<string> _flappy = new(StringComparer.Ordinal);
    private int _hostCursor;

    public ClusterGenerator(ClusterShape shape)
    {
        _shape = shape;
        _random = new Random(shape.Seed);
        _log = new LogWriter(shape.Seed, new DateTimeOffset(2026, 1, 5, 8, 0, 0, TimeSpan.Zero));
    }

    public LogWriter Log => _log;

    public IReadOnlyList<JobSpec> Jobs => _jobs;

    public int Updates { get; private set; }

    public int CronTriggers { get; private set; }

    public int HostsDrained { get; private set; }

    public LogWriter Generate()
    {
        PlanJobs();
        _log.Execute(new SaveFrameworkId("aurora-framework-" + _log.Ids.NewId()), Scheduler);
        RegisterHosts();
        SetQuotas();
        CreateJobs();
        for (var hour = 1; hour <= _shape.ChurnHours; hour++)
        {
            Churn(hour);
        }

        _log.Commit();
        return _log;
    }

    private void PlanJobs()
    {
        var kinds = new JobKind[_shape.Jobs];
        var counts = new int[_shape.Jobs];
        for (var i = 0; i < kinds.Length; i++)
        {
            var u = _random.NextDouble();
            kinds[i] = u < 0.7 ? JobKind.Service : u < 0.9 ? JobKind.AdHoc : JobKind.Cron;
            counts[i] = DrawInstances(kinds[i]);
        }

        ScaleTo(counts, _shape.Tasks);
        var dedicatedJobs = new HashSet<int>();
        for (var i = 0; i < _shape.Jobs; i++)
        {
            var roleIndex = (int)(_shape.Roles * Math.Pow(_random.NextDouble(), 2));
            var role = ConfigFactory.Role(roleIndex);
            string? dedicated = null;
            if (roleIndex < DedicatedRoles && kinds[i] == JobKind.Service && counts[i] <= 20 && dedicatedJobs.Add(roleIndex))
            {
                dedicated = role;
            }

            var key = JobKeys.Create(role, ConfigFactory.Environment(_random), ConfigFactory.JobName(_random, kinds[i], i));
            var config = ConfigFactory.Job(_random, key, kinds[i], counts[i], dedicated, version: 1);
            _jobs.Add(new JobSpec(key, kinds[i], counts[i], dedicated, config));
            _versions[key] = 1;
        }
    }

    private int DrawInstances(JobKind kind)
    {
        var u = _random.NextDouble();
        return kind switch
        {
            JobKind.Service => u switch
            {
                < 0.40 => _random.Next(1, 4),
                < 0.70 => _random.Next(4, 13),
                < 0.90 => _random.Next(13, 41),
                < 0.98 => _random.Next(41, 151),
                _ => _random.Next(151, 601),
            },
            JobKind.AdHoc => u switch
            {
                < 0.50 => _random.Next(1, 4),
                < 0.85 => _random.Next(4, 21),
                _ => _random.Next(21, 101),
            },
            _ => u switch
            {
                < 0.70 => _random.Next(1, 3),
                < 0.95 => _random.Next(3, 11),
                _ => _random.Next(11, 51),
            },
        };
    }

    /// <summary>Scales the counts so they sum to <paramref name="total"/> exactly, keeping every job at 1 or more.</summary>
    private void ScaleTo(int[] counts, int total)
    {
        var factor = total / (double)counts.Sum();
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = Math.Clamp((int)Math.Round(counts[i] * factor), 1, 2_000);
        }

        var difference = total - counts.Sum();
        while (difference != 0)
        {
            var i = _random.Next(counts.Length);
            if (difference > 0 && counts[i] < 2_000)
            {
                counts[i]++;
                difference--;
            }
            else if (difference < 0 && counts[i] > 1)
            {
                counts[i]--;
                difference++;
            }
        }
    }

    private void RegisterHosts()
    {
        for (var i = 0; i < _shape.Hosts; i++)
        {
            var dedicated = i < DedicatedRoles * DedicatedHostsPerRole ? ConfigFactory.Role(i / DedicatedHostsPerRole) : null;
            _log.Execute(new SaveHostAttributes(ConfigFactory.Host(i, dedicated)), Scheduler);
            _log.Advance(Millis(50, 2_000));
        }
    }

    /// <summary>Each role gets twice its production consumption (rounded up), so updates fit.</summary>
    private void SetQuotas()
    {
        var byRole = new SortedDictionary<string, Resources>(StringComparer.Ordinal);
        foreach (var job in _jobs)
        {
            if (!byRole.TryGetValue(job.Key.Role, out var quota))
            {
                quota = new Resources { NumCpus = 10, RamMb = 10_240, DiskMb = 102_400 };
                byRole.Add(job.Key.Role, quota);
            }

            if (job.Config.Task.Tier == "preferred" && job.DedicatedRole is null)
            {
                quota.NumCpus += 2 * job.Instances * job.Config.Task.Resources.NumCpus;
                quota.RamMb += 2 * job.Instances * job.Config.Task.Resources.RamMb;
                quota.DiskMb += 2 * job.Instances * job.Config.Task.Resources.DiskMb;
            }
        }

        for (var r = 0; r < _shape.Roles; r++)
        {
            var role = ConfigFactory.Role(r);
            var quota = byRole.GetValueOrDefault(role) ?? new Resources { NumCpus = 10, RamMb = 10_240, DiskMb = 102_400 };
            quota.NumCpus = Math.Ceiling(quota.NumCpus);
            _log.Execute(new SetQuota(role, quota), "aurora-admin");
            _log.Advance(Millis(500, 5_000));
        }
    }

    /// <summary>Jobs arrive in waves of 100; the scheduler places and starts each wave's tasks.</summary>
    private void CreateJobs()
    {
        for (var wave = 0; wave < _jobs.Count; wave += 100)
        {
            foreach (var job in _jobs.Skip(wave).Take(100))
            {
                SchedulerCommand command = job.Kind == JobKind.Cron ? new ScheduleCronJob(job.Config) : new CreateJob(job.Config);
                if (_log.Execute(command, User(job.Key)) is null)
                {
                    throw new InvalidOperationException($"the generator's job {job.Key.Canonical()} was rejected");
                }

                _log.Advance(Millis(100, 3_000));
            }

            Settle(largeBatches: true);
            _log.Advance(TimeSpan.FromSeconds(_random.Next(30, 180)));
        }
    }

    private void Churn(int hour)
    {
        var services = _jobs.Where(j => j.Kind == JobKind.Service).ToList();
        var running = Sorted(_log.State.TasksIn(ScheduleStatus.Running));

        // Agents report failures; one in five belongs to a flapping instance that fails again soon after each restart.
        foreach (var task in running.Where(t => t.Config.IsService && _random.NextDouble() < 0.003))
        {
            if (_random.NextDouble() < 0.2)
            {
                _flappy.Add(InstanceKey(task));
            }

            _log.Add(new ChangeTaskState(task.TaskId, ScheduleStatus.Failed, "Process main exited with status 1", task.Host), Scheduler);
            CommitIfFull(20);
        }

        foreach (var task in running.Where(t => _random.NextDouble() < 0.0005))
        {
            _log.Add(new ChangeTaskState(task.TaskId, ScheduleStatus.Lost, "Agent lost: health check timed out", task.Host), Scheduler);
            CommitIfFull(20);
        }

        Settle(largeBatches: false);
        for (var flap = 0; flap < 3; flap++)
        {
            _log.Advance(TimeSpan.FromSeconds(_random.Next(30, 120)));
            var flapping = Sorted(_log.State.TasksIn(ScheduleStatus.Running)).Where(t => _flappy.Contains(InstanceKey(t))).ToList();
            foreach (var task in flapping)
            {
                _log.Add(new ChangeTaskState(task.TaskId, ScheduleStatus.Failed, "Process main exited with status 137", task.Host), Scheduler);
            }

            Settle(largeBatches: false);
        }

        _flappy.Clear();

        // Users restart and kill; updates roll out.
        foreach (var job in services.Where(_ => _random.NextDouble() < 0.005))
        {
            var active = _log.State.ActiveInstances(job.Key).Keys.ToList();
            if (active.Count > 0)
            {
                _log.Execute(new RestartInstances(job.Key, active.Where(_ => _random.NextDouble() < 0.5).DefaultIfEmpty(active[0]).ToList()), User(job.Key));
                _log.Advance(Millis(500, 10_000));
            }
        }

        foreach (var job in _jobs.Where(j => j.Kind != JobKind.Cron && _random.NextDouble() < 0.0005))
        {
            _log.Execute(new KillTasks(job.Key, Message: "Decommissioned"), User(job.Key));
            _log.Advance(Millis(500, 10_000));
        }

        Settle(largeBatches: false);
        foreach (var job in services.Where(_ => _random.NextDouble() < 0.002))
        {
            RollingUpdate(job);
        }

        // Batch work finishes; cron runs start and mostly finish within the hour.
        FinishSome(t => !t.Config.IsService && _log.State.FindCronJob(t.Job) is null, 0.03);
        foreach (var job in _jobs.Where(j => j.Kind == JobKind.Cron && IsDue(j, hour)))
        {
            _log.Execute(new TriggerCronJob(job.Key), "cron");
            CronTriggers++;
            _log.Advance(Millis(10, 200));
        }

        Settle(largeBatches: true);
        _log.Advance(TimeSpan.FromMinutes(_random.Next(5, 20)));
        FinishSome(t => _log.State.FindCronJob(t.Job) is not null, 0.9);

        if (hour % 24 == 6)
        {
            DrainHosts();
        }

        if (hour % 6 == 0)
        {
            _log.Execute(new PruneTaskHistory(), Scheduler);
        }

        if (hour % 24 == 0)
        {
            _log.Execute(new PruneJobUpdateHistory(), Scheduler);
        }

        _log.Advance(TimeSpan.FromMinutes(_random.Next(20, 40)));
    }

    private static bool IsDue(JobSpec job, int hour)
    {
        // "M * * * *" runs hourly; "M H * * *" daily at H (the clock starts at 08:00).
        var fields = job.Config.CronSchedule.Split(' ');
        return fields[1] == "*" || int.Parse(fields[1], CultureInfo.InvariantCulture) == (8 + hour) % 24;
    }

    /// <summary>A rolling update as Aurora's updater drives one: per group, kill the old tasks, add new ones, wait, record.</summary>
    private void RollingUpdate(JobSpec job)
    {
        var active = _log.State.ActiveInstances(job.Key);
        if (active.Count == 0 || _log.State.ActiveUpdateOf(job.Key) is not null)
        {
            return;
        }

        var version = _versions[job.Key] + 1;
        var groupSize = _random.Next(1, 6);
        var request = new JobUpdateRequest
        {
            Task = ConfigFactory.NextRelease(active.Values.First().Config, version),
            InstanceCount = active.Keys.Max() + 1,
            Settings = new JobUpdateSettings
            {
                Strategy = new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = groupSize } },
                MinWaitInInstanceRunningMs = 45_000,
                RollbackOnFailure = true,
                MaxFailedInstances = 1,
            },
        };
        request.Metadata.Add(new Metadata { Key = "deploy", Value = string.Create(CultureInfo.InvariantCulture, $"release-{version}") });
        var started = _log.Execute(new StartJobUpdate(request, "release " + version), User(job.Key));
        if (started?.Value is not JobUpdateKey key)
        {
            return;
        }

        _versions[job.Key] = version;
        Updates++;
        var instances = Ranges.Expand(_log.State.FindUpdate(key)!.Instructions.DesiredState.Instances).Order().ToList();
        foreach (var group in instances.Chunk(groupSize))
        {
            _log.Advance(Millis(100, 1_000));
            var current = _log.State.ActiveInstances(job.Key);
            foreach (var instance in group)
            {
                _log.Add(new RecordInstanceUpdate(key, instance, JobUpdateAction.InstanceUpdating), Scheduler);
                if (current.TryGetValue(instance, out var old))
                {
                    _log.Add(new ChangeTaskState(old.TaskId, ScheduleStatus.Killing, "Killed for job update."), Scheduler);
                }
            }

            _log.Advance(Millis(1_000, 10_000));
            AgentsReport(ScheduleStatus.Killing, ScheduleStatus.Killed, "Task killed by executor.", 1, 50);
            _log.Add(new CreateUpdatedInstances(key, group), Scheduler);
            Settle(largeBatches: false);
            _log.Advance(TimeSpan.FromSeconds(45));
            foreach (var instance in group)
            {
                _log.Add(new RecordInstanceUpdate(key, instance, JobUpdateAction.InstanceUpdated), Scheduler);
            }
        }

        _log.Advance(Millis(100, 1_000));
        _log.Execute(new SetJobUpdateStatus(key, JobUpdateStatus.RolledForward), Scheduler);
    }

    private void DrainHosts()
    {
        var hosts = Enumerable.Range(0, 5).Select(_ => ConfigFactory.HostName(_random.Next(DedicatedRoles * DedicatedHostsPerRole, _shape.Hosts))).Distinct().ToList();
        _log.Execute(new ChangeHostMaintenance(hosts, MaintenanceMode.Draining), "aurora-admin");
        HostsDrained += hosts.Count;
        Settle(largeBatches: false);
        _log.Advance(TimeSpan.FromMinutes(30));
        _log.Execute(new ChangeHostMaintenance(hosts, MaintenanceMode.None), "aurora-admin");
    }

    private void FinishSome(Func<TaskRecord, bool> which, double fraction)
    {
        foreach (var task in Sorted(_log.State.TasksIn(ScheduleStatus.Running)).Where(which))
        {
            if (_random.NextDouble() >= fraction)
            {
                continue;
            }

            var failed = _random.NextDouble() < 0.1;
            _log.Add(
                new ChangeTaskState(task.TaskId, failed ? ScheduleStatus.Failed : ScheduleStatus.Finished, failed ? "Process main exited with status 2" : "Task finished successfully.", task.Host),
                Scheduler);
            CommitIfFull(_random.Next(1, 200));
        }

        Settle(largeBatches: false);
    }

    /// <summary>
    /// Brings every task to rest: killed tasks are reported KILLED, throttled ones wait out their
    /// penalty, pending ones are placed, assigned ones start and run.
    /// </summary>
    private void Settle(bool largeBatches)
    {
        var max = largeBatches ? MaxStatusBatch : 50;
        for (var round = 0; round < 10; round++)
        {
            var state = _log.State;
            if (state.TasksIn(ScheduleStatus.Killing).Count + state.TasksIn(ScheduleStatus.Restarting).Count
                + state.TasksIn(ScheduleStatus.Draining).Count + state.TasksIn(ScheduleStatus.Throttled).Count
                + state.TasksIn(ScheduleStatus.Pending).Count + state.TasksIn(ScheduleStatus.Assigned).Count
                + state.TasksIn(ScheduleStatus.Starting).Count == 0)
            {
                return;
            }

            _log.Advance(Millis(1_000, 5_000));
            foreach (var status in new[] { ScheduleStatus.Killing, ScheduleStatus.Restarting, ScheduleStatus.Draining })
            {
                AgentsReport(status, ScheduleStatus.Killed, "Task killed by executor.", 1, max);
            }

            ReleaseThrottled();
            Place();
            _log.Advance(Millis(2_000, 20_000));
            AgentsReport(ScheduleStatus.Assigned, ScheduleStatus.Starting, "Initializing sandbox.", max / 4, max);
            _log.Advance(Millis(5_000, 60_000));
            AgentsReport(ScheduleStatus.Starting, ScheduleStatus.Running, null, max / 4, max);
        }
    }

    private void ReleaseThrottled()
    {
        var throttled = Sorted(_log.State.TasksIn(ScheduleStatus.Throttled));
        if (throttled.Count == 0)
        {
            return;
        }

        var due = throttled.Max(t => t.LatestEvent.TimeMicros + (t.PenaltyMs * 1000));
        var wait = due - LogWriter.MicrosOf(_log.Now);
        if (wait > 0)
        {
            _log.Advance(TimeSpan.FromMicroseconds(wait + 1_000));
        }

        foreach (var task in throttled)
        {
            _log.Add(new ChangeTaskState(task.TaskId, ScheduleStatus.Pending, "Rescheduled after flapping penalty"), Scheduler);
        }

        _log.Commit();
    }

    /// <summary>Agents' status updates, committed in batches as the scheduler's status handler does (up to 1,000 per transaction).</summary>
    private void AgentsReport(ScheduleStatus from, ScheduleStatus to, string? message, int minBatch, int maxBatch)
    {
        var tasks = Sorted(_log.State.TasksIn(from));
        var batch = _random.Next(Math.Max(1, minBatch), maxBatch + 1);
        foreach (var task in tasks)
        {
            _log.Add(new ChangeTaskState(task.TaskId, to, message, task.Host), Scheduler);
            if (_log.OpenDecisions >= batch)
            {
                _log.Advance(Millis(5, 50));
                batch = _random.Next(Math.Max(1, minBatch), maxBatch + 1);
            }
        }

        _log.Commit();
    }

    /// <summary>Placement as Aurora's TaskScheduler does it: tasks of one job, up to 5 per attempt and transaction.</summary>
    private void Place()
    {
        var pending = Sorted(_log.State.TasksIn(ScheduleStatus.Pending));
        foreach (var group in pending.GroupBy(t => t.Job))
        {
            foreach (var attempt in group.Chunk(TasksPerPlacement))
            {
                foreach (var task in attempt)
                {
                    var host = FindHost(task.Config);
                    if (host < 0)
                    {
                        continue;
                    }

                    var ports = task.Config.Resources.NamedPorts.Select((name, i) => new AssignedPort { Name = name, Port = 31_000 + (_random.Next(100) * 10) + i }).ToList();
                    _log.Add(new AssignTask(task.TaskId, ConfigFactory.AgentId(host), ConfigFactory.HostName(host), ports), Scheduler);
                }

                _log.Advance(Millis(2, 20));
            }
        }
    }

    /// <summary>The next host (in a stride that spreads a job over racks) that the real placement filter accepts.</summary>
    private int FindHost(TaskConfig config)
    {
        for (var tried = 0; tried < _shape.Hosts; tried++)
        {
            _hostCursor = (_hostCursor + 37) % _shape.Hosts;
            if (PlacementFilter.Veto(_log.State, config, ConfigFactory.HostName(_hostCursor)) is null)
            {
                return _hostCursor;
            }
        }

        return -1;
    }

    private void CommitIfFull(int size)
    {
        if (_log.OpenDecisions >= size)
        {
            _log.Advance(Millis(5, 50));
        }
    }

    private TimeSpan Millis(int min, int max) => TimeSpan.FromMilliseconds(_random.Next(min, max));

    private static string User(JobKey job) => job.Role + "-deployer";

    private static string InstanceKey(TaskRecord task) =>
        string.Create(CultureInfo.InvariantCulture, $"{task.Job.Canonical()}/{task.InstanceId}");

    private static List<TaskRecord> Sorted(IEnumerable<TaskRecord> tasks)
    {
        var list = tasks.ToList();
        list.Sort(static (a, b) => string.CompareOrdinal(a.TaskId, b.TaskId));
        return list;
    }
}
