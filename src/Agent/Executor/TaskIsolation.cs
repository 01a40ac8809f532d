using System.Globalization;

namespace Aurora.Agent.Executor;

/// <summary>How tasks are confined to their resources: one cgroup each, and a watch on their sandbox's disk use.</summary>
/// <param name="Cgroups">The machine's cgroup hierarchy, prepared (the agent's root cgroups exist and may be written).</param>
/// <param name="PidsMax">The most processes and threads one task may hold (-cgroups_pids_max).</param>
/// <param name="EnableCfs">Whether CPU is hard-capped at the task's cpus with a CFS quota (-cgroups_enable_cfs), not only shared by weight.</param>
/// <param name="DiskWatchInterval">How often each sandbox's disk use is measured (-container_disk_watch_interval).</param>
public sealed record TaskIsolation(CgroupHierarchy Cgroups, long PidsMax, bool EnableCfs, TimeSpan DiskWatchInterval)
{
    /// <summary>-cgroups_pids_max's default: room for a busy JVM's threads, far below the kernel's default pid_max.</summary>
    public const long DefaultPidsMax = 4096;

    /// <summary>Names the isolation for /vars and logs: <c>cgroups_v1</c> or <c>cgroups_v2</c>.</summary>
    public string Describe() => Cgroups.Version == CgroupVersion.V1 ? "cgroups_v1" : "cgroups_v2";
}

/// <summary>What a task has used, as the agent last measured it.</summary>
/// <param name="CpuSeconds">CPU time of all its processes (cgroup cpuacct / cpu.stat).</param>
/// <param name="RssBytes">Its anonymous memory now.</param>
/// <param name="MemoryPeakBytes">The most memory it was charged at once.</param>
/// <param name="MemoryLimitBytes">Its cgroup's memory limit.</param>
/// <param name="DiskBytes">The size of the files in its sandbox at the last disk poll; -1 before the first.</param>
/// <param name="DiskQuotaBytes">Its disk quota; 0 when it has none.</param>
public sealed record TaskUsage(double CpuSeconds, long RssBytes, long MemoryPeakBytes, long MemoryLimitBytes, long DiskBytes, long DiskQuotaBytes);

/// <summary>Sizes as the Mesos agent prints them (stout's <c>Bytes</c>): the largest unit that loses nothing, <c>64MB</c>, <c>1536KB</c>, <c>100B</c>.</summary>
public static class MesosBytes
{
    public static string Format(long bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB"];
        var value = bytes;
        var unit = 0;
        while (value != 0 && value % 1024 == 0 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return value.ToString(CultureInfo.InvariantCulture) + units[unit];
    }
}
