using System.Globalization;
using System.Text.RegularExpressions;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Model;

/// <summary>
/// Task ids, as Aurora's TaskIdGenerator makes them: <c>role-environment-name-instance-uuid</c>, and
/// the limits that keep every name derived from them within the file system's.
/// </summary>
/// <remarks>
/// An agent names a task's sandbox directory <c>{id}</c> and its checkpoint files <c>{id}.json</c>,
/// <c>{id}.json.tmp</c> and <c>{id}.json.unreadable</c>; a file name has at most 255 bytes, so a task
/// id at most <see cref="MaxLength"/> = 255 − 16 characters (the agent protocol states the same
/// number as <c>ProtocolLimits.MaxTaskIdLength</c>, and a test keeps them equal). Instance ids are
/// below <see cref="InstanceIdLimit"/> (at most 6 digits) and the uuid has 36 characters, which
/// leaves <see cref="MaxJobKeyCharacters"/> for role, environment and name. Aurora kept 255 − 90
/// for Mesos's own prefixes; our agents add none.
/// </remarks>
public static partial class TaskIds
{
    public const int MaxLength = 255 - 16;

    /// <summary>Instance ids are below this: <c>-max_tasks_per_job</c> may not be set higher, and no command creates an instance at or above it.</summary>
    public const int InstanceIdLimit = 1_000_000;

    /// <summary>A UUID's text form: 8-4-4-4-12 hex digits.</summary>
    public const int UniquePartLength = 36;

    /// <summary>The characters role, environment and name may have together: the rest of a task id is four dashes, the instance and the uuid.</summary>
    public const int MaxJobKeyCharacters = MaxLength - 4 - 6 - UniquePartLength;

    /// <summary>Aurora's TaskIdGenerator: anything but word characters and '-' becomes '-'.</summary>
    /// <remarks>
    /// Not checked here: commands validate keys and instances before they create tasks, and a job
    /// from an older log whose ids are too long must still be rescheduled (its agent then fails the
    /// task with the reason) rather than fail the decision that reschedules it.
    /// </remarks>
    public static string Create(JobKey job, int instance, string uniquePart)
    {
        ArgumentNullException.ThrowIfNull(job);
        return NonIdCharacters().Replace(string.Create(CultureInfo.InvariantCulture, $"{job.Role}-{job.Environment}-{job.Name}-{instance}-{uniquePart}"), "-");
    }

    [GeneratedRegex(@"[^\w-]", RegexOptions.CultureInvariant)]
    private static partial Regex NonIdCharacters();
}
