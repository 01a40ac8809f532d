namespace Aurora.Scheduler.Model;

/// <summary>
/// The largest agent that could exist: no task may ask for more (nothing could ever run it, so it
/// would stay PENDING forever), and the scheduler refuses an agent that advertises more.
/// </summary>
/// <remarks>
/// The bounds are physical: 65,536 CPUs (beyond any Linux kernel's NR_CPUS), 2^32 MB of RAM (4 PiB,
/// the x86-64 physical address space), 2^36 MB of disk (64 PiB) and 1,024 GPUs. They also keep
/// sums in range: a job's demand (at most <see cref="TaskIds.InstanceIdLimit"/> instances) and a
/// role's quota stay far below 2^63 MB, so quota arithmetic on <c>long</c> cannot overflow.
/// Aurora has no flags for these; it relies on Mesos offers never being that large.
/// </remarks>
public static class ResourceLimits
{
    public const double MaxCpus = 65_536;

    public const long MaxRamMb = 1L << 32;

    public const long MaxDiskMb = 1L << 36;

    public const long MaxGpus = 1_024;

    /// <summary>The most a role's quota may grant: a full job of the largest tasks.</summary>
    public const double MaxQuotaCpus = MaxCpus * TaskIds.InstanceIdLimit;

    public const long MaxQuotaRamMb = MaxRamMb * TaskIds.InstanceIdLimit;

    public const long MaxQuotaDiskMb = MaxDiskMb * TaskIds.InstanceIdLimit;
}
