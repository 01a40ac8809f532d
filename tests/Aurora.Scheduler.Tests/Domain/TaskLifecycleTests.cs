using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Google.Protobuf;
using static Aurora.Scheduler.Protos.ScheduleStatus;

namespace Aurora.Scheduler.Tests.Domain;

/// <summary>Task transitions end to end: commands decide, the log applies, and the state shows Aurora's effects.</summary>
public class TaskLifecycleTests
{
    private static readonly TimeSpan LongRun = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan ShortRun = TimeSpan.FromMinutes(1);

    [Fact]
    public void A_failed_task_is_rescheduled_as_a_new_task_for_the_same_instance_with_its_ancestor_and_failures()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(instances: 2));

        var (failed, decision) = Run(h, job, LongRun, Failed, instance: 1);

        var successor = h.ActiveTask(job, 1);
        Assert.NotEqual(failed.TaskId, successor.TaskId);
        Assert.StartsWith("www-data-prod-hello-1-", successor.TaskId, StringComparison.Ordinal);
        Assert.Equal(1, successor.InstanceId);
        Assert.Equal(failed.TaskId, successor.AncestorId);
        Assert.Equal(Failed, failed.Status);
        Assert.Equal(1, failed.FailureCount);
        Assert.Equal(1, successor.FailureCount);
        Assert.Equal(Pending, successor.Status);
        Assert.Equal("Rescheduled", successor.Events[0].Message);
        Assert.Equal(0, successor.PenaltyMs);
        Assert.Equal(failed.Config, successor.Config);
        Assert.Equal(new[] { "RUNNING->FAILED" }, decision.Transitions());
        Assert.Single(decision.CreatedTasks());
        Assert.Empty(decision.TasksToKill);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 3)]
    [InlineData(5, 5)]
    public void A_batch_job_with_max_task_failures_N_runs_at_most_N_times(int maxTaskFailures, int expectedRuns)
    {
        var h = new DomainHarness();
        var config = Configs.Job(service: false);
        config.Task.MaxTaskFailures = maxTaskFailures;
        var job = h.CreateJobWithQuota(config);

        var runs = 0;
        while (h.State.ActiveInstances(job).Count > 0 && runs < 20)
        {
            var (task, _) = Run(h, job, LongRun, Failed);
            runs++;
            Assert.Equal(runs, task.FailureCount);
        }

        Assert.Equal(expectedRuns, runs);
        Assert.Equal(expectedRuns, h.State.TasksOf(job).Count);
        Assert.All(h.State.TasksOf(job), t => Assert.Equal(Failed, t.Status));
    }

    [Fact]
    public void Unlimited_max_task_failures_keeps_rescheduling_a_batch_task()
    {
        var h = new DomainHarness();
        var config = Configs.Job(service: false);
        config.Task.MaxTaskFailures = -1;
        var job = h.CreateJobWithQuota(config);

        for (var run = 1; run <= 6; run++)
        {
            Run(h, job, LongRun, Failed);
            Assert.Equal(run, h.ActiveTask(job, 0).FailureCount);
        }
    }

    [Fact]
    public void Service_jobs_ignore_max_task_failures()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(service: true));

        for (var run = 1; run <= 4; run++)
        {
            Run(h, job, LongRun, Failed);
        }

        Assert.Equal(4, h.ActiveTask(job, 0).FailureCount);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, false)]
    public void A_finished_task_is_rescheduled_only_for_a_service(bool service, bool rescheduled)
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(service: service));

        var (finished, decision) = Run(h, job, LongRun, Finished);

        Assert.Equal(rescheduled, h.State.ActiveInstances(job).Count == 1);
        Assert.Equal(rescheduled ? 1 : 0, decision.CreatedTasks().Count);
        Assert.Equal(0, finished.FailureCount);
    }

    [Fact]
    public void A_task_that_ran_less_than_five_minutes_gets_a_throttled_successor_penalized_thirty_seconds()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());

        var (flapped, _) = Run(h, job, ShortRun, Failed);

        var successor = h.ActiveTask(job, 0);
        Assert.Equal(Throttled, successor.Status);
        Assert.Equal(30_000, successor.PenaltyMs);
        Assert.Equal("Rescheduled, penalized for 30000 ms for flapping", successor.Events[0].Message);
        Assert.Equal(flapped.TaskId, successor.AncestorId);
    }

    [Theory]
    [InlineData(299, true)]
    [InlineData(300, false)]
    [InlineData(301, false)]
    public void The_flapping_threshold_is_five_minutes_of_running(int ranSeconds, bool throttled)
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());

        Run(h, job, TimeSpan.FromSeconds(ranSeconds), Failed);

        Assert.Equal(throttled ? Throttled : Pending, h.ActiveTask(job, 0).Status);
    }

    [Fact]
    public void Consecutive_flapping_doubles_the_penalty_up_to_five_minutes_and_a_long_run_resets_it()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());

        foreach (var penaltyMs in new long[] { 30_000, 60_000, 120_000, 240_000, 300_000, 300_000 })
        {
            Run(h, job, ShortRun, Failed);
            var successor = h.ActiveTask(job, 0);
            Assert.Equal(Throttled, successor.Status);
            Assert.Equal(penaltyMs, successor.PenaltyMs);
            Assert.Equal($"Rescheduled, penalized for {penaltyMs} ms for flapping", successor.Events[0].Message);
        }

        Run(h, job, LongRun, Failed);
        Assert.Equal(Pending, h.ActiveTask(job, 0).Status);
        Assert.Equal(0, h.ActiveTask(job, 0).PenaltyMs);

        Run(h, job, ShortRun, Failed);
        Assert.Equal(30_000, h.ActiveTask(job, 0).PenaltyMs);
    }

    [Fact]
    public void A_task_lost_soon_after_it_started_running_is_penalized_for_flapping()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());

        Run(h, job, ShortRun, Lost);

        Assert.Equal(Throttled, h.ActiveTask(job, 0).Status);
    }

    [Fact]
    public void A_task_restarted_soon_after_it_started_is_not_penalized_for_flapping()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned, Running);
        h.Advance(ShortRun);

        h.Execute(new RestartInstances(job, [0]));
        h.Execute(new ChangeTaskState(task.TaskId, Killed));

        var successor = h.ActiveTask(job, 0);
        Assert.Equal(Pending, successor.Status);
        Assert.Equal("Rescheduled", successor.Events[0].Message);
    }

    [Fact]
    public void A_task_that_fails_while_starting_is_penalized_for_flapping()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned, Starting);
        h.Advance(TimeSpan.FromSeconds(10));

        h.Execute(new ChangeTaskState(task.TaskId, Failed, "exit 1"));

        var successor = h.ActiveTask(job, 0);
        Assert.Equal(Throttled, successor.Status);
        Assert.Equal(30_000, successor.PenaltyMs);
    }

    [Fact]
    public void A_throttled_task_becomes_pending_and_can_then_be_placed()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        Run(h, job, ShortRun, Failed);
        var throttled = h.ActiveTask(job, 0);
        h.Reject(new AssignTask(throttled.TaskId, "agent-1", "host-1", []));

        h.Execute(new ChangeTaskState(throttled.TaskId, Pending, "Penalty expired"));
        h.Drive(job, 0, Assigned);

        Assert.Equal(Assigned, throttled.Status);
    }

    [Theory]
    [InlineData(Running, "PENDING", "RUNNING")]
    [InlineData(Finished, "PENDING", "FINISHED")]
    [InlineData(Killed, "PENDING", "KILLED")]
    [InlineData(Partitioned, "PENDING", "PARTITIONED")]
    [InlineData(Pending, "PENDING", "PENDING")]
    public void An_illegal_transition_is_rejected_naming_both_statuses_and_changes_nothing(ScheduleStatus to, string fromName, string toName)
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.ActiveTask(job, 0);

        var rejection = h.Reject(new ChangeTaskState(task.TaskId, to, "agent says so"));

        Assert.Equal(ErrorCode.InvalidRequest, rejection.Code);
        Assert.Equal($"Task {task.TaskId} cannot move from {fromName} to {toName}.", rejection.Message);
    }

    [Fact]
    public void An_illegal_transition_of_a_terminal_task_is_rejected()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(service: false));
        var (finished, _) = Run(h, job, LongRun, Finished);

        var rejection = h.Reject(new ChangeTaskState(finished.TaskId, Killed));

        Assert.Equal($"Task {finished.TaskId} cannot move from FINISHED to KILLED.", rejection.Message);
    }

    [Fact]
    public void A_terminal_task_reported_running_is_killed_as_a_zombie_without_changing_state()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job(service: false));
        var (finished, _) = Run(h, job, LongRun, Finished);

        var decision = h.Execute(new ChangeTaskState(finished.TaskId, Running, "still running here"));

        Assert.False(decision.ChangesState);
        Assert.Equal(new[] { finished.TaskId }, decision.TasksToKill);
        Assert.Equal(Finished, finished.Status);
    }

    [Fact]
    public void A_state_change_of_an_unknown_task_is_rejected_as_not_found()
    {
        var h = new DomainHarness();

        var rejection = h.Reject(new ChangeTaskState("no-such-task", Running));

        Assert.Equal(ErrorCode.NotFound, rejection.Code);
        Assert.Equal("Task no-such-task does not exist.", rejection.Message);
    }

    [Fact]
    public void Lost_while_assigned_reschedules_and_asks_the_agent_to_kill()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned);

        var decision = h.Execute(new ChangeTaskState(task.TaskId, Lost, "Task timed out"));

        Assert.Equal(new[] { task.TaskId }, decision.TasksToKill);
        Assert.Equal(task.TaskId, Assert.Single(decision.CreatedTasks()).AncestorId);
        Assert.Equal(0, h.ActiveTask(job, 0).FailureCount);
    }

    [Fact]
    public void Lost_while_running_reschedules_without_a_kill()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());

        var (task, decision) = Run(h, job, LongRun, Lost);

        Assert.Empty(decision.TasksToKill);
        Assert.Equal(task.TaskId, Assert.Single(decision.CreatedTasks()).AncestorId);
    }

    [Fact]
    public void Killing_a_partitioned_task_marks_it_lost_without_rescheduling()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned, Running, Partitioned);
        Assert.Equal(1, task.TimesPartitioned);

        var decision = h.Execute(new KillTasks(job));

        Assert.Equal(new[] { "PARTITIONED->KILLING", "KILLING->LOST" }, decision.Transitions());
        Assert.Equal(
            "Action performed on partitioned task, marking as LOST.",
            decision.EventsOf(Event.KindOneofCase.TaskStateChanged)[1].TaskStateChanged.Message);
        Assert.Empty(decision.CreatedTasks());
        Assert.Equal(Lost, task.Status);
        Assert.Empty(h.State.ActiveInstances(job));
    }

    [Fact]
    public void Restarting_a_partitioned_task_marks_it_lost_and_reschedules_it()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned, Running, Partitioned);

        var decision = h.Execute(new RestartInstances(job, [0]));

        Assert.Equal(new[] { "PARTITIONED->RESTARTING", "RESTARTING->LOST" }, decision.Transitions());
        Assert.Equal(task.TaskId, Assert.Single(decision.CreatedTasks()).AncestorId);
        Assert.Equal(Lost, task.Status);
    }

    [Fact]
    public void Restarting_a_partitioned_task_does_not_penalize_its_successor_for_flapping()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        h.Drive(job, 0, Assigned, Running, Partitioned);

        var decision = h.Execute(new RestartInstances(job, [0]));

        var successor = Assert.Single(decision.CreatedTasks());
        Assert.Equal(Pending, successor.Status);
        Assert.Equal("Rescheduled", successor.Message);
    }

    [Fact]
    public void A_partitioned_task_that_is_lost_is_killed_and_rescheduled()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned, Running, Partitioned);
        h.Advance(LongRun);

        var decision = h.Execute(new ChangeTaskState(task.TaskId, Lost, "Task partitioned for too long."));

        Assert.Equal(new[] { task.TaskId }, decision.TasksToKill);
        Assert.Equal(task.TaskId, Assert.Single(decision.CreatedTasks()).AncestorId);
    }

    [Fact]
    public void A_task_partitioned_while_being_killed_is_marked_lost_without_rescheduling()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned, Running);
        h.Execute(new KillTasks(job));

        var decision = h.Execute(new ChangeTaskState(task.TaskId, Partitioned));

        Assert.Equal(new[] { "KILLING->PARTITIONED", "PARTITIONED->LOST" }, decision.Transitions());
        Assert.Empty(decision.CreatedTasks());
        Assert.Equal(Lost, task.Status);
    }

    [Fact]
    public void A_partitioned_task_that_comes_back_is_running_again()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned, Running, Partitioned);

        var decision = h.Execute(new ChangeTaskState(task.TaskId, Running));

        Assert.Equal(new[] { "PARTITIONED->RUNNING" }, decision.Transitions());
        Assert.Empty(decision.CreatedTasks());
        Assert.Equal(Running, task.Status);
    }

    [Fact]
    public void A_partitioned_task_that_failed_counts_the_failure()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned, Running, Partitioned);
        h.Advance(LongRun);

        h.Execute(new ChangeTaskState(task.TaskId, Failed));

        Assert.Equal(1, task.FailureCount);
        Assert.Equal(1, h.ActiveTask(job, 0).FailureCount);
    }

    [Fact]
    public void Forcing_a_task_state_is_audited_with_the_principal()
    {
        var h = new DomainHarness { Principal = "root" };
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned, Running);

        var decision = h.Execute(new ForceTaskState(task.TaskId, Killed));

        Assert.Equal("Transition forced by root", Assert.Single(decision.EventsOf(Event.KindOneofCase.TaskStateChanged)).TaskStateChanged.Message);
        Assert.Equal("Transition forced by root", task.LatestEvent.Message);
        Assert.Single(decision.CreatedTasks());
    }

    [Fact]
    public void Forcing_an_illegal_task_state_is_rejected()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.ActiveTask(job, 0);

        var rejection = h.Reject(new ForceTaskState(task.TaskId, Finished));

        Assert.Equal($"Task {task.TaskId} cannot move from PENDING to FINISHED.", rejection.Message);
    }

    [Fact]
    public void Every_recorded_event_keeps_its_time_message_and_reporting_host()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned);
        h.Advance(TimeSpan.FromSeconds(3));

        h.Execute(new ChangeTaskState(task.TaskId, Running, "started", "host-0"));

        var latest = task.LatestEvent;
        Assert.Equal(Running, latest.Status);
        Assert.Equal("started", latest.Message);
        Assert.Equal("host-0", latest.Host);
        Assert.Equal(h.Context.NowMicros, latest.TimeMicros);
        Assert.Equal(new[] { Pending, Assigned, Running }, task.Events.ToArray().Select(e => e.Status));
    }

    [Fact]
    public void Apply_refuses_a_transition_from_a_status_the_task_is_not_in()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.ActiveTask(job, 0);
        var before = h.State.StateHash();
        var e = new Event { TaskStateChanged = new TaskStateChanged { TaskId = task.TaskId, From = Running, To = Finished } };

        var error = Assert.Throws<EventApplyException>(() => h.State.Apply(new TransactionInfo(42, 0, "bob"), e));

        Assert.Equal(42UL, error.Position);
        Assert.Equal($"task {task.TaskId} is PENDING, but the event moves it from RUNNING", error.Problem);
        Assert.Equal($"Cannot apply the event at log position 42: task {task.TaskId} is PENDING, but the event moves it from RUNNING.", error.Message);
        Assert.Equal(before, h.State.StateHash());
    }

    [Theory]
    [InlineData(Pending, Running)]
    [InlineData(Pending, Killing)]
    public void Apply_refuses_a_transition_that_could_not_have_been_decided(ScheduleStatus from, ScheduleStatus to)
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.ActiveTask(job, 0);
        var e = new Event { TaskStateChanged = new TaskStateChanged { TaskId = task.TaskId, From = from, To = to } };

        var error = Assert.Throws<EventApplyException>(() => h.State.Apply(new TransactionInfo(5, 0, "bob"), e));

        Assert.Contains("is not a recordable transition", error.Problem, StringComparison.Ordinal);
        Assert.Equal(Pending, task.Status);
    }

    [Fact]
    public void Apply_refuses_assigning_a_task_that_is_not_pending_and_creating_a_task_twice()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.Drive(job, 0, Assigned);
        var created = h.Log.Select(l => l.Transaction.Events.FirstOrDefault(e => e.KindCase == Event.KindOneofCase.TasksCreated)).First(e => e is not null)!;

        var assign = Assert.Throws<EventApplyException>(() =>
            h.State.Apply(new TransactionInfo(9, 0, "bob"), new Event { TaskAssigned = new TaskAssigned { TaskId = task.TaskId, AgentId = "a", Host = "h" } }));
        var duplicate = Assert.Throws<EventApplyException>(() => h.State.Apply(new TransactionInfo(10, 0, "bob"), created));

        Assert.Equal($"task {task.TaskId} assigned while ASSIGNED, not PENDING", assign.Problem);
        Assert.Equal($"task {task.TaskId} already exists", duplicate.Problem);
    }

    [Fact]
    public void Apply_refuses_an_event_of_an_unknown_kind_naming_its_field_number()
    {
        var state = new SchedulerState();
        var e = EventWithUnknownField(99);
        Assert.Equal(Event.KindOneofCase.None, e.KindCase);
        var before = state.StateHash();

        var error = Assert.Throws<UnknownEventException>(() => state.Apply(new TransactionInfo(7, 0, "future"), e));

        Assert.Equal(7UL, error.Position);
        Assert.Equal(
            "Cannot apply the event at log position 7: unknown event kind (field numbers 99); it was written by a newer Aurora.NET: upgrade this binary before replaying the log.",
            error.Message);
        Assert.IsAssignableFrom<EventApplyException>(error);
        Assert.Equal(before, state.StateHash());
    }

    [Fact]
    public void Apply_refuses_an_empty_event()
    {
        var error = Assert.Throws<UnknownEventException>(() => new SchedulerState().Apply(new TransactionInfo(3, 0, "x"), new Event()));

        Assert.Contains("(field numbers none)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_stops_a_transaction_at_its_unknown_event()
    {
        var h = new DomainHarness();
        var job = h.CreateJobWithQuota(Configs.Job());
        var task = h.ActiveTask(job, 0);
        var transaction = new Transaction();
        transaction.Events.Add(EventWithUnknownField(64));
        transaction.Events.Add(new Event { TasksPruned = new TasksPruned { TaskIds = { task.TaskId } } });

        Assert.Throws<UnknownEventException>(() => h.State.Apply(new TransactionInfo(11, 0, "x"), transaction));

        Assert.NotNull(h.State.FindTask(task.TaskId));
    }

    /// <summary>Drives the instance's active task (after its penalty, if throttled) to RUNNING, lets it run, then ends it.</summary>
    private static (TaskRecord Task, Decision Decision) Run(DomainHarness h, JobKey job, TimeSpan ranFor, ScheduleStatus end, int instance = 0)
    {
        var task = h.ActiveTask(job, instance);
        if (task.Status == Throttled)
        {
            h.Advance(TimeSpan.FromMilliseconds(task.PenaltyMs));
            h.Execute(new ChangeTaskState(task.TaskId, Pending, "Penalty expired"));
        }

        h.Drive(job, instance, Assigned, Running);
        h.Advance(ranFor);
        return (task, h.Execute(new ChangeTaskState(task.TaskId, end, "test")));
    }

    private static Event EventWithUnknownField(int fieldNumber)
    {
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            output.WriteTag(fieldNumber, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFromUtf8("an event from a newer scheduler"));
        }

        return Event.Parser.ParseFrom(buffer.ToArray());
    }
}
