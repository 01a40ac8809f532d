namespace Aurora.Scheduler.Cron;

/// <summary>
/// A cron schedule that Aurora's restricted crontab syntax does not accept. The message is shown to
/// users as is, so the reason names the field, the offending token and what is allowed.
/// </summary>
public sealed class CronScheduleException : FormatException
{
    public CronScheduleException(string schedule, string reason)
        : base(Describe(schedule, reason))
    {
        Schedule = schedule;
        Reason = reason;
    }

    /// <summary>The schedule exactly as given.</summary>
    public string Schedule { get; }

    /// <summary>What is wrong with it, without the <c>Invalid cron schedule</c> prefix.</summary>
    public string Reason { get; }

    public static string Describe(string schedule, string reason) => $"Invalid cron schedule: {schedule}: {reason}";
}
