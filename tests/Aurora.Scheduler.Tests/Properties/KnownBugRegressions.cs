using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Validation;

namespace Aurora.Scheduler.Tests.Properties;

/// <summary>
/// Bugs the random runs found, each pinned by a minimal command sequence and, where a seed found
/// it, by that seed: (1) an active update of a job without tasks reserved no quota
/// (QuotaCalculator.Consumption walked only JobsOfRole; Aurora counts every active update of the
/// role); (2) a status change moved a PENDING task to ASSIGNED with no host or agent, past every
/// placement veto (only AssignTask may assign).
/// </summary>
public class KnownBugRegressions
{
    [Fact]
    public void Bug_quota_reserved_by_an_update_of_a_job_without_tasks_is_not_counted()
    {
        var cluster = new DomainHarness();
        cluster.Execute(new SetQuota("www-data", Configs.Quota(2, 1024, 1024)));
        var fresh = Configs.Key(name: "fresh");

        // Two 1-CPU instances: the update reserves the role's whole CPU quota.
        cluster.Execute(new StartJobUpdate(Configs.Update(Configs.Task(fresh), instances: 2)));

        Assert.Equal(2, QuotaCalculator.Consumption(cluster.State, "www-data").ProdShared.NumCpus);
        var rejection = cluster.Reject(new CreateJob(Configs.Job(Configs.Key(name: "other"), instances: 2)));
        Assert.StartsWith("Insufficient resource quota", rejection.Message, StringComparison.Ordinal);
        cluster.Reject(new SetQuota("www-data", Configs.Quota(0, 0, 0)));
    }

    [Fact]
    public void Bug_seed_169347277_a_job_is_created_into_quota_an_update_already_reserved() =>
        RandomScenario.Check(169347277, 59, (scenario, length) => scenario.Run(length, _ =>
        {
            foreach (var role in RandomCommandGenerator.Roles)
            {
                var use = StateInvariants.AuroraProdSharedConsumption(scenario.Harness.State, role);
                Assert.Null(ResourceMath.Excess(use, scenario.Harness.State.QuotaOf(role)));
            }
        }));

    [Fact]
    public void Bug_pending_task_moved_to_assigned_by_a_status_change_has_no_host()
    {
        var cluster = new DomainHarness();
        cluster.Execute(new SetQuota("www-data", Configs.Quota(10, 10240, 10240)));
        cluster.Execute(new CreateJob(Configs.Job()));
        var task = cluster.ActiveTask(Configs.Key(), 0);

        cluster.Reject(new ChangeTaskState(task.TaskId, ScheduleStatus.Assigned, "agent report"));

        StateInvariants.AgentAssignedTasksHaveAHost(cluster.State);
    }
}
