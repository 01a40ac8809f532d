using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Tests.Support;

/// <summary>Common set-ups for domain tests, built only from commands so that the log stays the single source of state.</summary>
public static class DomainScenarios
{
    /// <summary>More than any test asks for, so quota only matters where a test sets it.</summary>
    public static Resources AmpleQuota => Configs.Quota(10_000, 100_000_000, 100_000_000);

    /// <summary>Gives the job's role ample quota and creates the job; its tasks are PENDING.</summary>
    public static JobKey CreateJobWithQuota(this DomainHarness harness, JobConfiguration config)
    {
        harness.Execute(new SetQuota(config.Key.Role, AmpleQuota));
        harness.Execute(new CreateJob(config));
        return config.Key;
    }

    /// <summary>Creates the job (with ample quota) and drives every instance to RUNNING.</summary>
    public static JobKey CreateRunningJob(this DomainHarness harness, JobConfiguration config)
    {
        var job = harness.CreateJobWithQuota(config);
        for (var instance = 0; instance < config.InstanceCount; instance++)
        {
            harness.Drive(job, instance, ScheduleStatus.Assigned, ScheduleStatus.Running);
        }

        return job;
    }

    /// <summary>Starts a job update and returns its key.</summary>
    public static JobUpdateKey StartUpdate(this DomainHarness harness, JobUpdateRequest request)
    {
        var decision = harness.Execute(new StartJobUpdate(request));
        return Assert.IsType<JobUpdateKey>(decision.Value);
    }

    /// <summary>The events of one kind a decision carries, in order.</summary>
    public static IReadOnlyList<Event> EventsOf(this Decision decision, Event.KindOneofCase kind) =>
        decision.Events.Where(e => e.KindCase == kind).ToList();

    /// <summary>The tasks a decision creates, in order.</summary>
    public static IReadOnlyList<NewTask> CreatedTasks(this Decision decision) =>
        decision.EventsOf(Event.KindOneofCase.TasksCreated).SelectMany(e => e.TasksCreated.Tasks).ToList();

    /// <summary>The task transitions a decision records, as <c>FROM->TO</c> in Aurora's spelling.</summary>
    public static IReadOnlyList<string> Transitions(this Decision decision) =>
        decision.EventsOf(Event.KindOneofCase.TaskStateChanged)
            .Select(e => $"{Model.TaskStatuses.Name(e.TaskStateChanged.From)}->{Model.TaskStatuses.Name(e.TaskStateChanged.To)}")
            .ToList();

    /// <summary>A configuration that differs from <paramref name="task"/> (so an update replaces it).</summary>
    public static TaskConfig Changed(TaskConfig task, string command = "echo changed; sleep 60")
    {
        var changed = task.Clone();
        changed.Processes[0].Cmdline = command;
        return changed;
    }

    /// <summary>The active task of every instance of the job, by instance id.</summary>
    public static IReadOnlyDictionary<int, TaskRecord> Active(this DomainHarness harness, JobKey job) => harness.State.ActiveInstances(job);
}
