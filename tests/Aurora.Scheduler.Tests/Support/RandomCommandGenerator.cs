using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Validation;
using Attribute = Aurora.Scheduler.Protos.Attribute;
using Range = Aurora.Scheduler.Protos.Range;

namespace Aurora.Scheduler.Tests.Support;

/// <summary>A host of the random cluster; its <c>dedicated</c> value never changes (see <see cref="RandomCommandGenerator"/>).</summary>
public sealed record ClusterHost(string Name, string Rack, string? Dedicated);

/// <summary>
/// Plausible commands against a small cluster: three roles (one with ample quota, one with little,
/// one with none), six hosts on three racks (two of them dedicated) plus one no agent ever
/// advertised, and jobs of every kind — services, ad-hoc and cron jobs, production and
/// preemptible, with dedicated, value and limit constraints. Targets are picked from what the state
/// holds (pending tasks, active instances, updates, cron jobs), and a share of every kind of command
/// is meant to be refused: illegal transitions, vetoed hosts, bad configurations, exceeded quota.
/// </summary>
/// <remarks>
/// Deterministic for a given <see cref="Random"/>: every choice picks from lists sorted by a
/// stable key, never from hash-set order, so the same seed against the same states issues the same
/// commands. Every command gets fresh protobuf objects, because decisions put them into events and
/// Apply keeps them. A host's <c>dedicated</c> attribute is fixed for the whole run (re-advertising
/// changes only its rack): Aurora does not evict tasks when a host becomes dedicated, so the
/// dedicated-host invariant is only meaningful while dedication is a fixed property of the host.
/// Used by one test on one thread.
/// </remarks>
public sealed class RandomCommandGenerator
{
    public const string AlphaDedicated = "alpha/db";
    public const string SharedDedicated = "*/shared";
    public const string UnknownHost = "host-x";

    public static readonly IReadOnlyList<string> Roles = ["alpha", "beta", "gamma"];

    public static readonly IReadOnlyList<ClusterHost> Hosts =
    [
        new("host-a", "r1", null),
        new("host-b", "r1", null),
        new("host-c", "r2", null),
        new("host-d", "r2", null),
        new("host-e", "r3", AlphaDedicated),
        new("host-f", "r3", SharedDedicated),
    ];

    /// <summary>Every host a command may name, including one without attributes.</summary>
    public static readonly IReadOnlyList<string> HostNames = [.. Hosts.Select(h => h.Name), UnknownHost];

    private static readonly string[] Names = ["web", "api", "batch", "nightly"];
    private static readonly string[] Racks = ["r1", "r2", "r3"];
    private static readonly ScheduleStatus[] AnyStatus = [.. Enum.GetValues<ScheduleStatus>()];
    private static readonly JobUpdateStatus[] AnyUpdateStatus = [.. Enum.GetValues<JobUpdateStatus>()];

    private readonly Random _random;
    private readonly Func<SchedulerSnapshot>? _earlierState;
    private readonly (double Weight, Func<SchedulerState, SchedulerCommand> Make)[] _table;
    private readonly double _totalWeight;
    private int _counter;

    /// <param name="random">The only source of choices.</param>
    /// <param name="earlierState">A snapshot of some earlier state, for staged recoveries; none when null.</param>
    public RandomCommandGenerator(Random random, Func<SchedulerSnapshot>? earlierState = null)
    {
        _random = random;
        _earlierState = earlierState;
        _table =
        [
            (8, CreateJob),
            (3, ScheduleCron),
            (1, DescheduleCron),
            (4, TriggerCron),
            (4, KillTasks),
            (3, RestartInstances),
            (3, AddInstances),
            (18, AssignTask),
            (22, ChangeTaskState),
            (2, ForceTaskState),
            (5, StartJobUpdate),
            (3, ChangeJobUpdate),
            (3, SetJobUpdateStatus),
            (2, RecordInstanceUpdate),
            (1, PulseJobUpdate),
            (3, SetQuota),
            (2, SaveHostAttributes),
            (3, ChangeHostMaintenance),
            (2, _ => new PruneTaskHistory()),
            (1, _ => new PruneJobUpdateHistory()),
            (2, PruneTasks),
            (0.5, SaveFrameworkId),
            (0.5, RecordSnapshot),
            (_earlierState is null ? 0 : 0.3, CommitRecovery),
        ];
        _totalWeight = _table.Sum(e => e.Weight);
    }

    /// <summary>The cluster every run starts from: quotas (ample, small, zero) and advertised hosts.</summary>
    public static IEnumerable<SchedulerCommand> Setup()
    {
        yield return new SetQuota("alpha", Configs.Quota(6, 4096, 4096));
        yield return new SetQuota("beta", Configs.Quota(2, 512, 1024));
        yield return new SetQuota("gamma", Configs.Quota(0, 0, 0));
        foreach (var host in Hosts)
        {
            yield return new SaveHostAttributes(Attributes(host, host.Rack));
        }
    }

    public SchedulerCommand Next(SchedulerState state)
    {
        var roll = _random.NextDouble() * _totalWeight;
        foreach (var (weight, make) in _table)
        {
            if (roll < weight)
            {
                return make(state);
            }

            roll -= weight;
        }

        return _table[0].Make(state);
    }

    /// <summary>How far the clock moves before the next command: mostly seconds, sometimes hours (so pruning and flapping windows pass).</summary>
    public TimeSpan NextPause() => _random.Next(40) switch
    {
        < 12 => TimeSpan.Zero,
        < 32 => TimeSpan.FromSeconds(_random.Next(1, 90)),
        < 39 => TimeSpan.FromMinutes(_random.Next(1, 30)),
        _ => TimeSpan.FromHours(_random.Next(1, 4)),
    };

    private static HostAttributes Attributes(ClusterHost host, string rack)
    {
        var attributes = new HostAttributes
        {
            Host = host.Name,
            AgentId = "agent-" + host.Name,
            Attributes =
            {
                new Attribute { Name = "host", Values = { host.Name } },
                new Attribute { Name = "rack", Values = { rack } },
            },
        };
        if (host.Dedicated is not null)
        {
            attributes.Attributes.Add(new Attribute { Name = ConfigurationValidator.DedicatedAttribute, Values = { host.Dedicated } });
        }

        return attributes;
    }

    private SchedulerCommand CreateJob(SchedulerState state)
    {
        var key = AnyKey(state);
        var kind = _random.Next(20);
        var config = kind switch
        {
            < 9 => Job(key, service: true),
            < 18 => Job(key, service: false),
            _ => Cron(key),
        };
        return new CreateJob(config);
    }

    private SchedulerCommand ScheduleCron(SchedulerState state)
    {
        var existing = SortedCronJobs(state);
        var key = existing.Count > 0 && Chance(0.5) ? Pick(existing).Job.Clone() : RandomKey();
        return new ScheduleCronJob(Cron(key), MustExist: Chance(0.2));
    }

    private SchedulerCommand DescheduleCron(SchedulerState state)
    {
        var existing = SortedCronJobs(state);
        return new DescheduleCronJob(existing.Count > 0 && Chance(0.85) ? Pick(existing).Job.Clone() : RandomKey());
    }

    private SchedulerCommand TriggerCron(SchedulerState state)
    {
        var existing = SortedCronJobs(state);
        return new TriggerCronJob(existing.Count > 0 && Chance(0.9) ? Pick(existing).Job.Clone() : RandomKey());
    }

    private SchedulerCommand KillTasks(SchedulerState state)
    {
        var job = AnyKey(state);
        IReadOnlyCollection<int>? instances = Chance(0.5) ? null : Subset([0, 1, 2, 3, 4]);
        return new KillTasks(job, instances, Chance(0.5) ? "operator says so" : null);
    }

    private SchedulerCommand RestartInstances(SchedulerState state)
    {
        var job = AnyKey(state);
        var active = state.ActiveInstances(job).Keys.ToList();
        var instances = active.Count > 0 && Chance(0.8) ? Subset(active) : Subset([0, 1, 5]);
        return new RestartInstances(job, instances);
    }

    private SchedulerCommand AddInstances(SchedulerState state)
    {
        var job = AnyKey(state);
        var active = state.ActiveInstances(job).Keys.ToList();
        var template = active.Count > 0 && Chance(0.85) ? Pick(active) : 7;
        return new AddInstances(job, template, Chance(0.03) ? 0 : _random.Next(1, 3));
    }

    private SchedulerCommand AssignTask(SchedulerState state)
    {
        var pending = SortedTasks(state, t => t.Status == ScheduleStatus.Pending);
        if (pending.Count == 0)
        {
            return Chance(0.5) ? CreateJob(state) : TriggerCron(state);
        }

        var task = Pick(pending);
        var fitting = HostNames.Where(h => PlacementFilter.Veto(state, task.Config, h) is null).ToList();
        var host = fitting.Count > 0 && Chance(0.75) ? Pick(fitting) : Pick(HostNames);
        var ports = task.Config.Resources.NamedPorts
            .Select((name, i) => new AssignedPort { Name = name, Port = 31000 + (i * 10) + _random.Next(10) })
            .ToList();
        if (Chance(0.04))
        {
            ports.Add(new AssignedPort { Name = "extra", Port = 32000 });
        }

        return new AssignTask(task.TaskId, "agent-" + host, host, ports);
    }

    private SchedulerCommand ChangeTaskState(SchedulerState state)
    {
        var tasks = Chance(0.85) ? SortedTasks(state, t => t.IsActive) : SortedTasks(state, _ => true);
        if (tasks.Count == 0)
        {
            return CreateJob(state);
        }

        var task = Pick(tasks);
        var to = Chance(0.75) ? NaturalNext(task.Status) : Pick(AnyStatus);
        return new ChangeTaskState(task.TaskId, to, Chance(0.5) ? "reported" : null, Chance(0.5) ? task.Host : null);
    }

    private SchedulerCommand ForceTaskState(SchedulerState state)
    {
        var tasks = SortedTasks(state, _ => true);
        if (tasks.Count == 0)
        {
            return new ForceTaskState("no-such-task", ScheduleStatus.Killed);
        }

        var task = Pick(tasks);
        return new ForceTaskState(task.TaskId, Chance(0.6) ? NaturalNext(task.Status) : Pick(AnyStatus));
    }

    /// <summary>A status an agent or timeout would plausibly report next (legal or not for this task).</summary>
    private ScheduleStatus NaturalNext(ScheduleStatus status) => status switch
    {
        ScheduleStatus.Pending => ScheduleStatus.Killing,
        ScheduleStatus.Throttled => Pick([ScheduleStatus.Pending, ScheduleStatus.Pending, ScheduleStatus.Killing]),
        ScheduleStatus.Assigned => Pick([ScheduleStatus.Starting, ScheduleStatus.Running, ScheduleStatus.Lost, ScheduleStatus.Failed]),
        ScheduleStatus.Starting => Pick([ScheduleStatus.Running, ScheduleStatus.Running, ScheduleStatus.Failed, ScheduleStatus.Lost]),
        ScheduleStatus.Running => Pick([
            ScheduleStatus.Finished, ScheduleStatus.Failed, ScheduleStatus.Killed, ScheduleStatus.Lost,
            ScheduleStatus.Partitioned, ScheduleStatus.Preempting, ScheduleStatus.Draining]),
        ScheduleStatus.Killing or ScheduleStatus.Restarting or ScheduleStatus.Draining or ScheduleStatus.Preempting =>
            Pick([ScheduleStatus.Killed, ScheduleStatus.Killed, ScheduleStatus.Lost, ScheduleStatus.Finished, ScheduleStatus.Partitioned]),
        ScheduleStatus.Partitioned => Pick([ScheduleStatus.Running, ScheduleStatus.Lost, ScheduleStatus.Failed, ScheduleStatus.Killing]),
        _ => Pick([ScheduleStatus.Running, ScheduleStatus.Killed]),
    };

    private SchedulerCommand StartJobUpdate(SchedulerState state)
    {
        var job = AnyKey(state);
        var active = state.ActiveInstances(job);
        TaskConfig task;
        if (active.Count > 0 && Chance(0.8))
        {
            // A clone: the active task's configuration is the state's own (shared) object.
            task = active.Values.First().Config.Clone();
            switch (_random.Next(5))
            {
                case 0:
                    break;
                case 1:
                    task.Resources.NumCpus = Pick([0.25, 0.5, 1.0, 2.0]);
                    break;
                case 2:
                    task.Tier = task.Production ? "preemptible" : "preferred";
                    break;
                default:
                    task.Processes[0].Cmdline = "./serve --generation " + _random.Next(100);
                    break;
            }
        }
        else
        {
            task = Task(job, service: Chance(0.93));
        }

        var count = active.Count > 0 ? Math.Max(1, active.Count + _random.Next(-1, 2)) : _random.Next(1, 4);
        var settings = new JobUpdateSettings
        {
            MaxPerInstanceFailures = _random.Next(0, 3),
            MaxFailedInstances = _random.Next(0, 3),
            MinWaitInInstanceRunningMs = Pick([0L, 30000L]),
            RollbackOnFailure = Chance(0.5),
            BlockIfNoPulsesAfterMs = Chance(0.2) ? 60000 : 0,
            Strategy = _random.Next(3) switch
            {
                0 => new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = _random.Next(1, 3) } },
                1 => new JobUpdateStrategy { Batch = new BatchStrategy { GroupSize = _random.Next(1, 3), AutopauseAfterBatch = Chance(0.3) } },
                _ => new JobUpdateStrategy { VariableBatch = new VariableBatchStrategy { GroupSizes = { 1, 2 } } },
            },
        };
        if (Chance(0.15))
        {
            settings.UpdateOnlyTheseInstances.Add(new Range { First = 0, Last = _random.Next(0, 2) });
        }

        var request = new JobUpdateRequest { Task = task, InstanceCount = Chance(0.03) ? 0 : count, Settings = settings };
        if (Chance(0.3))
        {
            request.Metadata.Add(new Metadata { Key = "ticket", Value = "T-" + _random.Next(1000) });
        }

        return new StartJobUpdate(request, Chance(0.5) ? "rolling out" : null);
    }

    private SchedulerCommand ChangeJobUpdate(SchedulerState state) =>
        new ChangeJobUpdate(AnyUpdateKey(state), Pick(Enum.GetValues<JobUpdateUserAction>()), Chance(0.5) ? "by hand" : null);

    private SchedulerCommand SetJobUpdateStatus(SchedulerState state) =>
        new SetJobUpdateStatus(AnyUpdateKey(state), Pick(AnyUpdateStatus), Chance(0.5) ? "engine" : null);

    private SchedulerCommand RecordInstanceUpdate(SchedulerState state) =>
        new RecordInstanceUpdate(AnyUpdateKey(state), _random.Next(0, 4), (JobUpdateAction)_random.Next(1, 7), Chance(0.5) ? "instance" : null);

    private SchedulerCommand PulseJobUpdate(SchedulerState state) => new PulseJobUpdate(AnyUpdateKey(state));

    private SchedulerCommand SetQuota(SchedulerState state)
    {
        var role = Chance(0.03) ? "no such role" : Pick(Roles);
        var quota = _random.Next(20) switch
        {
            < 10 => Configs.Quota(_random.Next(4, 11), _random.Next(2, 9) * 1024L, _random.Next(2, 9) * 1024L),
            < 16 => Configs.Quota(_random.Next(1, 5) * 0.5, _random.Next(1, 5) * 256L, _random.Next(1, 5) * 256L),
            < 19 => Configs.Quota(0, 0, 0),
            _ => Configs.Quota(-1, 128, 128),
        };
        return new SetQuota(role, quota);
    }

    private SchedulerCommand SaveHostAttributes(SchedulerState state)
    {
        if (Chance(0.1))
        {
            var unknown = new HostAttributes { Host = UnknownHost, AgentId = "agent-" + UnknownHost };
            unknown.Attributes.Add(new Attribute { Name = "rack", Values = { Pick(Racks) } });
            return new SaveHostAttributes(unknown);
        }

        var attributes = Attributes(Pick(Hosts), Pick(Racks));
        if (Chance(0.05))
        {
            attributes.Attributes.Add(new Attribute { Name = string.Empty, Values = { "x" } });
        }

        return new SaveHostAttributes(attributes);
    }

    private SchedulerCommand ChangeHostMaintenance(SchedulerState state)
    {
        var hosts = Subset(HostNames);
        var mode = _random.Next(20) switch
        {
            < 6 => MaintenanceMode.None,
            < 10 => MaintenanceMode.Scheduled,
            < 19 => MaintenanceMode.Draining,
            _ => MaintenanceMode.Drained,
        };
        var request = Chance(0.6)
            ? null
            : new HostMaintenanceRequest
            {
                DefaultSlaPolicy = new SlaPolicy { Count = new CountSlaPolicy { Count = 1, DurationSecs = 60 } },
                TimeoutSecs = 600,
            };
        return new ChangeHostMaintenance(hosts, mode, request);
    }

    private SchedulerCommand PruneTasks(SchedulerState state)
    {
        var candidates = Chance(0.8) ? SortedTasks(state, t => t.IsTerminal) : SortedTasks(state, _ => true);
        return new PruneTasks(candidates.Count == 0 ? ["no-such-task"] : Subset(candidates.Select(t => t.TaskId).ToList()));
    }

    private SchedulerCommand SaveFrameworkId(SchedulerState state) =>
        new SaveFrameworkId(Chance(0.1) ? " " : "framework-" + _random.Next(5));

    private SchedulerCommand RecordSnapshot(SchedulerState state) => new RecordSnapshot((ulong)_random.Next(1, 1000), state.StateHash());

    private SchedulerCommand CommitRecovery(SchedulerState state) =>
        new CommitRecovery("backup-" + _counter++, (ulong)_random.Next(1, 1000), _earlierState!());

    private JobConfiguration Job(JobKey key, bool service) => new()
    {
        Key = key,
        InstanceCount = Chance(0.03) ? 0 : _random.Next(1, 5),
        Task = Chance(0.1) ? TaskWithoutKey(key, service) : Task(key, service),
    };

    private JobConfiguration Cron(JobKey key)
    {
        var config = Job(key, service: Chance(0.04));
        config.CronSchedule = Chance(0.05) ? "every full moon" : Pick(["*/5 * * * *", "0 * * * *"]);
        config.CronCollisionPolicy = _random.Next(20) switch
        {
            < 10 => CronCollisionPolicy.KillExisting,
            < 19 => CronCollisionPolicy.CancelNew,
            _ => CronCollisionPolicy.RunOverlap,
        };
        return config;
    }

    private TaskConfig TaskWithoutKey(JobKey key, bool service)
    {
        var task = Task(key, service);
        task.Job = null;
        return task;
    }

    private TaskConfig Task(JobKey job, bool service)
    {
        var production = Chance(0.55);
        var task = new TaskConfig
        {
            Job = job.Clone(),
            IsService = service,
            Tier = production ? "preferred" : Pick(["preemptible", string.Empty, "revocable"]),
            MaxTaskFailures = Pick([-1, 0, 1, 2, 3]),
            Resources = new Resources
            {
                // Exact binary fractions: sums are exact, so quota comparisons never hinge on rounding.
                NumCpus = Chance(0.03) ? 0 : Pick([0.25, 0.5, 1.0, 2.0]),
                RamMb = Pick([64L, 128L, 256L]),
                DiskMb = Pick([64L, 128L]),
            },
            Processes = { new Process { Name = "main", Cmdline = Pick(["./serve", "./batch --once", "sleep 60"]) } },
        };
        if (Chance(0.3))
        {
            task.Resources.NamedPorts.Add("http");
        }

        if (Chance(0.2))
        {
            // Alpha's own pool, the shared pool, and now and then alpha's pool for another role (refused).
            var value = job.Role == "alpha" && Chance(0.6) ? AlphaDedicated : Chance(0.85) ? SharedDedicated : AlphaDedicated;
            task.Constraints.Add(new Constraint { Name = ConfigurationValidator.DedicatedAttribute, Value = new ValueConstraint { Values = { value } } });
        }

        if (Chance(0.2))
        {
            task.Constraints.Add(new Constraint { Name = "rack", Value = new ValueConstraint { Negated = Chance(0.3), Values = { Pick(Racks) } } });
        }

        if (Chance(0.15))
        {
            task.Constraints.Add(new Constraint { Name = Pick(["rack", "host"]), Limit = new LimitConstraint { Limit = _random.Next(1, 3) } });
        }

        if (Chance(0.1))
        {
            task.Metadata.Add(new Metadata { Key = "owner", Value = "team-" + _random.Next(3) });
        }

        return task;
    }

    /// <summary>A job key: mostly one the state knows, otherwise any from the pool (a few with a disallowed environment).</summary>
    private JobKey AnyKey(SchedulerState state)
    {
        var known = state.JobKeys.OrderBy(k => k.Canonical(), StringComparer.Ordinal).ToList();
        return known.Count > 0 && Chance(0.6) ? Pick(known).Clone() : RandomKey();
    }

    private JobKey RandomKey()
    {
        var environment = _random.Next(40) switch
        {
            < 33 => "prod",
            < 39 => "devel",
            _ => "sandbox",
        };
        return JobKeys.Create(Pick(Roles), environment, Pick(Names));
    }

    private JobUpdateKey AnyUpdateKey(SchedulerState state)
    {
        var updates = state.Updates
            .OrderBy(u => u.Job.Canonical(), StringComparer.Ordinal).ThenBy(u => u.Key.Id, StringComparer.Ordinal)
            .ToList();
        var active = updates.Where(u => u.IsActive).ToList();
        if (active.Count > 0 && Chance(0.7))
        {
            return Pick(active).Key.Clone();
        }

        return updates.Count > 0 && Chance(0.9)
            ? Pick(updates).Key.Clone()
            : new JobUpdateKey { Job = RandomKey(), Id = "no-such-update" };
    }

    private static List<CronJobRecord> SortedCronJobs(SchedulerState state) =>
        state.CronJobs.OrderBy(c => c.Job.Canonical(), StringComparer.Ordinal).ToList();

    private static List<TaskRecord> SortedTasks(SchedulerState state, Func<TaskRecord, bool> where) =>
        state.Tasks.Where(where).OrderBy(t => t.TaskId, StringComparer.Ordinal).ToList();

    private List<T> Subset<T>(IReadOnlyList<T> items)
    {
        var subset = items.Where(_ => Chance(0.5)).ToList();
        return subset.Count > 0 ? subset : [Pick(items)];
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    private bool Chance(double probability) => _random.NextDouble() < probability;
}
