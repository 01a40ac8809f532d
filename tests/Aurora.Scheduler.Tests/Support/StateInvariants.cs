using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Validation;

namespace Aurora.Scheduler.Tests.Support;

/// <summary>
/// What must hold of every state the domain can reach, checked against the state's public
/// queries and indexes. Each check fails with what it found.
/// </summary>
public static class StateInvariants
{
    /// <summary>Every invariant below.</summary>
    public static void AssertHold(SchedulerState state)
    {
        StatusIndexesPartitionTheTasks(state);
        AtMostOneActiveTaskPerInstance(state);
        JobIndexesMatchTheTasks(state);
        HostIndexHoldsExactlyTheAgentAssignedTasks(state);
        AgentAssignedTasksHaveAHost(state);
        DedicatedHostsRunOnlyTheirOwnTasks(state);
        AtMostOneActiveUpdatePerJob(state);
        ProductionConsumptionWithinQuota(state);
        ConsumptionCountsEveryActiveUpdateOfTheRole(state);
    }

    /// <summary>Every task is in exactly one status index, the one of its status.</summary>
    public static void StatusIndexesPartitionTheTasks(SchedulerState state)
    {
        var seen = new Dictionary<string, ScheduleStatus>(StringComparer.Ordinal);
        foreach (var status in Enum.GetValues<ScheduleStatus>())
        {
            foreach (var task in state.TasksIn(status))
            {
                if (!seen.TryAdd(task.TaskId, status))
                {
                    Assert.Fail($"Task {task.TaskId} is indexed under both {seen[task.TaskId]} and {status}.");
                }

                if (task.Status != status)
                {
                    Assert.Fail($"Task {task.TaskId} is {task.Status} but indexed under {status}.");
                }

                if (!ReferenceEquals(state.FindTask(task.TaskId), task))
                {
                    Assert.Fail($"Task {task.TaskId} is in the {status} index but not in the store.");
                }
            }
        }

        Assert.Equal(state.TaskCount, seen.Count);
        foreach (var task in state.Tasks)
        {
            if (!seen.ContainsKey(task.TaskId))
            {
                Assert.Fail($"Task {task.TaskId} ({task.Status}) is in no status index.");
            }
        }
    }

    public static void AtMostOneActiveTaskPerInstance(SchedulerState state)
    {
        foreach (var group in state.Tasks.Where(t => t.IsActive).GroupBy(t => (t.Job, t.InstanceId)))
        {
            if (group.Count() > 1)
            {
                Assert.Fail($"Instance {group.Key.Job.Canonical()}/{group.Key.InstanceId} has {group.Count()} active tasks: {string.Join(", ", group)}.");
            }
        }
    }

    /// <summary>TasksOf, JobsOfRole and JobExists agree with the tasks and cron templates.</summary>
    public static void JobIndexesMatchTheTasks(SchedulerState state)
    {
        foreach (var task in state.Tasks)
        {
            if (!state.TasksOf(task.Job).Contains(task) || !state.JobsOfRole(task.Job.Role).Contains(task.Job))
            {
                Assert.Fail($"Task {task.TaskId} is missing from the index of job {task.Job.Canonical()} or of its role.");
            }
        }

        foreach (var cron in state.CronJobs)
        {
            Assert.Contains(cron.Job, state.JobsOfRole(cron.Job.Role));
        }

        foreach (var role in state.Roles)
        {
            Assert.NotEmpty(state.JobsOfRole(role));
            foreach (var job in state.JobsOfRole(role))
            {
                Assert.True(state.JobExists(job), $"Role {role} lists job {job.Canonical()}, which has no tasks and no cron template.");
                Assert.All(state.TasksOf(job), t => Assert.Equal(job, t.Job));
            }
        }
    }

    /// <summary>A task is in TasksOnHost(host) exactly when it is on that host in an agent-assigned (SLAVE_ASSIGNED) status.</summary>
    public static void HostIndexHoldsExactlyTheAgentAssignedTasks(SchedulerState state)
    {
        var hosts = state.Hosts.Select(h => h.Host).Concat(state.Tasks.Select(t => t.Host).OfType<string>()).Distinct(StringComparer.Ordinal);
        foreach (var host in hosts)
        {
            foreach (var task in state.TasksOnHost(host))
            {
                if (task.Host != host || !TaskStatuses.IsAgentAssigned(task.Status) || !ReferenceEquals(state.FindTask(task.TaskId), task))
                {
                    Assert.Fail($"TasksOnHost({host}) holds {task.TaskId}, which is {task.Status} on {task.Host ?? "no host"}.");
                }
            }
        }

        foreach (var task in state.Tasks.Where(t => t.Host is not null))
        {
            var indexed = state.TasksOnHost(task.Host!).Contains(task);
            if (indexed != TaskStatuses.IsAgentAssigned(task.Status))
            {
                Assert.Fail($"Task {task.TaskId} is {task.Status} on {task.Host} but {(indexed ? "is" : "is not")} in TasksOnHost({task.Host}).");
            }
        }
    }

    /// <summary>A task holding resources on an agent knows which host that is (only an assignment puts a task there).</summary>
    public static void AgentAssignedTasksHaveAHost(SchedulerState state)
    {
        foreach (var task in state.Tasks.Where(t => TaskStatuses.IsAgentAssigned(t.Status)))
        {
            if (task.Host is null || task.AgentId is null)
            {
                Assert.Fail($"Task {task.TaskId} is {task.Status} without a host or agent.");
            }
        }
    }

    /// <summary>
    /// No task holds resources on a host with a <c>dedicated</c> attribute unless its configuration has
    /// a dedicated constraint matching the host's value. Holds while hosts keep their dedication
    /// (see <see cref="RandomCommandGenerator"/>): the check is made at placement.
    /// </summary>
    public static void DedicatedHostsRunOnlyTheirOwnTasks(SchedulerState state)
    {
        foreach (var task in state.Tasks.Where(t => t.Host is not null && TaskStatuses.IsAgentAssigned(t.Status)))
        {
            var dedicated = state.FindHost(task.Host!)?.AttributeValues(ConfigurationValidator.DedicatedAttribute).ToHashSet(StringComparer.Ordinal) ?? [];
            if (dedicated.Count == 0)
            {
                continue;
            }

            var constraint = task.Config.Constraints.FirstOrDefault(c => c.Name == ConfigurationValidator.DedicatedAttribute);
            var matches = constraint?.KindCase == Constraint.KindOneofCase.Value
                && constraint.Value.Values.Any(dedicated.Contains) != constraint.Value.Negated;
            if (!matches)
            {
                Assert.Fail($"Task {task.TaskId} ({task.Status}, constraints [{string.Join(", ", task.Config.Constraints)}]) is on {task.Host}, dedicated to [{string.Join(", ", dedicated)}].");
            }
        }
    }

    /// <summary>At most one active update per job, and ActiveUpdateOf / ActiveUpdates / UpdatesOf name exactly those.</summary>
    public static void AtMostOneActiveUpdatePerJob(SchedulerState state)
    {
        var active = state.Updates.Where(u => u.IsActive).ToList();
        foreach (var group in active.GroupBy(u => u.Job))
        {
            if (group.Count() > 1)
            {
                Assert.Fail($"Job {group.Key.Canonical()} has {group.Count()} active updates: {string.Join(", ", group.Select(u => u.Key.Id))}.");
            }

            Assert.Same(group.Single(), state.ActiveUpdateOf(group.Key));
        }

        Assert.Equal(active.Count, state.ActiveUpdates.Count);
        foreach (var update in state.ActiveUpdates)
        {
            Assert.True(update.IsActive, $"ActiveUpdates holds {update.Key.Id}, which is {update.Status}.");
            Assert.Same(update, state.FindUpdate(update.Key));
        }

        foreach (var job in state.Updates.Select(u => u.Job).Distinct())
        {
            if (!active.Any(u => u.Job.Equals(job)))
            {
                Assert.Null(state.ActiveUpdateOf(job));
            }

            var ofJob = state.Updates.Where(u => u.Job.Equals(job)).ToHashSet();
            Assert.True(ofJob.SetEquals(state.UpdatesOf(job)), $"UpdatesOf({job.Canonical()}) differs from the updates of that job.");
        }
    }

    /// <summary>
    /// The production, non-dedicated consumption the quota calculator reports never exceeds the
    /// role's quota. Why this holds after every command, not only after the quota-checked ones
    /// (create, add instances, start update, schedule cron, set quota): the unchecked paths never
    /// grow consumption. A reschedule replaces a task that just left the active states with one of
    /// the same configuration; a cron trigger launches the template, which is already counted at
    /// max(template, running); a deferred cron launch waits until no task is active; an update's
    /// touched instances are counted at max(old, new) while it is active and it creates no tasks
    /// here; task transitions, kills and pruning only shrink it; a recovery restores a state that
    /// held the invariant. The tolerance is the quota check's own (for fractional CPUs).
    /// </summary>
    public static void ProductionConsumptionWithinQuota(SchedulerState state)
    {
        foreach (var role in RolesOf(state))
        {
            var use = QuotaCalculator.Consumption(state, role).ProdShared;
            var excess = ResourceMath.Excess(use, state.QuotaOf(role));
            if (excess is not null)
            {
                Assert.Fail($"Role {role} uses {ResourceMath.Describe(use)} of its quota {ResourceMath.Describe(state.QuotaOf(role))}: {excess}.");
            }
        }
    }

    /// <summary>
    /// Aurora's QuotaManager counts a role's active updates whatever tasks their jobs have
    /// (<c>fetchActiveJobUpdates(role)</c>): the quota an update reserved for a job without tasks yet
    /// must be counted too, or another job can take it.
    /// </summary>
    public static void ConsumptionCountsEveryActiveUpdateOfTheRole(SchedulerState state)
    {
        foreach (var role in RolesOf(state))
        {
            var reported = QuotaCalculator.Consumption(state, role).ProdShared;
            var reference = AuroraProdSharedConsumption(state, role);
            if (ResourceMath.Excess(reference, reported) is not null || ResourceMath.Excess(reported, reference) is not null)
            {
                Assert.Fail($"Role {role}: the quota calculator reports {ResourceMath.Describe(reported)}, Aurora counts {ResourceMath.Describe(reference)}.");
            }

            var excess = ResourceMath.Excess(reference, state.QuotaOf(role));
            if (excess is not null)
            {
                Assert.Fail($"Role {role} uses {ResourceMath.Describe(reference)} (Aurora's count) of its quota {ResourceMath.Describe(state.QuotaOf(role))}: {excess}.");
            }
        }
    }

    /// <summary>
    /// Production, non-dedicated consumption as Aurora's QuotaManager computes it, written out
    /// independently: active tasks of non-cron jobs outside their job's active update; per active
    /// update of the role, max(initial, desired) per resource; per cron template, max(template x
    /// instances, active tasks).
    /// </summary>
    public static Resources AuroraProdSharedConsumption(SchedulerState state, string role)
    {
        static bool Counted(TaskConfig config) => config.Production && !ConfigurationValidator.IsDedicated(config);
        static Resources Times(TaskConfig config, long n) => Counted(config) ? ResourceMath.Scale(config.Resources, n) : new Resources();

        var total = new Resources();
        var crons = state.CronJobs.Where(c => c.Job.Role == role).ToDictionary(c => c.Job);
        var updates = state.ActiveUpdates.Where(u => u.Job.Role == role).ToDictionary(u => u.Job);
        foreach (var task in state.Tasks.Where(t => t.IsActive && t.Job.Role == role && !crons.ContainsKey(t.Job)))
        {
            if (updates.TryGetValue(task.Job, out var update) && Touches(update.Instructions, task.InstanceId))
            {
                continue;
            }

            total = ResourceMath.Add(total, Times(task.Config, 1));
        }

        foreach (var update in updates.Values)
        {
            var initial = new Resources();
            foreach (var group in update.Instructions.InitialState)
            {
                initial = ResourceMath.Add(initial, Times(group.Task, Count(group.Instances)));
            }

            var desired = update.Instructions.DesiredState is { } d ? Times(d.Task, Count(d.Instances)) : new Resources();
            total = ResourceMath.Add(total, ResourceMath.Max(initial, desired));
        }

        foreach (var cron in crons.Values)
        {
            var running = new Resources();
            foreach (var task in state.TasksOf(cron.Job).Where(t => t.IsActive))
            {
                running = ResourceMath.Add(running, Times(task.Config, 1));
            }

            total = ResourceMath.Add(total, ResourceMath.Max(Times(cron.Config.Task, cron.Config.InstanceCount), running));
        }

        return total;
    }

    /// <summary>Checks made right after a successful assignment: the host passed every veto at that moment.</summary>
    public static void AssignmentRespectedPlacement(SchedulerState state, AssignTask assign)
    {
        var task = state.FindTask(assign.TaskId) ?? throw new InvalidOperationException($"Assigned task {assign.TaskId} is gone.");
        Assert.Equal(ScheduleStatus.Assigned, task.Status);
        Assert.Equal(assign.Host, task.Host);
        var host = state.FindHost(assign.Host);
        Assert.False(host?.Mode is MaintenanceMode.Draining or MaintenanceMode.Drained, $"Task {task.TaskId} was placed on {assign.Host}, which is {host?.Mode}.");
        foreach (var constraint in task.Config.Constraints)
        {
            var values = host?.AttributeValues(constraint.Name).ToList() ?? [];
            if (constraint.KindCase == Constraint.KindOneofCase.Value)
            {
                Assert.True(constraint.Value.Values.Any(values.Contains) != constraint.Value.Negated, $"Task {task.TaskId} on {assign.Host} violates {constraint}.");
            }
            else
            {
                Assert.NotEmpty(values);
                foreach (var value in values)
                {
                    // The new task included: the limit counts the job's tasks holding resources on hosts with this value.
                    var count = state.TasksOf(task.Job).Count(t => t.Host is not null && TaskStatuses.IsAgentAssigned(t.Status)
                        && state.FindHost(t.Host)?.AttributeValues(constraint.Name).Contains(value) == true);
                    Assert.True(count <= constraint.Limit.Limit, $"Task {task.TaskId} on {assign.Host} makes {count} tasks of the job on {constraint.Name}={value}, over the limit {constraint.Limit.Limit}.");
                }
            }
        }
    }

    private static IEnumerable<string> RolesOf(SchedulerState state) =>
        RandomCommandGenerator.Roles.Concat(state.Roles).Concat(state.Quotas.Keys).Concat(state.Updates.Select(u => u.Job.Role)).Distinct(StringComparer.Ordinal);

    private static bool Touches(JobUpdateInstructions instructions, int instance) =>
        instructions.InitialState.Any(g => Contains(g.Instances, instance))
        || (instructions.DesiredState is { } d && Contains(d.Instances, instance));

    private static bool Contains(IEnumerable<Protos.Range> ranges, int instance) => ranges.Any(r => r.First <= instance && instance <= r.Last);

    private static long Count(IEnumerable<Protos.Range> ranges) => ranges.Sum(r => (long)r.Last - r.First + 1);
}
