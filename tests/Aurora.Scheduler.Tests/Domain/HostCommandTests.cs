using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using static Aurora.Scheduler.Protos.ScheduleStatus;

namespace Aurora.Scheduler.Tests.Domain;

/// <summary>Host attributes, maintenance (drain) and the placement vetoes AssignTask enforces.</summary>
public class HostCommandTests
{
    [Fact]
    public void Host_attributes_are_saved_once_and_an_identical_report_changes_nothing()
    {
        var h = new DomainHarness();
        var attributes = Host("h1", ("rack", "r1"), ("zone", "z1"));

        var first = h.Execute(new SaveHostAttributes(attributes));
        var again = h.Execute(new SaveHostAttributes(attributes.Clone()));

        Assert.True(first.ChangesState);
        Assert.False(again.ChangesState);
        Assert.Equal(new[] { "r1" }, h.State.FindHost("h1")!.AttributeValues("rack"));
        Assert.Equal(MaintenanceMode.None, h.State.FindHost("h1")!.Mode);
    }

    [Fact]
    public void Host_attributes_must_name_the_host_and_each_attribute()
    {
        var h = new DomainHarness();

        Assert.Equal("Host attributes must name the host.", h.Reject(new SaveHostAttributes(Host(" "))).Message);
        Assert.Equal("Host h1 has an attribute without a name.", h.Reject(new SaveHostAttributes(Host("h1", ("", "x")))).Message);
    }

    [Fact]
    public void Draining_a_host_moves_its_tasks_to_draining_and_the_host_is_drained_when_the_last_one_ends()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job(instances: 2));
        var onHost = h.ActiveTask(job, 0);
        var elsewhere = h.ActiveTask(job, 1);
        var host = DomainHarness.Host(0);

        var drain = h.Execute(new ChangeHostMaintenance([host], MaintenanceMode.Draining));

        Assert.Equal(new[] { "RUNNING->DRAINING" }, drain.Transitions());
        Assert.Equal("Draining machine for maintenance.", onHost.LatestEvent.Message);
        Assert.Equal(new[] { onHost.TaskId }, drain.TasksToKill);
        Assert.Equal(Running, elsewhere.Status);
        var record = h.State.FindHost(host)!;
        Assert.Equal(MaintenanceMode.Draining, record.Mode);
        Assert.Equal(h.Context.NowMicros, record.Request!.CreatedMicros);

        var killed = h.Execute(new ChangeTaskState(onHost.TaskId, Killed));

        var successor = Assert.Single(killed.CreatedTasks());
        Assert.Equal(Pending, successor.Status);
        Assert.Equal(MaintenanceMode.Drained, record.Mode);
    }

    [Fact]
    public void A_draining_host_with_two_tasks_is_drained_only_after_both_end()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(instances: 2));
        var tasks = new[] { h.ActiveTask(job, 0), h.ActiveTask(job, 1) };
        foreach (var task in tasks)
        {
            h.Execute(new AssignTask(task.TaskId, "agent-shared", "shared", []));
            h.Execute(new ChangeTaskState(task.TaskId, Running));
        }

        h.Execute(new ChangeHostMaintenance(["shared"], MaintenanceMode.Draining));
        h.Execute(new ChangeTaskState(tasks[0].TaskId, Killed));
        Assert.Equal(MaintenanceMode.Draining, h.State.FindHost("shared")!.Mode);

        h.Execute(new ChangeTaskState(tasks[1].TaskId, Lost));
        Assert.Equal(MaintenanceMode.Drained, h.State.FindHost("shared")!.Mode);
    }

    [Fact]
    public void Draining_an_empty_host_drains_it_at_once()
    {
        var h = new DomainHarness();

        var decision = h.Execute(new ChangeHostMaintenance(["idle"], MaintenanceMode.Draining));

        Assert.Equal(
            new[] { MaintenanceMode.Draining, MaintenanceMode.Drained },
            decision.EventsOf(Event.KindOneofCase.HostMaintenanceChanged).Select(e => e.HostMaintenanceChanged.Mode));
        Assert.Equal(MaintenanceMode.Drained, h.State.FindHost("idle")!.Mode);
        Assert.NotNull(h.State.FindHost("idle")!.Request);
    }

    [Fact]
    public void Draining_a_host_again_changes_nothing()
    {
        var h = new DomainHarness();
        h.Execute(new ChangeHostMaintenance(["idle"], MaintenanceMode.Draining));

        Assert.False(h.Execute(new ChangeHostMaintenance(["idle"], MaintenanceMode.Draining)).ChangesState);
    }

    [Fact]
    public void An_sla_aware_drain_leaves_the_tasks_to_the_maintenance_controller()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job());
        var request = new HostMaintenanceRequest
        {
            DefaultSlaPolicy = new SlaPolicy { Percentage = new PercentageSlaPolicy { Percentage = 95, DurationSecs = 1800 } },
            TimeoutSecs = 3600,
        };

        var decision = h.Execute(new ChangeHostMaintenance([DomainHarness.Host(0)], MaintenanceMode.Draining, request));

        Assert.Empty(decision.Transitions());
        Assert.Equal(Running, h.ActiveTask(job, 0).Status);
        Assert.Equal(MaintenanceMode.Draining, h.State.FindHost(DomainHarness.Host(0))!.Mode);
        Assert.Equal(3600, h.State.FindHost(DomainHarness.Host(0))!.Request!.TimeoutSecs);
    }

    [Fact]
    public void Ending_maintenance_returns_the_host_to_none_and_forgets_the_request()
    {
        var h = new DomainHarness();
        h.Execute(new ChangeHostMaintenance(["idle"], MaintenanceMode.Draining));

        h.Execute(new ChangeHostMaintenance(["idle"], MaintenanceMode.None));

        Assert.Equal(MaintenanceMode.None, h.State.FindHost("idle")!.Mode);
        Assert.Null(h.State.FindHost("idle")!.Request);
    }

    [Fact]
    public void Scheduling_maintenance_only_marks_the_host()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job());

        var decision = h.Execute(new ChangeHostMaintenance([DomainHarness.Host(0)], MaintenanceMode.Scheduled));

        Assert.Empty(decision.Transitions());
        Assert.Equal(MaintenanceMode.Scheduled, h.State.FindHost(DomainHarness.Host(0))!.Mode);
        Assert.Equal(Running, h.ActiveTask(job, 0).Status);
        Assert.False(h.Execute(new ChangeHostMaintenance([DomainHarness.Host(0)], MaintenanceMode.Scheduled)).ChangesState);
    }

    [Fact]
    public void Maintenance_requests_must_name_hosts_and_a_mode_an_operator_may_set()
    {
        var h = new DomainHarness();

        Assert.Equal("Name at least one host, and no empty host names.", h.Reject(new ChangeHostMaintenance([], MaintenanceMode.Draining)).Message);
        Assert.Equal("Name at least one host, and no empty host names.", h.Reject(new ChangeHostMaintenance(["a", ""], MaintenanceMode.Draining)).Message);
        Assert.Equal("Hosts can be put in NONE, SCHEDULED or DRAINING, not DRAINED.", h.Reject(new ChangeHostMaintenance(["a"], MaintenanceMode.Drained)).Message);
    }

    [Fact]
    public void Assigning_records_the_agent_host_and_ports()
    {
        var h = new DomainHarness();
        var config = Configs.Job();
        config.Task.Resources.NamedPorts.AddRange(new[] { "http", "admin" });
        var job = h.CreateJobWithQuota(config);
        var task = h.ActiveTask(job, 0);
        var ports = new[] { new AssignedPort { Name = "admin", Port = 31001 }, new AssignedPort { Name = "http", Port = 31000 } };

        h.Execute(new AssignTask(task.TaskId, "agent-7", "h7", ports));

        Assert.Equal(Assigned, task.Status);
        Assert.Equal("agent-7", task.AgentId);
        Assert.Equal("h7", task.Host);
        Assert.Equal(ports, task.Ports);
        Assert.Contains(task, h.State.TasksOnHost("h7"));
    }

    [Fact]
    public void Assigning_with_the_wrong_ports_is_refused()
    {
        var h = new DomainHarness();
        var config = Configs.Job();
        config.Task.Resources.NamedPorts.AddRange(new[] { "http", "admin" });
        var job = h.CreateJobWithQuota(config);
        var task = h.ActiveTask(job, 0);
        var expected = $"Task {task.TaskId} needs exactly the ports [http, admin].";

        Assert.Equal(expected, h.Reject(new AssignTask(task.TaskId, "a", "h", [new AssignedPort { Name = "http", Port = 1 }])).Message);
        Assert.Equal(expected, h.Reject(new AssignTask(task.TaskId, "a", "h", [new AssignedPort { Name = "http", Port = 1 }, new AssignedPort { Name = "http", Port = 2 }])).Message);
    }

    [Fact]
    public void Assigning_a_task_that_is_not_pending_or_without_a_host_is_refused()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(instances: 2));
        var assigned = h.Drive(job, 0, Assigned);
        var pending = h.ActiveTask(job, 1);

        Assert.Equal($"Task {assigned.TaskId} is ASSIGNED; only PENDING tasks can be assigned.", h.Reject(new AssignTask(assigned.TaskId, "a", "h", [])).Message);
        Assert.Equal("An assignment needs an agent id and a host.", h.Reject(new AssignTask(pending.TaskId, "a", "", [])).Message);
        Assert.Equal("An assignment needs an agent id and a host.", h.Reject(new AssignTask(pending.TaskId, "", "h", [])).Message);
        Assert.Equal(ErrorCode.NotFound, h.Reject(new AssignTask("ghost", "a", "h", [])).Code);
    }

    [Fact]
    public void A_dedicated_host_refuses_a_job_without_the_dedicated_constraint()
    {
        var h = new DomainHarness();
        h.Execute(new SaveHostAttributes(Host("db-1", ("dedicated", "www-data/db"))));
        var task = h.ActiveTask(h.CreateJobWithQuota(Configs.Job()), 0);

        var rejection = h.Reject(new AssignTask(task.TaskId, "agent-db-1", "db-1", []));

        Assert.Equal($"Task {task.TaskId} cannot run on db-1: Host is dedicated", rejection.Message);
    }

    [Fact]
    public void A_dedicated_job_runs_on_its_dedicated_hosts_only()
    {
        var h = new DomainHarness();
        h.Execute(new SaveHostAttributes(Host("db-1", ("dedicated", "www-data/db"))));
        h.Execute(new SaveHostAttributes(Host("plain", ("rack", "r1"))));
        var config = Configs.Job(instances: 2);
        config.Task.Constraints.Add(Value("dedicated", "www-data/db"));
        var job = h.CreateJobWithQuota(config);

        h.Execute(new AssignTask(h.ActiveTask(job, 0).TaskId, "agent-db-1", "db-1", []));
        var rejection = h.Reject(new AssignTask(h.ActiveTask(job, 1).TaskId, "agent-plain", "plain", []));

        Assert.Equal($"Task {h.ActiveTask(job, 1).TaskId} cannot run on plain: Constraint not satisfied: dedicated", rejection.Message);
    }

    [Theory]
    [InlineData(MaintenanceMode.Draining, "Host draining for maintenance")]
    [InlineData(MaintenanceMode.Drained, "Host drained for maintenance")]
    public void Hosts_under_maintenance_take_no_new_tasks(MaintenanceMode mode, string veto)
    {
        var h = new DomainHarness();
        if (mode == MaintenanceMode.Draining)
        {
            // A host stays DRAINING (rather than DRAINED) while a task is still on it.
            var resident = h.ActiveTask(h.CreateJobWithQuota(Configs.Job(Configs.Key(name: "resident"))), 0);
            h.Execute(new AssignTask(resident.TaskId, "agent-h1", "h1", []));
        }

        h.Execute(new ChangeHostMaintenance(["h1"], MaintenanceMode.Draining));
        Assert.Equal(mode, h.State.FindHost("h1")!.Mode);
        var task = h.ActiveTask(h.CreateJobWithQuota(Configs.Job()), 0);

        var rejection = h.Reject(new AssignTask(task.TaskId, "agent-h1", "h1", []));

        Assert.Equal($"Task {task.TaskId} cannot run on h1: {veto}", rejection.Message);
    }

    [Fact]
    public void A_scheduled_host_still_takes_tasks()
    {
        var h = new DomainHarness();
        h.Execute(new ChangeHostMaintenance(["h1"], MaintenanceMode.Scheduled));
        var task = h.ActiveTask(h.CreateJobWithQuota(Configs.Job()), 0);

        h.Execute(new AssignTask(task.TaskId, "agent-h1", "h1", []));

        Assert.Equal(Assigned, task.Status);
    }

    [Theory]
    [InlineData(false, "r1", true)]
    [InlineData(false, "r2", false)]
    [InlineData(true, "r1", false)]
    [InlineData(true, "r2", true)]
    public void A_value_constraint_admits_hosts_by_attribute(bool negated, string rack, bool admitted)
    {
        var h = new DomainHarness();
        h.Execute(new SaveHostAttributes(Host("h1", ("rack", rack))));
        var config = Configs.Job();
        var constraint = Value("rack", "r1", "r3");
        constraint.Value.Negated = negated;
        config.Task.Constraints.Add(constraint);
        var task = h.ActiveTask(h.CreateJobWithQuota(config), 0);

        if (admitted)
        {
            h.Execute(new AssignTask(task.TaskId, "agent-h1", "h1", []));
            Assert.Equal(Assigned, task.Status);
        }
        else
        {
            Assert.Equal($"Task {task.TaskId} cannot run on h1: Constraint not satisfied: rack", h.Reject(new AssignTask(task.TaskId, "agent-h1", "h1", [])).Message);
        }
    }

    [Fact]
    public void A_value_constraint_refuses_a_host_without_the_attribute()
    {
        var h = new DomainHarness();
        var config = Configs.Job();
        config.Task.Constraints.Add(Value("rack", "r1"));
        var task = h.ActiveTask(h.CreateJobWithQuota(config), 0);

        var rejection = h.Reject(new AssignTask(task.TaskId, "agent-unknown", "unknown", []));

        Assert.Equal($"Task {task.TaskId} cannot run on unknown: Constraint not satisfied: rack", rejection.Message);
    }

    [Fact]
    public void A_negated_value_constraint_admits_a_host_without_the_attribute()
    {
        var h = new DomainHarness();
        var config = Configs.Job();
        var constraint = Value("zone", "us-east-1a");
        constraint.Value.Negated = true;
        config.Task.Constraints.Add(constraint);
        var task = h.ActiveTask(h.CreateJobWithQuota(config), 0);

        h.Execute(new AssignTask(task.TaskId, "agent-unknown", "unknown", []));

        Assert.Equal(Assigned, task.Status);
    }

    [Fact]
    public void A_limit_constraint_caps_the_job_s_tasks_per_attribute_value()
    {
        var h = new DomainHarness();
        h.Execute(new SaveHostAttributes(Host("a", ("rack", "r1"))));
        h.Execute(new SaveHostAttributes(Host("b", ("rack", "r1"))));
        h.Execute(new SaveHostAttributes(Host("c", ("rack", "r2"))));
        h.Execute(new SaveHostAttributes(Host("bare")));
        var config = Configs.Job(instances: 3);
        config.Task.Constraints.Add(new Constraint { Name = "rack", Limit = new LimitConstraint { Limit = 1 } });
        var job = h.CreateJobWithQuota(config);
        var (first, second) = (h.ActiveTask(job, 0), h.ActiveTask(job, 1));
        h.Execute(new AssignTask(first.TaskId, "agent-a", "a", []));

        Assert.Equal($"Task {second.TaskId} cannot run on b: Limit not satisfied: rack", h.Reject(new AssignTask(second.TaskId, "agent-b", "b", [])).Message);
        Assert.Equal($"Task {second.TaskId} cannot run on bare: Constraint not satisfied: rack", h.Reject(new AssignTask(second.TaskId, "agent-bare", "bare", [])).Message);
        h.Execute(new AssignTask(second.TaskId, "agent-c", "c", []));

        h.Execute(new ChangeTaskState(first.TaskId, Failed));
        h.Execute(new AssignTask(h.ActiveTask(job, 2).TaskId, "agent-b", "b", []));
        Assert.Equal("b", h.ActiveTask(job, 2).Host);
    }

    private static HostAttributes Host(string host, params (string Name, string Value)[] attributes)
    {
        var result = new HostAttributes { Host = host, AgentId = "agent-" + host };
        foreach (var (name, value) in attributes)
        {
            result.Attributes.Add(new Protos.Attribute { Name = name, Values = { value } });
        }

        return result;
    }

    private static Constraint Value(string name, params string[] values) =>
        new() { Name = name, Value = new ValueConstraint { Values = { values } } };
}
