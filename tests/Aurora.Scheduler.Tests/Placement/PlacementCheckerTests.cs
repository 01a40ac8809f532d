using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;
using static Aurora.Scheduler.Tests.Placement.PlacementFixture;

namespace Aurora.Scheduler.Tests.Placement;

/// <summary>The vetoes of one task on one offer, in Aurora's order and words, and what the checker records.</summary>
public class PlacementCheckerTests
{
    private static string? VetoOf(DomainHarness h, JobKey job, Offer offer) =>
        new PlacementChecker(h.State, [offer], h.Settings).Veto(h.ActiveTask(job, 0).Config, 0);

    [Fact]
    public void A_dedicated_host_refuses_a_task_without_the_dedicated_constraint_before_anything_else()
    {
        var h = new DomainHarness();
        h.AddHost("db-1", ("dedicated", "db_team/db"));
        var resident = h.PendingJob("resident", role: "db_team", constraints: Value("dedicated", "db_team/db"));
        h.RunOn(resident, 0, Offer("db-1"));
        h.Execute(new ChangeHostMaintenance(["db-1"], MaintenanceMode.Draining));
        var job = h.PendingJob("web", cpus: 100, constraints: Value("rack", "r1"));

        Assert.Equal(Vetoes.HostIsDedicated, VetoOf(h, job, Offer("db-1")));
    }

    [Theory]
    [InlineData(MaintenanceMode.Draining, "Host draining for maintenance")]
    [InlineData(MaintenanceMode.Drained, "Host drained for maintenance")]
    public void Maintenance_is_vetoed_before_constraints_and_resources(MaintenanceMode mode, string veto)
    {
        var h = new DomainHarness();
        if (mode == MaintenanceMode.Draining)
        {
            // A host stays DRAINING while a task is still on it.
            h.RunOn(h.PendingJob("resident"), 0, Offer("h1"));
        }

        h.Execute(new ChangeHostMaintenance(["h1"], MaintenanceMode.Draining));
        var job = h.PendingJob("web", cpus: 100, constraints: Value("rack", "r1"));

        Assert.Equal(veto, VetoOf(h, job, Offer("h1")));
    }

    [Fact]
    public void Value_constraints_come_before_limit_constraints_and_limits_before_resources()
    {
        var h = new DomainHarness();
        h.AddHost("h1", ("zone", "z1"));
        var job = h.PendingJob("web", cpus: 100, constraints: [Limit("rack", 1), Value("zone", "z2")]);

        Assert.Equal("Constraint not satisfied: zone", VetoOf(h, job, Offer("h1")));

        var onlyLimit = h.PendingJob("api", cpus: 100, constraints: Limit("rack", 1));
        Assert.Equal("Constraint not satisfied: rack", VetoOf(h, onlyLimit, Offer("h1")));
    }

    [Theory]
    [InlineData(100, 100_000, 100_000, "Insufficient CPU")]
    [InlineData(1, 100_000, 100_000, "Insufficient RAM")]
    [InlineData(1, 128, 100_000, "Insufficient disk")]
    [InlineData(4, 4096, 4096, null)]
    public void Resources_are_vetoed_in_aurora_s_order_cpu_ram_disk(double cpus, long ramMb, long diskMb, string? veto)
    {
        var h = new DomainHarness();
        var job = h.PendingJob("web", cpus: cpus, ramMb: ramMb, diskMb: diskMb);

        Assert.Equal(veto, VetoOf(h, job, Offer("h1", cpus: 4, ramMb: 4096, diskMb: 4096)));
    }

    [Fact]
    public void Gpus_and_ports_are_vetoed_when_the_agent_lacks_them()
    {
        var h = new DomainHarness();
        var ports = h.PendingJob("ports", ports: ["http", "admin", "debug"]);

        Assert.Equal(Vetoes.InsufficientPorts, VetoOf(h, ports, Offer("h1", firstPort: 31000, lastPort: 31001)));
        Assert.Null(VetoOf(h, ports, Offer("h1", firstPort: 31000, lastPort: 31002)));
        var config = h.ActiveTask(ports, 0).Config.Clone();
        config.Resources.NamedPorts.Clear();
        config.Resources.NumGpus = 2;
        var checker = new PlacementChecker(h.State, [Offer("h1", gpus: 1)], h.Settings);
        Assert.Equal(Vetoes.InsufficientGpu, checker.Veto(config, 0));
    }

    [Fact]
    public void Free_resources_are_the_capacity_minus_the_tasks_holding_resources_on_that_agent()
    {
        var h = new DomainHarness();
        var offer = Offer("h1", cpus: 4, ramMb: 1024);
        var residents = h.PendingJob("resident", instances: 3, cpus: 1, ramMb: 256);
        h.RunOn(residents, 0, offer);
        h.RunOn(residents, 1, offer);
        var finished = h.RunOn(residents, 2, offer);
        h.Execute(new ChangeTaskState(finished.TaskId, ScheduleStatus.Killing));
        h.Execute(new ChangeTaskState(finished.TaskId, ScheduleStatus.Killed));

        var fits = h.PendingJob("fits", cpus: 2, ramMb: 512);
        var tooBig = h.PendingJob("big", cpus: 2.5, ramMb: 512);

        Assert.Null(VetoOf(h, fits, offer));
        Assert.Equal(Vetoes.InsufficientCpu, VetoOf(h, tooBig, offer));
    }

    [Fact]
    public void Tasks_of_another_agent_id_on_the_same_host_do_not_count_against_the_offer()
    {
        var h = new DomainHarness();
        var old = new Offer("old-agent", "h1", new Resources { NumCpus = 4, RamMb = 1024, DiskMb = 1024 }, [new PortRange(31000, 31000)]);
        var residents = h.PendingJob("resident", cpus: 4, ports: ["http"]);
        h.RunOn(residents, 0, old);
        var job = h.PendingJob("web", cpus: 4, ports: ["http"]);

        Assert.Null(VetoOf(h, job, Offer("h1", cpus: 4, ramMb: 1024, diskMb: 1024, firstPort: 31000, lastPort: 31000)));
        Assert.Equal(Vetoes.InsufficientCpu, VetoOf(h, job, old));
    }

    [Fact]
    public void Recorded_assignments_take_resources_ports_and_limit_counts_for_later_checks()
    {
        var h = new DomainHarness();
        h.AddHost("a", ("rack", "r1"));
        h.AddHost("b", ("rack", "r1"));
        var job = h.PendingJob("web", instances: 2, cpus: 3, ports: ["http"], constraints: Limit("rack", 1));
        var config = h.ActiveTask(job, 0).Config;
        var offers = new[] { Offer("a", cpus: 4, firstPort: 31000, lastPort: 31001), Offer("b", cpus: 4) };
        var checker = new PlacementChecker(h.State, offers, h.Settings);
        var ports = checker.LowestFreePorts(config, 0);

        checker.Record(config, 0, ports);

        Assert.Equal([new AssignedPort { Name = "http", Port = 31000 }], ports);
        Assert.Equal("Limit not satisfied: rack", checker.Veto(config, 0));
        Assert.Equal("Limit not satisfied: rack", checker.Veto(config, 1));
        Assert.Equal([new AssignedPort { Name = "http", Port = 31001 }], checker.LowestFreePorts(config, 0));
        var other = h.PendingJob("other", cpus: 2);
        Assert.Equal(Vetoes.InsufficientCpu, checker.Veto(h.ActiveTask(other, 0).Config, 0));
        Assert.Null(checker.Veto(h.ActiveTask(other, 0).Config, 1));
    }

    [Fact]
    public void Limit_counts_include_the_job_s_tasks_on_hosts_that_are_not_offered()
    {
        var h = new DomainHarness();
        h.AddHost("a", ("rack", "r1"));
        h.AddHost("b", ("rack", "r1"));
        var job = h.PendingJob("web", instances: 2, constraints: Limit("rack", 1));
        h.RunOn(job, 0, Offer("a"));

        Assert.Equal("Limit not satisfied: rack", VetoOf(h, job, Offer("b")));
    }

    [Fact]
    public void A_revocable_task_uses_only_revocable_capacity_and_only_when_revocable_resources_are_received()
    {
        var revocable = new Resources { NumCpus = 2, RamMb = 1024, DiskMb = 1024 };
        var off = new DomainHarness();
        var job = off.PendingJob("batch", tier: "revocable", cpus: 1);

        Assert.Equal(Vetoes.InsufficientCpu, VetoOf(off, job, Offer("h1", revocable: revocable)));

        var on = new DomainHarness(settings: Settings.SchedulerSettings.Default with { ReceiveRevocableResources = true });
        var onJob = on.PendingJob("batch", tier: "revocable", cpus: 1);
        Assert.Equal(Vetoes.InsufficientCpu, VetoOf(on, onJob, Offer("h1", cpus: 8)));
        Assert.Null(VetoOf(on, onJob, Offer("h1", cpus: 0, revocable: revocable)));
        var big = on.PendingJob("big", tier: "revocable", cpus: 3);
        Assert.Equal(Vetoes.InsufficientCpu, VetoOf(on, big, Offer("h1", cpus: 8, revocable: revocable)));
    }

    [Fact]
    public void A_regular_task_never_uses_revocable_capacity()
    {
        var h = new DomainHarness(settings: Settings.SchedulerSettings.Default with { ReceiveRevocableResources = true });
        var job = h.PendingJob("web", cpus: 2);

        Assert.Equal(Vetoes.InsufficientCpu, VetoOf(h, job, Offer("h1", cpus: 1, revocable: new Resources { NumCpus = 16, RamMb = 16384, DiskMb = 16384 })));
    }

    [Fact]
    public void Revocable_and_regular_tasks_draw_from_separate_pools_of_the_same_agent()
    {
        var h = new DomainHarness(settings: Settings.SchedulerSettings.Default with { ReceiveRevocableResources = true });
        var offer = Offer("h1", cpus: 2, revocable: new Resources { NumCpus = 2, RamMb = 4096, DiskMb = 4096 });
        var batch = h.PendingJob("batch", tier: "revocable", cpus: 2);
        h.RunOn(batch, 0, offer);
        var web = h.PendingJob("web", cpus: 2);
        var more = h.PendingJob("more", tier: "revocable", cpus: 1);

        Assert.Null(VetoOf(h, web, offer));
        Assert.Equal(Vetoes.InsufficientCpu, VetoOf(h, more, offer));
    }

    [Fact]
    public void Invalid_offers_are_refused_with_the_reason()
    {
        var h = new DomainHarness();
        var good = Offer("h1");

        Assert.Contains("offered twice", Assert.Throws<ArgumentException>(() => new PlacementChecker(h.State, [good, good], h.Settings)).Message);
        Assert.Contains("invalid port range [2-1]", Assert.Throws<ArgumentException>(
            () => new PlacementChecker(h.State, [good with { Ports = [new PortRange(2, 1)] }], h.Settings)).Message);
        Assert.Contains("negative ram_mb", Assert.Throws<ArgumentException>(
            () => new PlacementChecker(h.State, [good with { Capacity = new Resources { RamMb = -1 } }], h.Settings)).Message);
        Assert.Contains("needs a host", Assert.Throws<ArgumentException>(() => new PlacementChecker(h.State, [good with { Host = "" }], h.Settings)).Message);
        Assert.Contains("needs an agent id", Assert.Throws<ArgumentException>(() => new PlacementChecker(h.State, [good with { AgentId = " " }], h.Settings)).Message);
    }
}
