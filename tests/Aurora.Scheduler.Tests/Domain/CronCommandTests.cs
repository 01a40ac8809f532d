using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using static Aurora.Scheduler.Protos.ScheduleStatus;

namespace Aurora.Scheduler.Tests.Domain;

/// <summary>scheduleCronJob, replaceCronTemplate, descheduleCronJob and cron runs with their collision policies.</summary>
public class CronCommandTests
{
    private static JobKey Nightly => Configs.Key(name: "nightly");

    [Fact]
    public void Scheduling_a_cron_job_stores_its_template_without_running_it()
    {
        var h = WithQuota();

        var decision = h.Execute(new ScheduleCronJob(Configs.Cron(instances: 2)));

        Assert.Equal(Event.KindOneofCase.CronJobScheduled, Assert.Single(decision.Events).KindCase);
        var cron = h.State.FindCronJob(Nightly);
        Assert.NotNull(cron);
        Assert.Equal("*/5 * * * *", cron.Config.CronSchedule);
        Assert.Equal(h.Context.NowMicros, cron.ScheduledMicros);
        Assert.False(cron.LaunchPending);
        Assert.Empty(h.State.TasksOf(Nightly));
        Assert.True(h.State.JobExists(Nightly));
    }

    [Fact]
    public void Scheduling_an_existing_cron_job_replaces_its_template()
    {
        var h = WithQuota();
        h.Execute(new ScheduleCronJob(Configs.Cron()));

        var decision = h.Execute(new ScheduleCronJob(Configs.Cron(schedule: "0 3 * * *", instances: 2), MustExist: true));

        Assert.Equal(Event.KindOneofCase.JobConfigReplaced, Assert.Single(decision.Events).KindCase);
        Assert.Equal("0 3 * * *", h.State.FindCronJob(Nightly)!.Config.CronSchedule);
        Assert.Equal(2, h.State.FindCronJob(Nightly)!.Config.InstanceCount);
    }

    [Fact]
    public void Replacing_the_template_of_a_job_that_is_not_a_cron_job_is_refused()
    {
        var h = WithQuota();

        var rejection = h.Reject(new ScheduleCronJob(Configs.Cron(), MustExist: true));

        Assert.Equal("No cron job found for www-data/prod/nightly.", rejection.Message);
    }

    [Fact]
    public void Scheduling_a_job_without_a_cron_schedule_is_refused()
    {
        var h = WithQuota();

        var rejection = h.Reject(new ScheduleCronJob(Configs.Job(service: false)));

        Assert.Equal("Job www-data/prod/hello has no cron schedule", rejection.Message);
    }

    [Fact]
    public void Scheduling_a_cron_job_over_a_job_with_active_tasks_is_refused()
    {
        var h = WithQuota();
        h.Execute(new CreateJob(Configs.Job(Nightly, service: false)));

        var rejection = h.Reject(new ScheduleCronJob(Configs.Cron()));

        Assert.Equal("Job www-data/prod/nightly already exists", rejection.Message);
    }

    [Fact]
    public void Scheduling_a_cron_job_with_too_many_instances_is_refused()
    {
        var h = WithQuota();

        var rejection = h.Reject(new ScheduleCronJob(Configs.Cron(instances: 4001)));

        Assert.Equal("Instance count must be between 1 and 4000 inclusive.", rejection.Message);
    }

    [Fact]
    public void Scheduling_or_descheduling_a_cron_job_that_is_being_updated_is_refused_as_job_updating()
    {
        var h = WithQuota();
        h.StartUpdate(Configs.Update(Configs.Task(Nightly), 1));

        foreach (var command in new SchedulerCommand[] { new ScheduleCronJob(Configs.Cron()), new DescheduleCronJob(Nightly) })
        {
            var rejection = h.Reject(command);
            Assert.Equal(ErrorCode.JobUpdating, rejection.Code);
            Assert.Equal("Job is currently updating", rejection.Message);
        }
    }

    [Fact]
    public void Descheduling_removes_the_template_and_leaves_running_tasks_alone()
    {
        var h = WithQuota();
        h.Execute(new ScheduleCronJob(Configs.Cron()));
        h.Execute(new TriggerCronJob(Nightly));

        var decision = h.Execute(new DescheduleCronJob(Nightly));

        Assert.Equal(Event.KindOneofCase.CronJobDescheduled, Assert.Single(decision.Events).KindCase);
        Assert.Null(h.State.FindCronJob(Nightly));
        Assert.Single(h.State.ActiveInstances(Nightly));
    }

    [Fact]
    public void Descheduling_a_job_that_is_not_a_cron_job_changes_nothing_and_says_so()
    {
        var h = WithQuota();

        var decision = h.Execute(new DescheduleCronJob(Nightly));

        Assert.False(decision.ChangesState);
        Assert.Equal("Job www-data/prod/nightly is not scheduled with cron", decision.Message);
    }

    [Fact]
    public void Triggering_a_job_that_is_not_a_cron_job_is_refused()
    {
        var h = WithQuota();
        h.Execute(new CreateJob(Configs.Job()));

        var rejection = h.Reject(new TriggerCronJob(Configs.Key()));

        Assert.Equal("Failed to start cron job - No cron job found for www-data/prod/hello.", rejection.Message);
    }

    [Fact]
    public void A_trigger_with_no_active_tasks_launches_every_instance()
    {
        var h = WithQuota();
        h.Execute(new ScheduleCronJob(Configs.Cron(instances: 3)));

        var decision = h.Execute(new TriggerCronJob(Nightly));

        Assert.Equal("LAUNCHED", decision.Message);
        Assert.Equal(CronTriggerOutcome.Launched, decision.Events[0].CronJobTriggered.Outcome);
        Assert.Equal(new[] { 0, 1, 2 }, decision.CreatedTasks().Select(t => t.InstanceId));
        Assert.Equal(new[] { 0, 1, 2 }, h.State.ActiveInstances(Nightly).Keys);
        Assert.False(h.ActiveTask(Nightly, 0).Config.IsService);
    }

    [Fact]
    public void Kill_existing_kills_the_previous_run_and_launches_exactly_once_when_its_last_task_ends()
    {
        var h = WithQuota();
        h.Execute(new ScheduleCronJob(Configs.Cron(instances: 2)));
        h.Execute(new TriggerCronJob(Nightly));
        var first = h.Drive(Nightly, 0, Assigned, Running);
        var second = h.Drive(Nightly, 1, Assigned, Running);

        var trigger = h.Execute(new TriggerCronJob(Nightly));

        Assert.Equal("KILLING_EXISTING", trigger.Message);
        Assert.Equal(new[] { "RUNNING->KILLING", "RUNNING->KILLING" }, trigger.Transitions());
        Assert.All(trigger.EventsOf(Event.KindOneofCase.TaskStateChanged), e => Assert.Equal("Killed by cronScheduler", e.TaskStateChanged.Message));
        Assert.Equal(new[] { first.TaskId, second.TaskId }.Order(StringComparer.Ordinal), trigger.TasksToKill.Order(StringComparer.Ordinal));
        Assert.Empty(trigger.CreatedTasks());
        Assert.True(h.State.FindCronJob(Nightly)!.LaunchPending);

        var ignored = h.Execute(new TriggerCronJob(Nightly));
        Assert.Equal("IGNORED_LAUNCH_PENDING", ignored.Message);
        Assert.Empty(ignored.CreatedTasks());

        var firstGone = h.Execute(new ChangeTaskState(first.TaskId, Killed));
        Assert.Empty(firstGone.CreatedTasks());
        Assert.True(h.State.FindCronJob(Nightly)!.LaunchPending);

        var lastGone = h.Execute(new ChangeTaskState(second.TaskId, Finished));
        Assert.Equal(new[] { 0, 1 }, lastGone.CreatedTasks().Select(t => t.InstanceId));
        Assert.Equal(CronTriggerOutcome.DeferredLaunched, Assert.Single(lastGone.EventsOf(Event.KindOneofCase.CronJobTriggered)).CronJobTriggered.Outcome);
        Assert.False(h.State.FindCronJob(Nightly)!.LaunchPending);
        Assert.Equal(4, h.State.TasksOf(Nightly).Count);

        var newRun = h.ActiveTask(Nightly, 0);
        h.Execute(new KillTasks(Nightly));
        Assert.Null(h.State.FindTask(newRun.TaskId));
        Assert.Equal(2, h.State.TasksOf(Nightly).Count);
    }

    [Fact]
    public void Kill_existing_over_pending_tasks_replaces_them_in_the_same_transaction()
    {
        var h = WithQuota();
        h.Execute(new ScheduleCronJob(Configs.Cron(instances: 2)));
        h.Execute(new TriggerCronJob(Nightly));
        var previous = h.State.TasksOf(Nightly).Select(t => t.TaskId).ToHashSet();

        var decision = h.Execute(new TriggerCronJob(Nightly));

        Assert.Equal(
            new[] { Event.KindOneofCase.CronJobTriggered, Event.KindOneofCase.TasksPruned, Event.KindOneofCase.TasksPruned, Event.KindOneofCase.CronJobTriggered, Event.KindOneofCase.TasksCreated },
            decision.Events.Select(e => e.KindCase));
        Assert.Equal(2, decision.CreatedTasks().Count);
        Assert.False(h.State.FindCronJob(Nightly)!.LaunchPending);
        Assert.Equal(2, h.State.ActiveInstances(Nightly).Count);
        Assert.DoesNotContain(h.State.TasksOf(Nightly), t => previous.Contains(t.TaskId));
    }

    [Fact]
    public void Cancel_new_skips_the_run_while_the_previous_one_is_active()
    {
        var h = WithQuota();
        h.Execute(new ScheduleCronJob(Configs.Cron(policy: CronCollisionPolicy.CancelNew)));
        h.Execute(new TriggerCronJob(Nightly));
        var running = h.Drive(Nightly, 0, Assigned, Running);

        var decision = h.Execute(new TriggerCronJob(Nightly));

        Assert.Equal("SKIPPED", decision.Message);
        Assert.Equal(Event.KindOneofCase.CronJobTriggered, Assert.Single(decision.Events).KindCase);
        Assert.Equal(Running, running.Status);
        Assert.Single(h.State.TasksOf(Nightly));
    }

    [Fact]
    public void A_cron_run_is_a_new_run_once_the_previous_one_has_ended()
    {
        var h = WithQuota();
        h.Execute(new ScheduleCronJob(Configs.Cron(policy: CronCollisionPolicy.CancelNew)));
        h.Execute(new TriggerCronJob(Nightly));
        h.Drive(Nightly, 0, Assigned, Running, Finished);

        var decision = h.Execute(new TriggerCronJob(Nightly));

        Assert.Equal("LAUNCHED", decision.Message);
        Assert.Single(decision.CreatedTasks());
    }

    private static DomainHarness WithQuota()
    {
        var h = new DomainHarness();
        h.Execute(new SetQuota("www-data", DomainScenarios.AmpleQuota));
        return h;
    }
}
