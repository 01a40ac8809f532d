namespace Aurora.Scheduler.Model;

/// <summary>
/// The principals the system writes under, which the audit log attributes to no person. None of
/// them can be claimed by a caller: not through <c>X-Aurora-User</c> when authentication is off, and
/// not as a user name in the Shiro INI file when it is on.
/// </summary>
public static class Principals
{
    /// <summary>The scheduler's own decisions: placement, reconciliation, pruning, snapshots.</summary>
    public const string Scheduler = "scheduler";

    /// <summary>Cron runs triggered by their schedule.</summary>
    public const string Cron = "cron";

    /// <summary>What agents report (task states, host attributes); the host is in each event.</summary>
    public const string Agent = "agent";

    /// <summary>The offline recovery tool (<c>aurora-log recover</c>).</summary>
    public const string Recover = "aurora-log recover";

    /// <summary>Aurora's principal for unauthenticated calls that name nobody.</summary>
    public const string Unsecure = "UNSECURE";

    /// <summary>Every principal only the system may write under.</summary>
    public static IReadOnlyList<string> Reserved { get; } = [Scheduler, Cron, Agent, Recover];

    /// <summary>Whether <paramref name="name"/> is one of <see cref="Reserved"/> (compared ignoring case and surrounding spaces, so that "Scheduler " cannot pass for it either).</summary>
    public static bool IsReserved(string? name) =>
        name is not null && Reserved.Contains(name.Trim(), StringComparer.OrdinalIgnoreCase);
}
