using System.Globalization;

namespace Aurora.Agent.Executor;

/// <summary>Which cgroup interface the machine offers.</summary>
public enum CgroupVersion
{
    /// <summary>One hierarchy per controller (<c>/sys/fs/cgroup/memory</c>, <c>cpu</c>, ...).</summary>
    V1,

    /// <summary>The unified hierarchy (<c>/sys/fs/cgroup/cgroup.controllers</c>).</summary>
    V2,
}

/// <summary>What a task's cgroup is sized to, derived from its resources as the Mesos isolators do.</summary>
/// <param name="MemoryBytes">The hard memory limit: the task's RAM, at least <see cref="MinMemoryBytes"/>.</param>
/// <param name="CpuShares">cpus x 1024, at least 2 (v1 <c>cpu.shares</c>; v2 <c>cpu.weight</c> is derived from it).</param>
/// <param name="CfsQuotaMicros">cpus x the CFS period when CPU is hard-capped (-cgroups_enable_cfs), otherwise null.</param>
/// <param name="PidsMax">The most processes and threads the task may hold at once (-cgroups_pids_max).</param>
public sealed record CgroupLimits(long MemoryBytes, long CpuShares, long? CfsQuotaMicros, long PidsMax)
{
    /// <summary>Mesos's MIN_MEMORY: a task asking for less gets this much.</summary>
    public const long MinMemoryBytes = 32L << 20;

    /// <summary>The CFS period, 100 ms, as Mesos uses.</summary>
    public const long CfsPeriodMicros = 100_000;

    /// <summary>The limits of a task with these resources.</summary>
    public static CgroupLimits For(double cpus, long ramMb, long pidsMax, bool capCpu) => new(
        Math.Max(MinMemoryBytes, ramMb << 20),
        Math.Max(2, (long)(cpus * 1024)),
        capCpu ? Math.Max(1000, (long)(cpus * CfsPeriodMicros)) : null,
        pidsMax);

    /// <summary>cgroup v2's <c>cpu.weight</c> (1-10000) for v1 shares (2-262144), as runc and systemd convert it.</summary>
    public long CpuWeight => 1 + ((Math.Clamp(CpuShares, 2, 262_144) - 2) * 9999 / 262_142);
}

/// <summary>What a task's cgroup measured.</summary>
/// <param name="CpuSeconds">CPU time used by all its processes so far (user and system).</param>
/// <param name="RssBytes">Anonymous memory now (v1 <c>total_rss</c>, v2 <c>anon</c>).</param>
/// <param name="MemoryPeakBytes">The most memory it was charged at once (v1 <c>memory.max_usage_in_bytes</c>, v2 <c>memory.peak</c>, else the current usage).</param>
/// <param name="OomKills">Processes the kernel's OOM killer killed in it for going over the limit.</param>
public sealed record CgroupUsage(double CpuSeconds, long RssBytes, long MemoryPeakBytes, long OomKills);

/// <summary>
/// The cgroup machinery of this machine: where each controller is mounted and under which root the
/// agent makes one cgroup per task (<c>/sys/fs/cgroup/memory/aurora/TASK_ID</c> on v1,
/// <c>/sys/fs/cgroup/aurora/TASK_ID</c> on v2).
/// </summary>
/// <remarks>
/// Stateless apart from its paths; every method does file I/O and may be called from any thread.
/// The mount table is an argument, so the path decisions can be checked against a directory tree
/// that only looks like /sys/fs/cgroup.
/// </remarks>
public sealed class CgroupHierarchy
{
    /// <summary>The v1 controllers the agent uses; only memory is required.</summary>
    internal static readonly string[] V1Controllers = ["memory", "cpu", "cpuacct", "pids"];

    private readonly IReadOnlyDictionary<string, string> _mounts;

    private CgroupHierarchy(CgroupVersion version, IReadOnlyDictionary<string, string> mounts, string root)
    {
        Version = version;
        _mounts = mounts;
        Root = root;
    }

    public CgroupVersion Version { get; }

    /// <summary>The name of the agent's cgroup under each hierarchy's top (-cgroups_root).</summary>
    public string Root { get; }

    /// <summary>v1: controller -> mount point; v2: the single entry "" -> the unified mount point.</summary>
    public IReadOnlyDictionary<string, string> Mounts => _mounts;

    /// <summary>
    /// Reads the mount table (<c>/proc/self/mounts</c> format) and picks the interface: v1 when a v1
    /// memory controller is mounted (also on hybrid machines, whose unified mount holds no
    /// controllers), otherwise v2 when a cgroup2 mount offers the memory controller.
    /// </summary>
    /// <returns>The hierarchy, or null with <paramref name="problem"/> saying what is missing.</returns>
    public static CgroupHierarchy? Detect(string mountTable, string root, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(mountTable);
        var v1 = new Dictionary<string, string>(StringComparer.Ordinal);
        string? unified = null;
        foreach (var line in mountTable.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            if (fields.Length < 4)
            {
                continue;
            }

            var mountPoint = UnescapeMountPath(fields[1]);
            if (fields[2] == "cgroup")
            {
                foreach (var option in fields[3].Split(','))
                {
                    if (V1Controllers.Contains(option, StringComparer.Ordinal))
                    {
                        v1.TryAdd(option, mountPoint);
                    }
                }
            }
            else if (fields[2] == "cgroup2" && unified is null && ControllersOf(mountPoint).Contains("memory", StringComparer.Ordinal))
            {
                unified = mountPoint;
            }
        }

        if (v1.ContainsKey("memory"))
        {
            problem = null;
            return new CgroupHierarchy(CgroupVersion.V1, v1, root);
        }

        if (unified is not null)
        {
            problem = null;
            return new CgroupHierarchy(CgroupVersion.V2, new Dictionary<string, string>(StringComparer.Ordinal) { [""] = unified }, root);
        }

        problem = "no cgroup memory controller is mounted (neither a v1 memory hierarchy nor a cgroup2 mount offering memory)";
        return null;
    }

    /// <summary>This machine's hierarchy, from /proc/self/mounts.</summary>
    public static CgroupHierarchy? DetectLocal(string root, out string? problem)
    {
        string table;
        try
        {
            table = File.ReadAllText("/proc/self/mounts");
        }
        catch (IOException e)
        {
            problem = $"cannot read /proc/self/mounts: {e.Message}";
            return null;
        }

        return Detect(table, root, out problem);
    }

    /// <summary>Makes the agent's root cgroups (and on v2 hands them the controllers); throws when the agent may not.</summary>
    /// <exception cref="IOException">A directory or control file cannot be written (not root, a read-only cgroup fs).</exception>
    /// <exception cref="UnauthorizedAccessException">Likewise.</exception>
    public void Prepare()
    {
        if (Version == CgroupVersion.V2)
        {
            var top = _mounts[""];
            EnableControllers(top);
            Directory.CreateDirectory(Path.Combine(top, Root));
            EnableControllers(Path.Combine(top, Root));
            return;
        }

        foreach (var mount in _mounts.Values.Distinct(StringComparer.Ordinal))
        {
            Directory.CreateDirectory(Path.Combine(mount, Root));
        }
    }

    /// <summary>The cgroup of task <paramref name="taskId"/>, whether or not it exists.</summary>
    public TaskCgroup For(string taskId) => Version == CgroupVersion.V2
        ? new TaskCgroup(this, new Dictionary<string, string>(StringComparer.Ordinal) { [""] = Path.Combine(_mounts[""], Root, taskId) })
        : new TaskCgroup(this, _mounts.ToDictionary(m => m.Key, m => Path.Combine(m.Value, Root, taskId), StringComparer.Ordinal));

    /// <summary>Creates the task's cgroup and writes its limits; an existing one (a launch retried after a crash) is reused and resized.</summary>
    public TaskCgroup Create(string taskId, CgroupLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var cgroup = For(taskId);
        foreach (var directory in cgroup.Directories.Values.Distinct(StringComparer.Ordinal))
        {
            Directory.CreateDirectory(directory);
        }

        foreach (var (file, value) in cgroup.LimitFiles(limits))
        {
            WriteControl(file, value);
        }

        return cgroup;
    }

    /// <summary>Task ids that have a cgroup under the agent's root (recovery finds leftovers by them).</summary>
    public IReadOnlyList<string> ExistingTaskIds()
    {
        var top = Version == CgroupVersion.V2 ? _mounts[""] : _mounts["memory"];
        var root = Path.Combine(top, Root);
        return Directory.Exists(root) ? [.. Directory.EnumerateDirectories(root).Select(Path.GetFileName).OfType<string>()] : [];
    }

    /// <summary>Writes a control file as the kernel wants it: one write of the whole value, no temp file (cgroup files cannot be renamed over; the kernel ignores the truncation).</summary>
    internal static void WriteControl(string file, string value)
    {
        using var stream = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, 1);
        var bytes = System.Text.Encoding.ASCII.GetBytes(value);
        stream.Write(bytes);
        stream.Flush();
    }

    private static void EnableControllers(string directory)
    {
        var available = ControllersOf(directory);
        var enabled = ReadWords(Path.Combine(directory, "cgroup.subtree_control"));
        foreach (var controller in new[] { "memory", "cpu", "pids" })
        {
            if (!enabled.Contains(controller, StringComparer.Ordinal) && (available.Count == 0 || available.Contains(controller, StringComparer.Ordinal)))
            {
                WriteControl(Path.Combine(directory, "cgroup.subtree_control"), "+" + controller);
            }
        }
    }

    private static IReadOnlyList<string> ControllersOf(string directory) => ReadWords(Path.Combine(directory, "cgroup.controllers"));

    private static string[] ReadWords(string file)
    {
        try
        {
            return File.Exists(file) ? File.ReadAllText(file).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries) : [];
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>/proc/mounts writes a space in a path as \040, and likewise tab, newline and backslash.</summary>
    private static string UnescapeMountPath(string text) =>
        text.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
            .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}

/// <summary>One task's cgroup: a directory per v1 hierarchy, or one v2 directory.</summary>
public sealed class TaskCgroup
{
    private readonly CgroupHierarchy _hierarchy;

    internal TaskCgroup(CgroupHierarchy hierarchy, IReadOnlyDictionary<string, string> directories)
    {
        _hierarchy = hierarchy;
        Directories = directories;
    }

    /// <summary>v1: controller -> directory; v2: "" -> the directory.</summary>
    public IReadOnlyDictionary<string, string> Directories { get; }

    private bool IsV2 => _hierarchy.Version == CgroupVersion.V2;

    /// <summary>The directory that holds memory accounting (and on v2 everything).</summary>
    public string MemoryDirectory => IsV2 ? Directories[""] : Directories["memory"];

    public bool Exists => Directory.Exists(MemoryDirectory);

    /// <summary>The <c>cgroup.procs</c> file of each hierarchy: a process writes its pid to each to join the task's cgroup.</summary>
    public IReadOnlyList<string> ProcsFiles => [.. Directories.Values.Distinct(StringComparer.Ordinal).Select(d => Path.Combine(d, "cgroup.procs"))];

    /// <summary>The control files and values that size the cgroup.</summary>
    internal IReadOnlyList<(string File, string Value)> LimitFiles(CgroupLimits limits)
    {
        var files = new List<(string, string)>();
        string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
        if (IsV2)
        {
            var directory = Directories[""];
            files.Add((Path.Combine(directory, "memory.max"), Number(limits.MemoryBytes)));
            files.Add((Path.Combine(directory, "cpu.weight"), Number(limits.CpuWeight)));
            files.Add((Path.Combine(directory, "cpu.max"), limits.CfsQuotaMicros is { } quota ? $"{Number(quota)} {Number(CgroupLimits.CfsPeriodMicros)}" : $"max {Number(CgroupLimits.CfsPeriodMicros)}"));
            files.Add((Path.Combine(directory, "pids.max"), Number(limits.PidsMax)));
            return files;
        }

        files.Add((Path.Combine(Directories["memory"], "memory.limit_in_bytes"), Number(limits.MemoryBytes)));
        if (Directories.TryGetValue("cpu", out var cpu))
        {
            files.Add((Path.Combine(cpu, "cpu.shares"), Number(limits.CpuShares)));
            files.Add((Path.Combine(cpu, "cpu.cfs_period_us"), Number(CgroupLimits.CfsPeriodMicros)));
            files.Add((Path.Combine(cpu, "cpu.cfs_quota_us"), limits.CfsQuotaMicros is { } quota ? Number(quota) : "-1"));
        }

        if (Directories.TryGetValue("pids", out var pids))
        {
            files.Add((Path.Combine(pids, "pids.max"), Number(limits.PidsMax)));
        }

        return files;
    }

    /// <summary>What the cgroup measured; counters that cannot be read count as 0.</summary>
    public CgroupUsage ReadUsage()
    {
        if (IsV2)
        {
            var directory = Directories[""];
            var cpuStat = ReadKeyed(Path.Combine(directory, "cpu.stat"));
            var memoryStat = ReadKeyed(Path.Combine(directory, "memory.stat"));
            var events = ReadKeyed(Path.Combine(directory, "memory.events"));
            var peak = ReadNumber(Path.Combine(directory, "memory.peak")) ?? ReadNumber(Path.Combine(directory, "memory.current")) ?? 0;
            return new CgroupUsage(cpuStat.GetValueOrDefault("usage_usec") / 1e6, memoryStat.GetValueOrDefault("anon"), peak, events.GetValueOrDefault("oom_kill"));
        }

        var memory = Directories["memory"];
        var stat = ReadKeyed(Path.Combine(memory, "memory.stat"));
        var oom = ReadKeyed(Path.Combine(memory, "memory.oom_control"));
        var cpuNanos = Directories.TryGetValue("cpuacct", out var cpuacct) ? ReadNumber(Path.Combine(cpuacct, "cpuacct.usage")) ?? 0 : 0;
        var rss = stat.TryGetValue("total_rss", out var total) ? total : stat.GetValueOrDefault("rss");
        return new CgroupUsage(cpuNanos / 1e9, rss, ReadNumber(Path.Combine(memory, "memory.max_usage_in_bytes")) ?? 0, oom.GetValueOrDefault("oom_kill"));
    }

    /// <summary><c>memory.stat</c> as the kernel wrote it, for a memory limit message.</summary>
    public string MemoryStatistics()
    {
        try
        {
            return File.ReadAllText(Path.Combine(MemoryDirectory, "memory.stat")).Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Every process in the cgroup, from each hierarchy's <c>cgroup.procs</c>.</summary>
    public IReadOnlyList<int> Processes()
    {
        var pids = new HashSet<int>();
        foreach (var procs in ProcsFiles)
        {
            try
            {
                foreach (var line in File.Exists(procs) ? File.ReadAllLines(procs) : [])
                {
                    if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 1)
                    {
                        pids.Add(pid);
                    }
                }
            }
            catch (IOException)
            {
                // Removed meanwhile: nothing in it.
            }
        }

        return [.. pids];
    }

    /// <summary>
    /// Kills whatever is left in the cgroup (processes that left their process group included) and
    /// removes its directories; false while something is still in it (removed on a later call).
    /// </summary>
    public bool TryRemove()
    {
        var killFile = IsV2 ? Path.Combine(Directories[""], "cgroup.kill") : null;
        if (killFile is not null && File.Exists(killFile))
        {
            try
            {
                CgroupHierarchy.WriteControl(killFile, "1");
            }
            catch (IOException)
            {
                // An older kernel: the processes are killed one by one below.
            }
        }

        foreach (var pid in Processes())
        {
            NativeMethods.KillProcess(pid, NativeMethods.SigKill);
        }

        var removed = true;
        foreach (var directory in Directories.Values.Distinct(StringComparer.Ordinal))
        {
            try
            {
                if (Directory.Exists(directory))
                {
                    // rmdir(2): a cgroup directory is removed empty of subdirectories, its control files go with it.
                    Directory.Delete(directory, recursive: false);
                }
            }
            catch (IOException)
            {
                removed = false;
            }
        }

        return removed;
    }

    private static long? ReadNumber(string file)
    {
        try
        {
            return long.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static Dictionary<string, long> ReadKeyed(string file)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            foreach (var line in File.ReadAllLines(file))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                {
                    values[parts[0]] = value;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Gone or unreadable: no counters.
        }

        return values;
    }
}
