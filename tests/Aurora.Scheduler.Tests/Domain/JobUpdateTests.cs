using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using static Aurora.Scheduler.Protos.JobUpdateStatus;
using Range = Aurora.Scheduler.Protos.Range;

namespace Aurora.Scheduler.Tests.Domain;

/// <summary>
/// startJobUpdate's validation (in Aurora's order) and instructions, the update state machine
/// behind pause, resume, abort, rollback and pulse, and the job lock an active update holds.
/// </summary>
public class JobUpdateTests
{
    /// <summary>Aurora's JobUpdateStateMachine, transcribed from aurora-features.md §5 (not from the code under test).</summary>
    private static readonly Dictionary<JobUpdateStatus, JobUpdateStatus[]> AuroraUpdateTransitions = new()
    {
        [RollingForward] = [RollingBack, RollForwardPaused, RollForwardAwaitingPulse, RolledForward, Aborted, Failed, Error],
        [RollingBack] = [RollBackPaused, RollBackAwaitingPulse, RolledBack, Aborted, Error, Failed],
        [RollForwardPaused] = [RollingBack, RollingForward, RollForwardAwaitingPulse, Aborted, Error],
        [RollBackPaused] = [RollingBack, RollBackAwaitingPulse, Aborted, Error],
        [RollForwardAwaitingPulse] = [RollingBack, RollingForward, RollForwardPaused, Aborted, Error],
        [RollBackAwaitingPulse] = [RollingBack, RollBackPaused, Aborted, Error],
        [RolledForward] = [],
        [RolledBack] = [],
        [Aborted] = [],
        [Error] = [],
        [Failed] = [],
    };

    /// <summary>Legal steps from ROLLING_FORWARD into each status.</summary>
    private static readonly Dictionary<JobUpdateStatus, JobUpdateStatus[]> PathFromRollingForward = new()
    {
        [RollingForward] = [],
        [RollingBack] = [RollingBack],
        [RollForwardPaused] = [RollForwardPaused],
        [RollBackPaused] = [RollingBack, RollBackPaused],
        [RollForwardAwaitingPulse] = [RollForwardAwaitingPulse],
        [RollBackAwaitingPulse] = [RollingBack, RollBackAwaitingPulse],
        [RolledForward] = [RolledForward],
        [RolledBack] = [RollingBack, RolledBack],
        [Aborted] = [Aborted],
        [Error] = [Error],
        [Failed] = [Failed],
    };

    private static JobUpdateStatus[] UpdateStatuses => Enum.GetValues<JobUpdateStatus>().Where(s => s != JobUpdateStatus.Unspecified).ToArray();

    public static TheoryData<JobUpdateStatus> AllUpdateStatuses => new(UpdateStatuses);

    [Fact]
    public void An_update_that_grows_the_job_creates_only_the_new_instances()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job(instances: 2));

        var key = h.StartUpdate(Configs.Update(Configs.Task(), 4));

        var update = h.State.FindUpdate(key)!;
        Assert.Empty(update.Instructions.InitialState);
        Assert.Equal(new[] { new Range { First = 2, Last = 3 } }, update.Instructions.DesiredState.Instances);
        Assert.Equal(h.ActiveTask(job, 0).Config, update.Instructions.DesiredState.Task);
        Assert.Equal(RollingForward, update.Status);
        Assert.Equal("alice", update.User);
        Assert.Same(update, h.State.ActiveUpdateOf(job));
    }

    [Fact]
    public void An_update_that_shrinks_the_job_only_removes_instances()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job(instances: 4));

        var key = h.StartUpdate(Configs.Update(Configs.Task(), 2));

        var instructions = h.State.FindUpdate(key)!.Instructions;
        var initial = Assert.Single(instructions.InitialState);
        Assert.Equal(new[] { new Range { First = 2, Last = 3 } }, initial.Instances);
        Assert.Equal(h.ActiveTask(job, 2).Config, initial.Task);
        Assert.Null(instructions.DesiredState);
    }

    [Fact]
    public void An_update_that_changes_the_configuration_replaces_every_instance()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job(instances: 3));
        var changed = DomainScenarios.Changed(Configs.Task());

        var key = h.StartUpdate(Configs.Update(changed, 3));

        var instructions = h.State.FindUpdate(key)!.Instructions;
        var initial = Assert.Single(instructions.InitialState);
        Assert.Equal(new[] { new Range { First = 0, Last = 2 } }, initial.Instances);
        Assert.Equal(h.ActiveTask(job, 0).Config, initial.Task);
        Assert.Equal(new[] { new Range { First = 0, Last = 2 } }, instructions.DesiredState.Instances);
        Assert.Equal("echo changed; sleep 60", instructions.DesiredState.Task.Processes[0].Cmdline);
        Assert.True(instructions.DesiredState.Task.Production);
        Assert.Equal(45000, instructions.Settings.MinWaitInInstanceRunningMs);
    }

    [Fact]
    public void An_update_that_changes_and_grows_replaces_the_old_instances_and_adds_the_new()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job(instances: 2));

        var key = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 3));

        var instructions = h.State.FindUpdate(key)!.Instructions;
        Assert.Equal(new[] { new Range { First = 0, Last = 1 } }, Assert.Single(instructions.InitialState).Instances);
        Assert.Equal(new[] { new Range { First = 0, Last = 2 } }, instructions.DesiredState.Instances);
    }

    [Fact]
    public void A_canary_update_touches_only_the_instances_it_names()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job(instances: 6));
        var request = Configs.Update(DomainScenarios.Changed(Configs.Task()), 6);
        request.Settings.UpdateOnlyTheseInstances.AddRange(new[] { new Range { First = 0, Last = 0 }, new Range { First = 3, Last = 4 } });

        var key = h.StartUpdate(request);

        var instructions = h.State.FindUpdate(key)!.Instructions;
        var expected = new[] { new Range { First = 0, Last = 0 }, new Range { First = 3, Last = 4 } };
        Assert.Equal(expected, Assert.Single(instructions.InitialState).Instances);
        Assert.Equal(expected, instructions.DesiredState.Instances);
    }

    [Fact]
    public void An_update_of_a_job_without_tasks_creates_all_its_instances()
    {
        var h = new DomainHarness();
        h.Execute(new SetQuota("www-data", DomainScenarios.AmpleQuota));

        var key = h.StartUpdate(Configs.Update(Configs.Task(), 3));

        var instructions = h.State.FindUpdate(key)!.Instructions;
        Assert.Empty(instructions.InitialState);
        Assert.Equal(new[] { new Range { First = 0, Last = 2 } }, instructions.DesiredState.Instances);
    }

    [Fact]
    public void A_coordinated_update_starts_awaiting_a_pulse_and_keeps_its_message_and_metadata()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job());
        var request = Configs.Update(DomainScenarios.Changed(Configs.Task()), 1);
        request.Settings.BlockIfNoPulsesAfterMs = 60_000;
        request.Metadata.Add(new Metadata { Key = "client_update_id", Value = "abc" });

        var key = (JobUpdateKey)h.Execute(new StartJobUpdate(request, "deploying 1.2")).Value!;

        var update = h.State.FindUpdate(key)!;
        Assert.Equal(RollForwardAwaitingPulse, update.Status);
        Assert.Equal("deploying 1.2", Assert.Single(update.Events).Message);
        Assert.Equal("abc", Assert.Single(update.Metadata).Value);
    }

    [Fact]
    public void An_update_that_changes_nothing_is_not_started_and_says_so()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job(instances: 2));

        var decision = h.Execute(new StartJobUpdate(Configs.Update(Configs.Task(), 2)));

        Assert.False(decision.ChangesState);
        Assert.Equal("Job is unchanged by proposed update.", decision.Message);
        Assert.Null(h.State.ActiveUpdateOf(job));
    }

    [Fact]
    public void A_canary_of_instances_that_already_run_the_new_configuration_changes_nothing()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job(instances: 2));
        var request = Configs.Update(Configs.Task(), 4);
        request.Settings.UpdateOnlyTheseInstances.Add(new Range { First = 0, Last = 1 });

        Assert.Equal(StartJobUpdate.NoopMessage, h.Execute(new StartJobUpdate(request)).Message);
    }

    [Fact]
    public void Naming_instances_outside_the_job_and_the_update_is_refused()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job(instances: 2));
        var request = Configs.Update(DomainScenarios.Changed(Configs.Task()), 3);
        request.Settings.UpdateOnlyTheseInstances.AddRange(new[] { new Range { First = 1, Last = 1 }, new Range { First = 5, Last = 6 } });

        var rejection = h.Reject(new StartJobUpdate(request));

        Assert.Equal(
            "The update request attempted to update specific instances, but some are irrelevant to the update and current job state: [5, 6]",
            rejection.Message);
    }

    [Theory]
    [InlineData("no strategy", "Update strategy provided is unknown.")]
    [InlineData("zero queue size", "All update group sizes must be positive.")]
    [InlineData("negative batch size", "All update group sizes must be positive.")]
    [InlineData("a zero variable batch size", "All update group sizes must be positive.")]
    [InlineData("no variable batch sizes", "Update results in no instance being modified.")]
    [InlineData("negative max per instance failures", "maxPerInstanceFailures must be non-negative.")]
    [InlineData("negative max failed instances", "maxFailedInstances must be non-negative.")]
    [InlineData("too many potential failures", "Your update allows too many failures to occur, consider decreasing the per-instance failures or maxFailedInstances.")]
    [InlineData("negative min wait", "minWaitInInstanceRunningMs must be non-negative.")]
    [InlineData("negative pulse timeout", "blockIfNoPulsesAfterMs must be positive.")]
    public void Each_invalid_update_setting_is_refused_with_Aurora_s_message(string breakage, string message)
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job(instances: 2));
        var request = Configs.Update(DomainScenarios.Changed(Configs.Task()), 2);
        var settings = request.Settings;
        switch (breakage)
        {
            case "no strategy": settings.Strategy = null; break;
            case "zero queue size": settings.Strategy.Queue.GroupSize = 0; break;
            case "negative batch size": settings.Strategy = new JobUpdateStrategy { Batch = new BatchStrategy { GroupSize = -1 } }; break;
            case "a zero variable batch size": settings.Strategy = new JobUpdateStrategy { VariableBatch = new VariableBatchStrategy { GroupSizes = { 2, 0 } } }; break;
            case "no variable batch sizes": settings.Strategy = new JobUpdateStrategy { VariableBatch = new VariableBatchStrategy() }; break;
            case "negative max per instance failures": settings.MaxPerInstanceFailures = -1; break;
            case "negative max failed instances": settings.MaxFailedInstances = -1; break;
            case "too many potential failures": settings.MaxPerInstanceFailures = 10_001; break;
            case "negative min wait": settings.MinWaitInInstanceRunningMs = -1; break;
            case "negative pulse timeout": settings.BlockIfNoPulsesAfterMs = -1; break;
            default: throw new ArgumentOutOfRangeException(nameof(breakage), breakage, null);
        }

        var rejection = h.Reject(new StartJobUpdate(request));

        Assert.Equal(ErrorCode.InvalidRequest, rejection.Code);
        Assert.Equal(message, rejection.Message);
    }

    [Fact]
    public void Per_instance_failures_up_to_the_cluster_limit_are_accepted()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job(instances: 2));
        var request = Configs.Update(DomainScenarios.Changed(Configs.Task()), 2);
        request.Settings.MaxPerInstanceFailures = 10_000;
        request.Settings.Strategy = new JobUpdateStrategy { VariableBatch = new VariableBatchStrategy { GroupSizes = { 1, 2 } } };

        h.StartUpdate(request);
    }

    [Fact]
    public void An_sla_aware_update_of_a_task_without_an_sla_policy_is_refused()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job(instances: 2));
        var request = Configs.Update(DomainScenarios.Changed(Configs.Task()), 2);
        request.Settings.SlaAware = true;

        var rejection = h.Reject(new StartJobUpdate(request));

        Assert.Equal("slaAware is true, but no task slaPolicy is specified.", rejection.Message);
    }

    [Fact]
    public void An_update_without_a_task_configuration_is_refused()
    {
        var h = new DomainHarness();

        var rejection = h.Reject(new StartJobUpdate(new JobUpdateRequest { InstanceCount = 1, Settings = Configs.Update(Configs.Task(), 1).Settings }));

        Assert.Equal("Job configuration must have taskConfig set.", rejection.Message);
    }

    [Fact]
    public void Updating_a_non_service_job_is_refused_before_its_settings_are_checked()
    {
        var h = new DomainHarness();
        var request = Configs.Update(Configs.Task(service: false), 1);
        request.Settings.Strategy = null;

        var rejection = h.Reject(new StartJobUpdate(request));

        Assert.Equal("Updates are not supported for non-service tasks.", rejection.Message);
    }

    [Fact]
    public void Updating_a_cron_job_is_refused()
    {
        var h = new DomainHarness();
        h.Execute(new SetQuota("www-data", DomainScenarios.AmpleQuota));
        h.Execute(new ScheduleCronJob(Configs.Cron()));

        var rejection = h.Reject(new StartJobUpdate(Configs.Update(Configs.Task(Configs.Key(name: "nightly")), 1)));

        Assert.Equal("Cron jobs may only be created/updated by calling scheduleCronJob.", rejection.Message);
    }

    [Fact]
    public void An_update_with_an_invalid_task_configuration_is_refused_with_the_validator_s_message()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job());

        var rejection = h.Reject(new StartJobUpdate(Configs.Update(Configs.Task(tier: "gold"), 1)));

        Assert.Equal("Invalid tier 'gold' in TaskConfig.", rejection.Message);
    }

    [Theory]
    [InlineData(0, "Instance count must be positive.")]
    [InlineData(-2, "Instance count must be positive.")]
    [InlineData(4001, "Instance count must be between 1 and 4000 inclusive.")]
    public void An_update_to_an_invalid_instance_count_is_refused(int instances, string message)
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job());

        Assert.Equal(message, h.Reject(new StartJobUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), instances))).Message);
    }

    [Fact]
    public void A_second_update_while_one_is_active_is_refused()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job());
        var first = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));

        var rejection = h.Reject(new StartJobUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task(), "echo other"), 1)));

        Assert.Equal(ErrorCode.InvalidRequest, rejection.Code);
        Assert.Equal(
            "An active update already exists for this job, please terminate it before starting another. "
            + "Active updates are those in states [ROLLING_FORWARD, ROLLING_BACK, ROLL_FORWARD_PAUSED, ROLL_BACK_PAUSED, ROLL_FORWARD_AWAITING_PULSE, ROLL_BACK_AWAITING_PULSE] "
            + $"(update {first.Id} by alice is ROLLING_FORWARD).",
            rejection.Message);
    }

    [Fact]
    public void Pause_resume_rollback_and_abort_move_the_update_and_abort_releases_the_lock()
    {
        var h = new DomainHarness { Principal = "bob" };
        var job = h.CreateRunningJob(Configs.Job());
        var key = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));
        var update = h.State.FindUpdate(key)!;

        var steps = new (JobUpdateUserAction Action, JobUpdateStatus Expected)[]
        {
            (JobUpdateUserAction.Pause, RollForwardPaused),
            (JobUpdateUserAction.Resume, RollingForward),
            (JobUpdateUserAction.Rollback, RollingBack),
            (JobUpdateUserAction.Pause, RollBackPaused),
            (JobUpdateUserAction.Resume, RollingBack),
            (JobUpdateUserAction.Pause, RollBackPaused),
            (JobUpdateUserAction.Rollback, RollingBack),
        };
        foreach (var (action, expected) in steps)
        {
            h.Execute(new ChangeJobUpdate(key, action, $"{action} please"));
            Assert.Equal(expected, update.Status);
            Assert.Same(update, h.State.ActiveUpdateOf(job));
        }

        h.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Abort, "enough"));

        Assert.Equal(Aborted, update.Status);
        Assert.Null(h.State.ActiveUpdateOf(job));
        Assert.Equal(steps.Length + 2, update.Events.Count);
        Assert.Equal("enough", update.Events[^1].Message);
        Assert.Equal("bob", update.Events[^1].User);
        Assert.Equal(h.Context.NowMicros, update.LastModifiedMicros);
        h.Execute(new KillTasks(job));
    }

    [Fact]
    public void Resuming_a_paused_coordinated_update_waits_for_a_pulse_again()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job());
        var request = Configs.Update(DomainScenarios.Changed(Configs.Task()), 1);
        request.Settings.BlockIfNoPulsesAfterMs = 60_000;
        var key = h.StartUpdate(request);

        h.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Pause));
        Assert.Equal(RollForwardPaused, h.State.FindUpdate(key)!.Status);
        h.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Resume));
        Assert.Equal(RollForwardAwaitingPulse, h.State.FindUpdate(key)!.Status);
    }

    [Theory]
    [InlineData(JobUpdateUserAction.Pause, "Cannot transition update from ABORTED to ROLL_FORWARD_PAUSED")]
    [InlineData(JobUpdateUserAction.Resume, "Cannot transition update from ABORTED to ROLLING_FORWARD")]
    [InlineData(JobUpdateUserAction.Rollback, "Cannot transition update from ABORTED to ROLLING_BACK")]
    [InlineData(JobUpdateUserAction.Abort, "Cannot transition update from ABORTED to ABORTED")]
    public void A_finished_update_cannot_be_moved_again(JobUpdateUserAction action, string message)
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job());
        var key = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));
        h.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Abort));

        var rejection = h.Reject(new ChangeJobUpdate(key, action));

        Assert.Equal(ErrorCode.InvalidRequest, rejection.Code);
        Assert.Equal(message, rejection.Message);
    }

    [Fact]
    public void Resuming_an_update_that_is_not_paused_is_refused()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job());
        var key = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));

        Assert.Equal("Cannot transition update from ROLLING_FORWARD to ROLLING_FORWARD", h.Reject(new ChangeJobUpdate(key, JobUpdateUserAction.Resume)).Message);
    }

    [Theory]
    [InlineData(JobUpdateUserAction.Pause, "Update does not exist www-data/prod/hello/nope")]
    [InlineData(JobUpdateUserAction.Abort, "Update does not exist www-data/prod/hello/nope")]
    [InlineData(JobUpdateUserAction.Rollback, "Update does not exist www-data/prod/hello/nope")]
    [InlineData(JobUpdateUserAction.Resume, "Update does not exist: www-data/prod/hello/nope")]
    public void Acting_on_an_unknown_update_is_refused_as_not_found(JobUpdateUserAction action, string message)
    {
        var h = new DomainHarness();
        var key = new JobUpdateKey { Job = Configs.Key(), Id = "nope" };

        var rejection = h.Reject(new ChangeJobUpdate(key, action));

        Assert.Equal(ErrorCode.NotFound, rejection.Code);
        Assert.Equal(message, rejection.Message);
        Assert.Equal("Update does not exist www-data/prod/hello/nope", h.Reject(new PulseJobUpdate(key)).Message);
        Assert.Equal("Update does not exist www-data/prod/hello/nope", h.Reject(new SetJobUpdateStatus(key, RolledForward)).Message);
        Assert.Equal("Update does not exist www-data/prod/hello/nope", h.Reject(new RecordInstanceUpdate(key, 0, JobUpdateAction.InstanceUpdating)).Message);
    }

    [Fact]
    public void The_expected_update_table_covers_every_status()
    {
        Assert.Equal(UpdateStatuses.Order(), AuroraUpdateTransitions.Keys.Order());
        Assert.Equal(UpdateStatuses.Order(), PathFromRollingForward.Keys.Order());
    }

    [Theory]
    [MemberData(nameof(AllUpdateStatuses))]
    public void The_update_state_machine_allows_exactly_Aurora_s_transitions(JobUpdateStatus from)
    {
        var expected = AuroraUpdateTransitions[from].Order().ToArray();

        Assert.Equal(expected, UpdateStatuses.Where(to => JobUpdateStates.CanTransition(from, to)).Order().ToArray());
        Assert.Equal(expected.Length > 0, JobUpdateStates.IsActive(from));
        Assert.Equal(expected.Length == 0, JobUpdateStates.IsTerminal(from));
    }

    [Theory]
    [MemberData(nameof(AllUpdateStatuses))]
    public void The_update_engine_may_move_an_update_only_along_Aurora_s_transitions(JobUpdateStatus from)
    {
        foreach (var to in UpdateStatuses)
        {
            var h = new DomainHarness();
            var job = h.CreateRunningJob(Configs.Job());
            var key = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));
            foreach (var step in PathFromRollingForward[from])
            {
                h.Execute(new SetJobUpdateStatus(key, step));
            }

            Assert.Equal(from, h.State.FindUpdate(key)!.Status);
            if (AuroraUpdateTransitions[from].Contains(to))
            {
                h.Execute(new SetJobUpdateStatus(key, to, "engine"));
                Assert.Equal(to, h.State.FindUpdate(key)!.Status);
                Assert.Equal(JobUpdateStates.IsActive(to), h.State.ActiveUpdateOf(job) is not null);
            }
            else
            {
                var rejection = h.Reject(new SetJobUpdateStatus(key, to));
                Assert.Equal($"Cannot transition update from {ProtoNames.Of(from)} to {ProtoNames.Of(to)}", rejection.Message);
            }
        }
    }

    [Fact]
    public void An_update_that_rolled_forward_releases_the_job_s_lock()
    {
        var h = new DomainHarness();
        var job = h.CreateRunningJob(Configs.Job());
        var key = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));
        Assert.Equal(ErrorCode.JobUpdating, h.Reject(new KillTasks(job)).Code);

        h.Execute(new SetJobUpdateStatus(key, RolledForward));

        Assert.Null(h.State.ActiveUpdateOf(job));
        Assert.Empty(h.State.ActiveUpdates);
        Assert.True(h.Execute(new KillTasks(job)).ChangesState);
        h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));
    }

    [Fact]
    public void Apply_refuses_an_update_transition_the_state_machine_forbids()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job());
        var key = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));
        var e = new Event { JobUpdateStateChanged = new JobUpdateStateChanged { Key = key, From = RollingForward, To = RolledBack } };

        var error = Assert.Throws<EventApplyException>(() => h.State.Apply(new TransactionInfo(99, 0, "x"), e));

        Assert.Equal($"job update {key.Id} is ROLLING_FORWARD: Cannot transition update from ROLLING_FORWARD to ROLLED_BACK", error.Problem);
    }

    [Theory]
    [InlineData(RollForwardAwaitingPulse, RollingForward)]
    [InlineData(RollBackAwaitingPulse, RollingBack)]
    public void A_pulse_unblocks_an_update_awaiting_one(JobUpdateStatus awaiting, JobUpdateStatus unblocked)
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job());
        var request = Configs.Update(DomainScenarios.Changed(Configs.Task()), 1);
        request.Settings.BlockIfNoPulsesAfterMs = 60_000;
        var key = h.StartUpdate(request);
        if (awaiting == RollBackAwaitingPulse)
        {
            h.Execute(new SetJobUpdateStatus(key, RollingBack));
            h.Execute(new SetJobUpdateStatus(key, RollBackAwaitingPulse));
        }

        var pulse = h.Execute(new PulseJobUpdate(key));

        Assert.Equal("OK", pulse.Value);
        Assert.Equal(unblocked, h.State.FindUpdate(key)!.Status);

        var again = h.Execute(new PulseJobUpdate(key));

        Assert.Equal("OK", again.Value);
        Assert.False(again.ChangesState);
    }

    [Fact]
    public void A_pulse_leaves_a_paused_update_paused_and_reports_a_finished_one()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job());
        var key = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));
        h.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Pause));

        var paused = h.Execute(new PulseJobUpdate(key));
        Assert.Equal("OK", paused.Value);
        Assert.False(paused.ChangesState);
        Assert.Equal(RollForwardPaused, h.State.FindUpdate(key)!.Status);

        h.Execute(new ChangeJobUpdate(key, JobUpdateUserAction.Abort));
        var finished = h.Execute(new PulseJobUpdate(key));

        Assert.Equal("FINISHED", finished.Value);
        Assert.False(finished.ChangesState);
    }

    [Fact]
    public void Instance_events_are_recorded_while_the_update_is_active_only()
    {
        var h = new DomainHarness();
        h.CreateRunningJob(Configs.Job());
        var key = h.StartUpdate(Configs.Update(DomainScenarios.Changed(Configs.Task()), 1));
        h.Advance(TimeSpan.FromSeconds(5));

        h.Execute(new RecordInstanceUpdate(key, 0, JobUpdateAction.InstanceUpdating, "killing old"));

        var recorded = Assert.Single(h.State.FindUpdate(key)!.InstanceEvents);
        Assert.Equal(0, recorded.InstanceId);
        Assert.Equal(JobUpdateAction.InstanceUpdating, recorded.Action);
        Assert.Equal(h.Context.NowMicros, recorded.TimeMicros);

        h.Execute(new SetJobUpdateStatus(key, Failed));
        var rejection = h.Reject(new RecordInstanceUpdate(key, 0, JobUpdateAction.InstanceUpdateFailed));

        Assert.Equal($"Update www-data/prod/hello/{key.Id} is FAILED, no longer active.", rejection.Message);
    }
}
