using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.State;
using FsCheck;
using FsCheck.Fluent;

namespace Aurora.Scheduler.Tests.Domain;

/// <summary>
/// Issue 12, findings 2, 3 and 6: names must fit what agents and URLs derive from them, and amounts
/// must be something an agent could offer. Each rule is checked on every path that creates names.
/// </summary>
public class NameAndSizeLimitTests
{
    private const string LongestUuid = "01234567-89ab-cdef-0123-456789abcdef";

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("a b")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Identifiers_that_cannot_be_addressed_are_refused(string name)
    {
        Assert.False(JobKeys.IsGoodIdentifier(name));
        foreach (var key in new[] { Configs.Key(role: name), Configs.Key(environment: name), Configs.Key(name: name) })
        {
            Assert.Contains($"it must be {JobKeys.IdentifierRule}", JobKeys.Problem(key), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("a.b")]
    [InlineData("a..")]
    [InlineData("_x")]
    [InlineData("-x")]
    public void Dots_inside_or_at_the_end_are_fine(string name) => Assert.True(JobKeys.IsGoodIdentifier(name));

    [Fact]
    public void An_identifier_has_at_most_255_characters()
    {
        Assert.True(JobKeys.IsGoodIdentifier(new string('a', 255)));
        Assert.False(JobKeys.IsGoodIdentifier(new string('a', 256)));
    }

    [Fact]
    public void A_job_key_may_use_exactly_the_characters_its_task_ids_leave()
    {
        var longest = Configs.Key(role: new string('r', 64), environment: "prod", name: new string('n', TaskIds.MaxJobKeyCharacters - 68));
        var tooLong = Configs.Key(role: longest.Role, environment: "prod", name: longest.Name + "n");

        Assert.Null(JobKeys.Problem(longest));
        Assert.Equal(
            $"Job key {JobKeys.Canonical(tooLong)[..80]}... (196 characters) is too long: role, environment and name together may have at most 193 characters, and they have 194. "
            + "Its task ids (role-environment-name-instance-uuid) would reach 240 characters, but agents name sandbox directories and checkpoint files after task ids, "
            + "which allows at most 239. Shorten the role, environment or name by 1.",
            JobKeys.Problem(tooLong));
    }

    [Fact]
    public void Every_task_id_of_a_valid_key_fits_the_agents_file_names() =>
        Prop.ForAll(
            Gen.Choose(1, JobKeys.MaxIdentifierLength).Three().ToArbitrary(),
            Gen.Choose(0, TaskIds.InstanceIdLimit - 1).ToArbitrary(),
            (lengths, instance) =>
            {
                var key = Configs.Key(role: new string('r', lengths.Item1), environment: new string('e', lengths.Item2), name: new string('n', lengths.Item3));
                var id = TaskIds.Create(key, instance, LongestUuid);
                return JobKeys.Problem(key) is not null || id.Length <= TaskIds.MaxLength;
            }).QuickCheckThrowOnFailure();

    [Fact]
    public void A_two_hundred_character_job_name_is_refused_when_the_job_is_created()
    {
        var h = new DomainHarness();

        var rejection = h.Reject(new CreateJob(Configs.Job(Configs.Key(name: new string('x', 200)))));

        Assert.Contains("is too long: role, environment and name together may have at most 193 characters", rejection.Message, StringComparison.Ordinal);
        Assert.Empty(h.Log);
    }

    [Fact]
    public void A_cron_job_and_an_update_are_held_to_the_same_names()
    {
        var h = new DomainHarness();
        var cron = Configs.Cron(Configs.Key(name: ".nightly"));
        var update = Configs.Update(Configs.Task(Configs.Key(name: "..")), instances: 1);

        Assert.Contains("Job name '.nightly' is invalid", h.Reject(new ScheduleCronJob(cron)).Message, StringComparison.Ordinal);
        Assert.Contains("Job name '..' is invalid", h.Reject(new StartJobUpdate(update, null)).Message, StringComparison.Ordinal);
        Assert.Empty(h.Log);
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData(".profile")]
    public void Process_names_that_cannot_name_a_log_directory_are_refused(string name)
    {
        var h = new DomainHarness();
        var config = Configs.Job();
        config.Task.Processes[0].Name = name;

        Assert.Equal($"Process name '{name}' is invalid: it must be {JobKeys.IdentifierRule}.", h.Reject(new CreateJob(config)).Message);
    }

    [Theory]
    [InlineData(1e308, 128, 256, "num_cpus=1E+308 (an agent has at most 65536 CPUs)")]
    [InlineData(65536.5, 128, 256, "num_cpus=65536.5 (an agent has at most 65536 CPUs)")]
    [InlineData(1, long.MaxValue, 256, "ram_mb=9223372036854775807 (an agent has at most 4294967296 MB of RAM)")]
    [InlineData(1, 128, (1L << 36) + 1, "disk_mb=68719476737 (an agent has at most 68719476736 MB of disk)")]
    public void Resources_no_agent_could_offer_are_refused(double cpus, long ramMb, long diskMb, string excess)
    {
        var h = new DomainHarness();

        var rejection = h.Reject(new CreateJob(Configs.Job(cpus: cpus, ramMb: ramMb, diskMb: diskMb)));

        Assert.Equal($"The task asks for more than any agent can offer, so it could never run: {excess}.", rejection.Message);
    }

    [Fact]
    public void The_largest_agent_s_worth_of_resources_is_accepted()
    {
        var h = new DomainHarness();
        var config = Configs.Job(cpus: ResourceLimits.MaxCpus, ramMb: ResourceLimits.MaxRamMb, diskMb: ResourceLimits.MaxDiskMb);

        var decision = h.Execute(new SetQuota("www-data", Configs.Quota(ResourceLimits.MaxCpus, ResourceLimits.MaxRamMb, ResourceLimits.MaxDiskMb)));
        h.Execute(new CreateJob(config));

        Assert.True(decision.ChangesState);
        Assert.Single(h.State.ActiveInstances(config.Key));
    }

    [Fact]
    public void A_quota_beyond_any_role_s_use_is_refused()
    {
        var h = new DomainHarness();

        var rejection = h.Reject(new SetQuota("www-data", Configs.Quota(1, long.MaxValue, 1)));

        Assert.StartsWith("Quota ", rejection.Message, StringComparison.Ordinal);
        Assert.Contains("is more than a role could ever use", rejection.Message, StringComparison.Ordinal);
        Assert.Empty(h.Log);
    }

    [Fact]
    public void Adding_instances_never_creates_an_instance_id_at_or_above_the_task_limit()
    {
        var h = new DomainHarness(settings: SchedulerSettings.Default with { MaxTasksPerJob = 10 });
        var job = h.CreateRunningJob(Configs.Job(instances: 10));
        h.Execute(new KillTasks(job, [.. Enumerable.Range(1, 8)]));
        foreach (var instance in Enumerable.Range(1, 8))
        {
            h.Drive(job, instance, ScheduleStatus.Killed);
        }

        // Instances 0 and 9 are left: adding after 9 would create 10, 11, ...
        var rejection = h.Reject(new AddInstances(job, 0, 2));

        Assert.Equal("Adding 2 instances after instance 9 would create instance 11, but instance ids must be below the task limit of 10 (-max_tasks_per_job).", rejection.Message);
    }

    [Fact]
    public void A_recovery_that_would_restore_an_unaddressable_job_is_refused()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job());
        var snapshot = h.State.ToSnapshot().Clone();
        snapshot.TaskConfigs[0].Job.Name = "..";

        var rejection = h.Reject(new CommitRecovery("backup-1", 1, snapshot));

        Assert.Contains("Backup backup-1 cannot be recovered: it holds names this scheduler refuses to create.", rejection.Message, StringComparison.Ordinal);
        Assert.Contains("Job name '..' is invalid", rejection.Message, StringComparison.Ordinal);
        Assert.Contains("scheduler_delete_recovery_tasks", rejection.Message, StringComparison.Ordinal);
        Assert.Single(h.State.ActiveInstances(job));
    }

    [Fact]
    public void A_recovery_keeps_finished_tasks_of_old_names_as_history()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job());
        h.Execute(new KillTasks(job));
        h.Drive(job, 0, ScheduleStatus.Killed);
        var snapshot = h.State.ToSnapshot().Clone();
        foreach (var config in snapshot.TaskConfigs)
        {
            config.Job.Name = ".old";
        }

        var decision = h.Execute(new CommitRecovery("backup-1", 1, snapshot));

        Assert.True(decision.ChangesState);
    }

    [Theory]
    [InlineData("scheduler")]
    [InlineData("cron")]
    [InlineData("agent")]
    [InlineData("aurora-log recover")]
    [InlineData("Scheduler ")]
    public void The_system_s_principals_are_reserved(string name) => Assert.True(Principals.IsReserved(name));

    [Theory]
    [InlineData("alice")]
    [InlineData("schedulers")]
    [InlineData(null)]
    public void Other_names_are_not_reserved(string? name) => Assert.False(Principals.IsReserved(name));
}
