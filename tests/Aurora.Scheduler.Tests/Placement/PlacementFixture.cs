using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Tests.Placement;

/// <summary>Hosts, offers and placement rounds for the placement tests, built only from commands.</summary>
internal static class PlacementFixture
{
    public static string Agent(string host) => "agent-" + host;

    public static Offer Offer(string host, double cpus = 8, long ramMb = 8192, long diskMb = 8192, int firstPort = 31000, int lastPort = 31009, Resources? revocable = null, long gpus = 0) =>
        new(Agent(host), host, new Resources { NumCpus = cpus, RamMb = ramMb, DiskMb = diskMb, NumGpus = gpus }, [new PortRange(firstPort, lastPort)], revocable);

    /// <summary>Saves the host's attributes (its agent id is <see cref="Agent"/>).</summary>
    public static void AddHost(this DomainHarness h, string host, params (string Name, string Value)[] attributes)
    {
        var saved = new HostAttributes { Host = host, AgentId = Agent(host) };
        foreach (var (name, value) in attributes)
        {
            saved.Attributes.Add(new Protos.Attribute { Name = name, Values = { value } });
        }

        h.Execute(new SaveHostAttributes(saved));
    }

    public static PlacementPlan Plan(this DomainHarness h, IReadOnlyList<Offer> offers, int maxAssignments = int.MaxValue, long? nowMicros = null) =>
        PlacementEngine.Plan(h.State, offers, h.Settings, nowMicros ?? h.Micros(), maxAssignments);

    /// <summary>Plans a round and commits its assignments; returns the plan.</summary>
    public static PlacementPlan PlaceAll(this DomainHarness h, IReadOnlyList<Offer> offers, int maxAssignments = int.MaxValue)
    {
        var plan = h.Plan(offers, maxAssignments);
        if (plan.Assignments.Count > 0)
        {
            var outcome = h.Commit(plan.Assignments, offers);
            Assert.Empty(outcome.Skipped);
        }

        return plan;
    }

    public static AssignmentOutcome Commit(this DomainHarness h, IReadOnlyList<Assignment> assignments, IReadOnlyList<Offer> offers) =>
        Assert.IsType<AssignmentOutcome>(h.Execute(new AssignTasks(assignments, offers)).Value);

    public static Constraint Limit(string attribute, int limit) => new() { Name = attribute, Limit = new LimitConstraint { Limit = limit } };

    public static Constraint Value(string attribute, params string[] values) => new() { Name = attribute, Value = new ValueConstraint { Values = { values } } };

    public static Constraint NotValue(string attribute, params string[] values) =>
        new() { Name = attribute, Value = new ValueConstraint { Negated = true, Values = { values } } };

    /// <summary>A job with <paramref name="instances"/> PENDING tasks of the given shape.</summary>
    public static JobKey PendingJob(this DomainHarness h, string name, int instances = 1, string tier = "preferred", double cpus = 1, long ramMb = 128,
        long diskMb = 256, string role = "www-data", int priority = 0, string[]? ports = null, params Constraint[] constraints)
    {
        var config = Configs.Job(Configs.Key(role: role, name: name), instances, tier: tier, cpus: cpus, ramMb: ramMb, diskMb: diskMb);
        config.Task.Priority = priority;
        config.Task.Constraints.AddRange(constraints);
        config.Task.Resources.NamedPorts.AddRange(ports ?? []);
        return h.CreateJobWithQuota(config);
    }

    /// <summary>Places the instance's task on the offer's agent (through AssignTask) and moves it to RUNNING.</summary>
    public static TaskRecord RunOn(this DomainHarness h, JobKey job, int instance, Offer offer)
    {
        var task = h.ActiveTask(job, instance);
        var checker = new PlacementChecker(h.State, [offer], h.Settings);
        var ports = checker.LowestFreePorts(task.Config, 0);
        h.Execute(new AssignTask(task.TaskId, offer.AgentId, offer.Host, ports, offer));
        h.Execute(new ChangeTaskState(task.TaskId, ScheduleStatus.Running, "test"));
        return task;
    }

    public static long Micros(this DomainHarness h) => Model.Micros.Of(h.Now);
}
