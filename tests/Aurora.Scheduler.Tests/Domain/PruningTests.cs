using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using static Aurora.Scheduler.Protos.ScheduleStatus;

namespace Aurora.Scheduler.Tests.Domain;

/// <summary>
/// Aurora's TaskHistoryPruner and JobUpdateHistoryPruner with their default thresholds: terminal
/// tasks after 2 days or beyond 100 per job (never younger than 1 hour); terminal updates after 30
/// days, beyond 10 per job, or once their job is gone.
/// </summary>
public class PruningTests
{
    [Fact]
    public void A_terminal_task_is_pruned_two_days_after_it_ended()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(service: false));
        var task = h.Drive(job, 0, Assigned, Running, Finished);

        h.Advance(TimeSpan.FromDays(2) - TimeSpan.FromSeconds(1));
        Assert.False(h.Execute(new PruneTaskHistory()).ChangesState);

        h.Advance(TimeSpan.FromSeconds(1));
        var decision = h.Execute(new PruneTaskHistory());

        var pruned = Assert.Single(decision.EventsOf(Event.KindOneofCase.TasksPruned)).TasksPruned;
        Assert.Equal(new[] { task.TaskId }, pruned.TaskIds);
        Assert.Equal("Task history pruned", pruned.Reason);
        Assert.Null(h.State.FindTask(task.TaskId));
        Assert.False(h.State.JobExists(job));
    }

    [Fact]
    public void Active_tasks_are_never_pruned_however_old()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(instances: 2));
        h.Drive(job, 0, Assigned, Running);

        h.Advance(TimeSpan.FromDays(30));

        Assert.False(h.Execute(new PruneTaskHistory()).ChangesState);
    }

    [Fact]
    public void Only_the_newest_hundred_terminal_tasks_of_a_job_are_kept_once_older_than_an_hour()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(instances: 105, service: false, tier: "preemptible"));
        var ended = new List<string>();
        for (var instance = 0; instance < 105; instance++)
        {
            ended.Add(h.Drive(job, instance, Assigned, Finished).TaskId);
            h.Advance(TimeSpan.FromSeconds(1));
        }

        h.Advance(TimeSpan.FromMinutes(58));
        Assert.False(h.Execute(new PruneTaskHistory()).ChangesState);

        h.Advance(TimeSpan.FromMinutes(2));
        var decision = h.Execute(new PruneTaskHistory());

        var pruned = Assert.Single(decision.EventsOf(Event.KindOneofCase.TasksPruned)).TasksPruned.TaskIds;
        Assert.Equal(ended.Take(5).Order(StringComparer.Ordinal), pruned);
        Assert.Equal(100, h.State.TasksOf(job).Count);
    }

    [Fact]
    public void The_per_job_limit_counts_each_job_separately()
    {
        var h = new DomainHarness();
        foreach (var name in new[] { "a", "b" })
        {
            var job = h.CreateJobWithQuota(Configs.Job(Configs.Key(name: name), instances: 60, service: false, tier: "preemptible"));
            for (var instance = 0; instance < 60; instance++)
            {
                h.Drive(job, instance, Assigned, Failed);
            }
        }

        h.Advance(TimeSpan.FromHours(2));

        Assert.False(h.Execute(new PruneTaskHistory()).ChangesState);
    }

    [Fact]
    public void A_terminal_update_is_pruned_thirty_days_after_it_was_created()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var key = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));
        h.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Abort));

        h.Advance(TimeSpan.FromDays(30));
        Assert.False(h.Execute(new PruneJobUpdateHistory()).ChangesState);

        h.Advance(TimeSpan.FromSeconds(1));
        var decision = h.Execute(new PruneJobUpdateHistory());

        var pruned = Assert.Single(decision.EventsOf(Event.KindOneofCase.JobUpdatesPruned)).JobUpdatesPruned;
        Assert.Equal(new[] { key }, pruned.Keys);
        Assert.Equal("Job update history pruned", pruned.Reason);
        Assert.Null(h.State.FindUpdate(key));
        Assert.Empty(h.State.UpdatesOf(job));
    }

    [Fact]
    public void Only_the_newest_ten_terminal_updates_of_a_job_are_kept()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var keys = new List<JobUpdateKey>();
        for (var i = 0; i < 12; i++)
        {
            var key = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));
            h.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Abort));
            keys.Add(key);
            h.Advance(TimeSpan.FromMinutes(1));
        }

        var decision = h.Execute(new PruneJobUpdateHistory());

        var pruned = Assert.Single(decision.EventsOf(Event.KindOneofCase.JobUpdatesPruned)).JobUpdatesPruned.Keys;
        Assert.Equal(keys.Take(2).OrderBy(k => k.Id, StringComparer.Ordinal), pruned);
        Assert.Equal(keys.Skip(2).OrderBy(k => k.Id, StringComparer.Ordinal), h.State.UpdatesOf(job).Select(u => u.Key).OrderBy(k => k.Id, StringComparer.Ordinal));
    }

    [Fact]
    public void The_updates_of_a_job_that_no_longer_exists_are_pruned_at_once()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var key = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));
        h.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Abort));
        h.Execute(new KillTasks(job));
        Assert.False(h.State.JobExists(job));

        var decision = h.Execute(new PruneJobUpdateHistory());

        Assert.Equal(new[] { key }, Assert.Single(decision.EventsOf(Event.KindOneofCase.JobUpdatesPruned)).JobUpdatesPruned.Keys);
    }

    [Fact]
    public void Active_updates_are_never_pruned_even_old_and_without_a_job()
    {
        var h = new DomainHarness();
        h.Execute(new SetQuota("www-data", DomainScenarios.AmpleQuota));
        var key = h.StartUpdate(Configs.Update(Configs.Task(), 1));
        Assert.False(h.State.JobExists(key.Job));

        h.Advance(TimeSpan.FromDays(45));

        Assert.False(h.Execute(new PruneJobUpdateHistory()).ChangesState);
        Assert.NotNull(h.State.FindUpdate(key));
    }
}
