using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.State;

public sealed partial class SchedulerState
{
    /// <summary>
    /// An equal state that shares nothing mutable with this one: what the persistence layer's
    /// decision copy starts from, without encoding a snapshot and parsing it back.
    /// </summary>
    /// <remarks>
    /// <para>Must be called while nothing applies to this state (the owner's read lock). Each task,
    /// host, cron job and update gets a record of its own, and each task its own history array, so
    /// that applying to either state never shows in the other. They share what is never changed
    /// once applied: the protobuf messages (configurations, attributes, drain requests,
    /// instructions, update events), the assigned ports and the strings.</para>
    /// <para>Iteration orders that reads can see are kept: tasks in the order of
    /// <see cref="Tasks"/>, each job's updates in the order of <see cref="UpdatesOf"/>. The
    /// snapshot round trip this replaces could not keep them (a snapshot is sorted by key).</para>
    /// <para>Costs a fraction of <c>FromSnapshot(ToSnapshot())</c>: no bytes, no string decoding,
    /// and each configuration is interned by reference, not hashed (the scheduler benchmark's
    /// <c>snapshot</c> mode times both).</para>
    /// </remarks>
    public SchedulerState Clone()
    {
        var copy = new SchedulerState { FrameworkId = FrameworkId };

        // Every configuration a task holds is already this state's one shared instance: count the
        // references once, then acquire each instance in the copy with all of them.
        var references = new Dictionary<TaskConfig, int>(_configs.Count, ReferenceEqualityComparer.Instance);
        foreach (var task in _tasks.Values)
        {
            references[task.Config] = references.GetValueOrDefault(task.Config) + 1;
        }

        foreach (var (config, count) in references)
        {
            copy._configs.Acquire(config, count);
        }

        copy._tasks.EnsureCapacity(_tasks.Count);
        foreach (var task in _tasks.Values)
        {
            copy.AddTask(task.Copy());
        }

        foreach (var cron in _cronJobs.Values)
        {
            copy._cronJobs.Add(cron.Job, new CronJobRecord(cron.Config, cron.ScheduledMicros) { LaunchPending = cron.LaunchPending });
            copy.RoleJobs(cron.Job.Role).Add(cron.Job);
        }

        foreach (var (role, quota) in _quotas)
        {
            copy._quotas.Add(role, quota);
        }

        foreach (var host in _hosts.Values)
        {
            var record = copy.HostFor(host.Host);
            record.Attributes = host.Attributes;
            record.Mode = host.Mode;
            record.Request = host.Request;
        }

        foreach (var updates in _updatesByJob.Values)
        {
            foreach (var update in updates)
            {
                copy.AddUpdate(update.Copy());
            }
        }

        return copy;
    }
}
