using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Validation;
using static Aurora.Scheduler.Protos.ScheduleStatus;

namespace Aurora.Scheduler.Tests.Domain;

/// <summary>
/// Aurora's quota: only production, non-dedicated consumption is enforced, on create, add-instances,
/// job updates and cron templates; setQuota refuses negatives and values below production use.
/// </summary>
public class QuotaTests
{
    private const string Role = "www-data";

    [Fact]
    public void Creating_a_job_beyond_the_cpu_quota_names_the_shortfall()
    {
        var h = WithQuota(2, 1024, 2048);

        var rejection = h.Reject(new CreateJob(Configs.Job(instances: 4)));

        Assert.Equal(ErrorCode.InvalidRequest, rejection.Code);
        Assert.Equal("Insufficient resource quota: CPU quota exceeded by 2.00 core(s)", rejection.Message);
    }

    [Fact]
    public void Every_exceeded_resource_is_named_joined_with_semicolons()
    {
        var h = WithQuota(1, 100, 200);

        var rejection = h.Reject(new CreateJob(Configs.Job(instances: 2)));

        Assert.Equal(
            "Insufficient resource quota: CPU quota exceeded by 1.00 core(s); RAM quota exceeded by 156.00 MB; disk quota exceeded by 312.00 MB",
            rejection.Message);
    }

    [Theory]
    [InlineData(4, 508, 1024, "RAM quota exceeded by 4.00 MB")]
    [InlineData(4, 512, 1000, "disk quota exceeded by 24.00 MB")]
    [InlineData(3.5, 512, 1024, "CPU quota exceeded by 0.50 core(s)")]
    public void Each_resource_is_checked_on_its_own(double cpus, long ramMb, long diskMb, string shortfall)
    {
        var h = WithQuota(cpus, ramMb, diskMb);

        var rejection = h.Reject(new CreateJob(Configs.Job(instances: 4)));

        Assert.Equal("Insufficient resource quota: " + shortfall, rejection.Message);
    }

    [Fact]
    public void A_job_that_exactly_fits_the_quota_is_created()
    {
        var h = WithQuota(4, 512, 1024);

        h.Execute(new CreateJob(Configs.Job(instances: 4)));

        Assert.Equal(4, h.State.ActiveInstances(Configs.Key()).Count);
    }

    [Fact]
    public void Fractional_cpus_that_sum_to_the_quota_fit_despite_rounding()
    {
        var h = WithQuota(0.3, 1024, 1024);

        h.Execute(new CreateJob(Configs.Job(instances: 3, cpus: 0.1)));

        Assert.Equal(3, h.State.ActiveInstances(Configs.Key()).Count);
    }

    [Fact]
    public void The_role_s_other_production_jobs_count_against_the_quota()
    {
        var h = WithQuota(3, 10_000, 10_000);
        h.Execute(new CreateJob(Configs.Job(Configs.Key(name: "first"), instances: 2)));

        var rejection = h.Reject(new CreateJob(Configs.Job(Configs.Key(name: "second"), instances: 2)));

        Assert.Equal("Insufficient resource quota: CPU quota exceeded by 1.00 core(s)", rejection.Message);
    }

    [Fact]
    public void Non_production_jobs_and_terminated_tasks_do_not_count_against_the_quota()
    {
        var h = WithQuota(2, 10_000, 10_000);
        h.Execute(new CreateJob(Configs.Job(Configs.Key(name: "batch"), instances: 5, tier: "preemptible")));
        h.Execute(new CreateJob(Configs.Job(Configs.Key(name: "done"), instances: 2, service: false)));
        var done = Configs.Key(name: "done");
        foreach (var instance in new[] { 0, 1 })
        {
            var task = h.Drive(done, instance, Assigned, Running);
            h.Execute(new ChangeTaskState(task.TaskId, Finished));
        }

        h.Execute(new CreateJob(Configs.Job(Configs.Key(name: "web"), instances: 2)));

        Assert.Equal(2, h.State.ActiveInstances(Configs.Key(name: "web")).Count);
    }

    [Fact]
    public void Other_roles_do_not_share_the_quota()
    {
        var h = WithQuota(2, 10_000, 10_000);
        h.Execute(new SetQuota("other", Configs.Quota(2, 10_000, 10_000)));
        h.Execute(new CreateJob(Configs.Job(Configs.Key(role: "other"), instances: 2)));

        h.Execute(new CreateJob(Configs.Job(instances: 2)));
    }

    [Theory]
    [InlineData("preemptible")]
    [InlineData("revocable")]
    public void A_job_on_a_non_production_tier_needs_no_quota(string tier)
    {
        var h = new DomainHarness();

        h.Execute(new CreateJob(Configs.Job(instances: 3, tier: tier)));

        Assert.Equal(3, h.State.ActiveInstances(Configs.Key()).Count);
    }

    [Fact]
    public void A_dedicated_production_job_is_exempt_from_quota()
    {
        var h = new DomainHarness();
        var config = Configs.Job(instances: 3);
        config.Task.Constraints.Add(new Constraint { Name = "dedicated", Value = new ValueConstraint { Values = { "www-data/db" } } });

        h.Execute(new CreateJob(config));

        Assert.Equal(3, h.State.ActiveInstances(Configs.Key()).Count);
        var usage = QuotaCalculator.Consumption(h.State, Role);
        Assert.Equal(0, usage.ProdShared.NumCpus);
        Assert.Equal(3, usage.ProdDedicated.NumCpus);
    }

    [Fact]
    public void Consumption_is_split_into_Aurora_s_four_buckets()
    {
        var h = new DomainHarness();
        h.Execute(new SetQuota(Role, Configs.Quota(100, 100_000, 100_000)));
        var dedicated = new Constraint { Name = "dedicated", Value = new ValueConstraint { Values = { "www-data/db" } } };
        h.Execute(new CreateJob(Configs.Job(Configs.Key(name: "ps"), instances: 1, cpus: 1)));
        h.Execute(new CreateJob(Configs.Job(Configs.Key(name: "ns"), instances: 1, cpus: 2, tier: "preemptible")));
        var pd = Configs.Job(Configs.Key(name: "pd"), instances: 1, cpus: 4);
        pd.Task.Constraints.Add(dedicated.Clone());
        h.Execute(new CreateJob(pd));
        var nd = Configs.Job(Configs.Key(name: "nd"), instances: 1, cpus: 8, tier: "preemptible");
        nd.Task.Constraints.Add(dedicated.Clone());
        h.Execute(new CreateJob(nd));

        var usage = QuotaCalculator.Consumption(h.State, Role);

        Assert.Equal(1, usage.ProdShared.NumCpus);
        Assert.Equal(2, usage.NonProdShared.NumCpus);
        Assert.Equal(4, usage.ProdDedicated.NumCpus);
        Assert.Equal(8, usage.NonProdDedicated.NumCpus);
        Assert.Equal(128, usage.ProdShared.RamMb);
        Assert.Equal(256, usage.ProdShared.DiskMb);
    }

    [Fact]
    public void Adding_instances_is_checked_against_the_quota()
    {
        var h = WithQuota(2, 10_000, 10_000);
        h.Execute(new CreateJob(Configs.Job(instances: 2)));

        var rejection = h.Reject(new AddInstances(Configs.Key(), 0, 1));

        Assert.Equal("Insufficient resource quota: CPU quota exceeded by 1.00 core(s)", rejection.Message);
    }

    [Fact]
    public void A_job_update_counts_the_larger_of_the_old_and_new_configuration_per_resource()
    {
        // Two instances of (1 cpu, 256 MB) become (0.5 cpu, 512 MB): the update reserves 2 cpus and
        // 1024 MB while it runs, not the 3 cpus and 1536 MB of both together.
        var h = WithQuota(2, 1024, 10_000);
        h.Execute(new CreateJob(Configs.Job(instances: 2, ramMb: 256)));
        var smaller = Configs.Task(cpus: 0.5, ramMb: 512);

        h.StartUpdate(Configs.Update(smaller, 2));

        Assert.NotNull(h.State.ActiveUpdateOf(Configs.Key()));
    }

    [Fact]
    public void A_job_update_beyond_the_quota_is_refused_with_the_shortfall()
    {
        var h = WithQuota(2, 1000, 10_000);
        h.Execute(new CreateJob(Configs.Job(instances: 2, ramMb: 256)));

        var rejection = h.Reject(new StartJobUpdate(Configs.Update(Configs.Task(cpus: 0.5, ramMb: 512), 2)));

        Assert.Equal("Insufficient resource quota: RAM quota exceeded by 24.00 MB", rejection.Message);
    }

    [Fact]
    public void A_job_update_adding_instances_is_checked_against_the_quota()
    {
        var h = WithQuota(3, 10_000, 10_000);
        h.Execute(new CreateJob(Configs.Job(instances: 2)));

        var rejection = h.Reject(new StartJobUpdate(Configs.Update(Configs.Task(), 4)));

        Assert.Equal("Insufficient resource quota: CPU quota exceeded by 1.00 core(s)", rejection.Message);
    }

    [Fact]
    public void An_active_update_keeps_reserving_its_larger_configuration_for_other_jobs_of_the_role()
    {
        var h = WithQuota(5, 10_000, 10_000);
        h.Execute(new CreateJob(Configs.Job(instances: 2)));
        h.StartUpdate(Configs.Update(Configs.Task(cpus: 2), 2));

        var rejection = h.Reject(new CreateJob(Configs.Job(Configs.Key(name: "other"), instances: 2)));

        Assert.Equal("Insufficient resource quota: CPU quota exceeded by 1.00 core(s)", rejection.Message);
    }

    [Fact]
    public void A_job_update_to_a_non_production_tier_needs_no_quota()
    {
        var h = WithQuota(2, 10_000, 10_000);
        h.Execute(new CreateJob(Configs.Job(instances: 2)));

        h.StartUpdate(Configs.Update(Configs.Task(tier: "preemptible"), 10));
    }

    [Fact]
    public void Scheduling_a_production_cron_job_is_checked_against_the_quota()
    {
        var h = WithQuota(1, 10_000, 10_000);

        var rejection = h.Reject(new ScheduleCronJob(Configs.Cron(instances: 3)));

        Assert.Equal("Insufficient resource quota: CPU quota exceeded by 2.00 core(s)", rejection.Message);
    }

    [Fact]
    public void Replacing_a_cron_template_counts_the_new_template_instead_of_the_old()
    {
        var h = WithQuota(2, 10_000, 10_000);
        h.Execute(new ScheduleCronJob(Configs.Cron(instances: 2)));
        var replacement = Configs.Cron(instances: 2);
        replacement.Task.Processes[0].Cmdline = "echo replaced";

        h.Execute(new ScheduleCronJob(replacement, MustExist: true));
        var rejection = h.Reject(new ScheduleCronJob(Configs.Cron(instances: 3), MustExist: true));

        Assert.Equal("Insufficient resource quota: CPU quota exceeded by 1.00 core(s)", rejection.Message);
    }

    [Fact]
    public void A_cron_template_reserves_quota_before_it_runs()
    {
        var h = WithQuota(3, 10_000, 10_000);
        h.Execute(new ScheduleCronJob(Configs.Cron(instances: 2)));

        var rejection = h.Reject(new CreateJob(Configs.Job(instances: 2)));

        Assert.Equal("Insufficient resource quota: CPU quota exceeded by 1.00 core(s)", rejection.Message);
    }

    [Fact]
    public void A_non_production_cron_job_needs_no_quota()
    {
        var h = new DomainHarness();
        var config = Configs.Cron(instances: 3);
        config.Task.Tier = "preemptible";

        h.Execute(new ScheduleCronJob(config));

        Assert.NotNull(h.State.FindCronJob(config.Key));
    }

    [Fact]
    public void Setting_a_quota_overwrites_the_previous_one()
    {
        var h = WithQuota(2, 1024, 2048);

        h.Execute(new SetQuota(Role, Configs.Quota(1.5, 512, 1024)));

        Assert.Equal(Configs.Quota(1.5, 512, 1024), h.State.QuotaOf(Role));
        Assert.Equal(new Resources(), h.State.QuotaOf("nobody"));
    }

    [Theory]
    [InlineData(-1, 10, 10, "ResourceAggregate(numCpus:-1.0, ramMb:10, diskMb:10)")]
    [InlineData(1, -10, 10, "ResourceAggregate(numCpus:1.0, ramMb:-10, diskMb:10)")]
    [InlineData(1.5, 10, -1, "ResourceAggregate(numCpus:1.5, ramMb:10, diskMb:-1)")]
    public void A_negative_quota_is_refused(double cpus, long ramMb, long diskMb, string printed)
    {
        var h = new DomainHarness();

        var rejection = h.Reject(new SetQuota(Role, Configs.Quota(cpus, ramMb, diskMb)));

        Assert.Equal(ErrorCode.InvalidRequest, rejection.Code);
        Assert.Equal("Negative values in: " + printed, rejection.Message);
    }

    [Fact]
    public void A_quota_below_the_current_production_use_is_refused()
    {
        var h = WithQuota(10, 10_000, 10_000);
        h.Execute(new CreateJob(Configs.Job(instances: 2)));
        h.Execute(new CreateJob(Configs.Job(Configs.Key(name: "batch"), instances: 4, tier: "preemptible")));

        var rejection = h.Reject(new SetQuota(Role, Configs.Quota(1, 1024, 1024)));

        Assert.Equal(
            "Quota: ResourceAggregate(numCpus:1.0, ramMb:1024, diskMb:1024) is less then current prod reservation: ResourceAggregate(numCpus:2.0, ramMb:256, diskMb:512)",
            rejection.Message);
    }

    [Fact]
    public void A_quota_equal_to_the_current_production_use_is_accepted()
    {
        var h = WithQuota(10, 10_000, 10_000);
        h.Execute(new CreateJob(Configs.Job(instances: 2)));

        h.Execute(new SetQuota(Role, Configs.Quota(2, 256, 512)));

        Assert.Equal(Configs.Quota(2, 256, 512), h.State.QuotaOf(Role));
    }

    [Fact]
    public void A_quota_for_an_invalid_role_is_refused()
    {
        var h = new DomainHarness();

        var rejection = h.Reject(new SetQuota("bad role", Configs.Quota(1, 1, 1)));

        Assert.Equal(@"Role 'bad role' is invalid: it must be 1 to 255 of the characters A-Z a-z 0-9 _ - . and not start with '.'.", rejection.Message);
    }

    private static DomainHarness WithQuota(double cpus, long ramMb, long diskMb)
    {
        var h = new DomainHarness();
        h.Execute(new SetQuota(Role, Configs.Quota(cpus, ramMb, diskMb)));
        return h;
    }
}
