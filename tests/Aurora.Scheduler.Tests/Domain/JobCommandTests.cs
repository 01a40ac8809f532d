using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using static Aurora.Scheduler.Protos.ScheduleStatus;

namespace Aurora.Scheduler.Tests.Domain;

/// <summary>createJob, killTasks, restartShards and addInstances: what they change and every refusal.</summary>
public class JobCommandTests
{
    [Fact]
    public void Creating_a_job_records_it_and_creates_a_pending_task_per_instance()
    {
        var h = new DomainHarness();
        h.Execute(new SetQuota("www-data", DomainScenarios.AmpleQuota));

        var decision = h.Execute(new CreateJob(Configs.Job(instances: 3)));

        Assert.Equal(Event.KindOneofCase.JobCreated, decision.Events[0].KindCase);
        Assert.True(decision.Events[0].JobCreated.Config.Task.Production);
        var created = decision.CreatedTasks();
        Assert.Equal(new[] { 0, 1, 2 }, created.Select(t => t.InstanceId));
        Assert.All(created, t => Assert.Equal(Pending, t.Status));
        Assert.All(created, t => Assert.Matches(@"^www-data-prod-hello-\d-[0-9a-f-]{36}$", t.TaskId));
        Assert.Equal(3, created.Select(t => t.TaskId).Distinct().Count());
        Assert.Equal(new[] { 0, 1, 2 }, h.State.ActiveInstances(Configs.Key()).Keys);
        Assert.True(h.State.JobExists(Configs.Key()));
        Assert.Contains(Configs.Key(), h.State.JobsOfRole("www-data"));
    }

    [Fact]
    public void Creating_a_cron_job_is_refused()
    {
        var h = new DomainHarness();

        var rejection = h.Reject(new CreateJob(Configs.Cron()));

        Assert.Equal("Cron jobs may only be created/updated by calling scheduleCronJob.", rejection.Message);
    }

    [Fact]
    public void Creating_a_job_that_has_active_tasks_is_refused()
    {
        var h = new DomainHarness();
        h.CreateJobWithQuota(Configs.Job());

        var rejection = h.Reject(new CreateJob(Configs.Job()));

        Assert.Equal("Job www-data/prod/hello already exists", rejection.Message);
    }

    [Fact]
    public void Creating_a_job_that_is_a_cron_job_is_refused()
    {
        var h = new DomainHarness();
        h.Execute(new SetQuota("www-data", DomainScenarios.AmpleQuota));
        h.Execute(new ScheduleCronJob(Configs.Cron()));

        var rejection = h.Reject(new CreateJob(Configs.Job(Configs.Key(name: "nightly"))));

        Assert.Equal("Job www-data/prod/nightly already exists", rejection.Message);
    }

    [Fact]
    public void A_job_whose_tasks_all_ended_can_be_created_again()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(service: false));
        var task = h.Drive(job, 0, Assigned, Running, Finished);

        h.Execute(new CreateJob(Configs.Job(service: false)));

        Assert.NotEqual(task.TaskId, h.ActiveTask(job, 0).TaskId);
    }

    [Fact]
    public void Creating_more_instances_than_max_tasks_per_job_is_refused()
    {
        var h = new DomainHarness();
        h.Execute(new SetQuota("www-data", DomainScenarios.AmpleQuota));

        var rejection = h.Reject(new CreateJob(Configs.Job(instances: 4001)));

        Assert.Equal("Instance count must be between 1 and 4000 inclusive.", rejection.Message);
    }

    [Fact]
    public void The_instance_limit_follows_the_setting()
    {
        var h = new DomainHarness(settings: SchedulerSettings.Default with { MaxTasksPerJob = 3 });
        h.Execute(new SetQuota("www-data", DomainScenarios.AmpleQuota));

        h.Execute(new CreateJob(Configs.Job(Configs.Key(name: "three"), instances: 3)));
        var rejection = h.Reject(new CreateJob(Configs.Job(instances: 4)));

        Assert.Equal("Instance count must be between 1 and 3 inclusive.", rejection.Message);
    }

    [Fact]
    public void Killing_pending_tasks_deletes_them_at_once()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(instances: 2));
        var ids = h.State.TasksOf(job).Select(t => t.TaskId).Order(StringComparer.Ordinal).ToArray();

        var decision = h.Execute(new KillTasks(job));

        Assert.Equal(Event.KindOneofCase.JobKilled, decision.Events[0].KindCase);
        var pruned = decision.EventsOf(Event.KindOneofCase.TasksPruned).SelectMany(e => e.TasksPruned.TaskIds).Order(StringComparer.Ordinal);
        Assert.Equal(ids, pruned);
        Assert.All(decision.EventsOf(Event.KindOneofCase.TasksPruned), e => Assert.Equal("Killed by alice", e.TasksPruned.Reason));
        Assert.Empty(decision.Transitions());
        Assert.Empty(decision.TasksToKill);
        Assert.Empty(h.State.TasksOf(job));
        Assert.False(h.State.JobExists(job));
    }

    [Fact]
    public void Killing_a_running_task_moves_it_to_killing_then_killed_without_reschedule()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned, Running);

        var kill = h.Execute(new KillTasks(job));

        Assert.Equal(new[] { "RUNNING->KILLING" }, kill.Transitions());
        Assert.Equal(new[] { task.TaskId }, kill.TasksToKill);
        Assert.Equal("Killed by alice", task.LatestEvent.Message);
        Assert.Equal(Killing, task.Status);

        var killed = h.Execute(new ChangeTaskState(task.TaskId, Killed));

        Assert.Empty(killed.CreatedTasks());
        Assert.Equal(Killed, task.Status);
        Assert.Empty(h.State.ActiveInstances(job));
    }

    [Fact]
    public void A_kill_message_is_appended_to_the_audit_text()
    {
        var h = new DomainHarness { Principal = "shiro" };
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned, Running);

        h.Execute(new KillTasks(job, Message: "Test message"));

        Assert.Equal("Killed by shiro.\nTest message", task.LatestEvent.Message);
    }

    [Fact]
    public void Killing_some_instances_leaves_the_others()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job(instances: 3));

        var decision = h.Execute(new KillTasks(job, [0, 2]));

        Assert.Equal(new[] { 0, 2 }, decision.Events[0].JobKilled.Instances);
        Assert.Equal(Killing, h.ActiveTask(job, 0).Status);
        Assert.Equal(Running, h.ActiveTask(job, 1).Status);
        Assert.Equal(Killing, h.ActiveTask(job, 2).Status);
    }

    [Fact]
    public void Killing_when_nothing_is_active_changes_nothing_and_says_so()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());

        var unknownJob = h.Execute(new KillTasks(Configs.Key(name: "nothing")));
        var unknownInstance = h.Execute(new KillTasks(job, [7]));

        Assert.False(unknownJob.ChangesState);
        Assert.Equal("No tasks to kill.", unknownJob.Message);
        Assert.False(unknownInstance.ChangesState);
        Assert.Equal("No tasks to kill.", unknownInstance.Message);
    }

    [Fact]
    public void Killing_a_job_with_an_invalid_key_is_refused()
    {
        var h = new DomainHarness();

        var rejection = h.Reject(new KillTasks(Configs.Key(role: "bad role")));

        Assert.Equal(@"Job role 'bad role' is invalid: it must be 1 to 255 of the characters A-Z a-z 0-9 _ - . and not start with '.'.", rejection.Message);
    }

    [Fact]
    public void Restarting_moves_running_tasks_to_restarting_and_reschedules_them_once_killed()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job(instances: 2));
        var task = h.ActiveTask(job, 1);

        var restart = h.Execute(new RestartInstances(job, [1]));

        Assert.Equal(new[] { "RUNNING->RESTARTING" }, restart.Transitions());
        Assert.Equal(new[] { task.TaskId }, restart.TasksToKill);
        Assert.Equal("Restarted by alice", task.LatestEvent.Message);
        Assert.Empty(restart.CreatedTasks());

        var killed = h.Execute(new ChangeTaskState(task.TaskId, Killed));

        var successor = Assert.Single(killed.CreatedTasks());
        Assert.Equal(1, successor.InstanceId);
        Assert.Equal(task.TaskId, successor.AncestorId);
        Assert.Equal(Pending, successor.Status);
        Assert.Equal(0, successor.FailureCount);
    }

    [Fact]
    public void Restarting_a_task_that_is_not_running_yet_changes_nothing()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());

        var decision = h.Execute(new RestartInstances(job, [0]));

        Assert.False(decision.ChangesState);
        Assert.Equal(Pending, h.ActiveTask(job, 0).Status);
    }

    [Fact]
    public void Restarting_instances_that_are_not_all_active_is_refused()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job(instances: 2));

        Assert.Equal("Not all requested shards are active.", h.Reject(new RestartInstances(job, [0, 5])).Message);
        Assert.Equal("Not all requested shards are active.", h.Reject(new RestartInstances(job, [])).Message);
        Assert.Equal("Not all requested shards are active.", h.Reject(new RestartInstances(Configs.Key(name: "none"), [0])).Message);
    }

    [Fact]
    public void Added_instances_get_ids_after_the_highest_active_one_and_its_configuration()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(instances: 3));
        h.Execute(new KillTasks(job, [1]));

        var decision = h.Execute(new AddInstances(job, 0, 2));

        Assert.Equal(new[] { 3, 4 }, decision.Events[0].InstancesAdded.Instances);
        Assert.Equal(new[] { 3, 4 }, decision.CreatedTasks().Select(t => t.InstanceId));
        Assert.Equal(new[] { 0, 2, 3, 4 }, h.State.ActiveInstances(job).Keys);
        Assert.Equal(h.ActiveTask(job, 0).Config, h.ActiveTask(job, 4).Config);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Adding_no_instances_is_refused(int count)
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());

        Assert.Equal("Instance count must be positive.", h.Reject(new AddInstances(job, 0, count)).Message);
    }

    [Fact]
    public void Adding_instances_to_a_cron_job_is_refused()
    {
        var h = new DomainHarness();
        h.Execute(new SetQuota("www-data", DomainScenarios.AmpleQuota));
        h.Execute(new ScheduleCronJob(Configs.Cron()));
        var cron = Configs.Key(name: "nightly");
        h.Execute(new TriggerCronJob(cron));

        Assert.Equal("Instances may not be added to cron jobs.", h.Reject(new AddInstances(cron, 0, 1)).Message);
    }

    [Fact]
    public void Adding_instances_from_an_instance_that_is_not_active_is_refused()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(instances: 2));

        Assert.Equal("No active task found for a given instance ID.", h.Reject(new AddInstances(job, 2, 1)).Message);
        Assert.Equal("No active task found for a given instance ID.", h.Reject(new AddInstances(Configs.Key(name: "none"), 0, 1)).Message);
    }

    [Fact]
    public void Adding_instances_beyond_max_tasks_per_job_is_refused()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(instances: 2));

        Assert.Equal("Instance count must be between 1 and 4000 inclusive.", h.Reject(new AddInstances(job, 0, 3999)).Message);
    }

    [Fact]
    public void Commands_on_a_job_with_an_active_update_are_refused_as_job_updating()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job(instances: 2));
        h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 2));

        foreach (var command in new SchedulerCommand[]
        {
            new KillTasks(job),
            new RestartInstances(job, [0]),
            new AddInstances(job, 0, 1),
        })
        {
            var rejection = h.Reject(command);
            Assert.Equal(ErrorCode.JobUpdating, rejection.Code);
            Assert.Equal("Job is currently updating", rejection.Message);
        }
    }

    [Fact]
    public void Creating_a_job_that_is_being_updated_into_existence_is_refused_as_job_updating()
    {
        var h = new DomainHarness();
        h.Execute(new SetQuota("www-data", DomainScenarios.AmpleQuota));
        h.StartUpdate(Configs.Update(Configs.Task(), 2));

        var rejection = h.Reject(new CreateJob(Configs.Job()));

        Assert.Equal(ErrorCode.JobUpdating, rejection.Code);
        Assert.Equal("Job is currently updating", rejection.Message);
    }

    [Fact]
    public void Pruning_terminal_tasks_by_hand_removes_them_with_an_audit_reason()
    {
        var h = new DomainHarness { Principal = "root" };
        var job = h.CreateJobWithQuota(Configs.Job(instances: 2, service: false));
        var first = h.Drive(job, 0, Assigned, Running, Finished);
        var second = h.Drive(job, 1, Assigned, Failed);

        var decision = h.Execute(new PruneTasks([second.TaskId, first.TaskId, first.TaskId]));

        var pruned = Assert.Single(decision.EventsOf(Event.KindOneofCase.TasksPruned)).TasksPruned;
        Assert.Equal(new[] { first.TaskId, second.TaskId }.Order(StringComparer.Ordinal), pruned.TaskIds);
        Assert.Equal("Pruned by root", pruned.Reason);
        Assert.Empty(h.State.TasksOf(job));
    }

    [Fact]
    public void Pruning_a_task_that_is_still_active_is_refused()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(instances: 2, service: false));
        var done = h.Drive(job, 0, Assigned, Finished);
        var active = h.ActiveTask(job, 1);

        var rejection = h.Reject(new PruneTasks([done.TaskId, active.TaskId]));

        Assert.Equal("Tasks in non-terminal state cannot be pruned.", rejection.Message);
    }

    [Fact]
    public void Pruning_an_unknown_task_is_refused_and_pruning_none_changes_nothing()
    {
        var h = new DomainHarness();

        var rejection = h.Reject(new PruneTasks(["ghost"]));

        Assert.Equal(ErrorCode.NotFound, rejection.Code);
        Assert.Equal("Task ghost does not exist.", rejection.Message);
        Assert.False(h.Execute(new PruneTasks([])).ChangesState);
    }
}
