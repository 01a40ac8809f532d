using System.Globalization;
using Aurora.Agent.Protocol;

namespace Aurora.Agent.Node;

/// <summary>What the agent learns about the machine it runs on, for the defaults of its flags.</summary>
/// <remarks>An interface so that flag tests state the machine instead of depending on the one they run on.</remarks>
public interface IMachine
{
    string HostName { get; }

    int ProcessorCount { get; }

    /// <summary>Physical memory in MB, or null when it cannot be read.</summary>
    long? TotalMemoryMb { get; }

    /// <summary>Free space in MB for an unprivileged user on the file system holding <paramref name="path"/>, or null.</summary>
    long? FreeDiskMb(string path);

    /// <summary>Whether an executable named <paramref name="program"/> is on PATH.</summary>
    bool IsOnPath(string program);

    /// <summary>Whether anything (a file, a socket) exists at <paramref name="path"/>.</summary>
    bool Exists(string path);
}

/// <summary>The machine this process runs on.</summary>
public sealed class LocalMachine : IMachine
{
    public static readonly LocalMachine Instance = new();

    private LocalMachine()
    {
    }

    public string HostName => Environment.MachineName;

    public int ProcessorCount => Environment.ProcessorCount;

    public long? TotalMemoryMb => MemTotalKb() is { } kb ? kb / 1024 : null;

    public long? FreeDiskMb(string path)
    {
        try
        {
            return new DriveInfo(Path.GetFullPath(path)).AvailableFreeSpace / (1024 * 1024);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    public bool IsOnPath(string program)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Any(dir => File.Exists(Path.Combine(dir, program)));
    }

    public bool Exists(string path) => Path.Exists(path);

    /// <summary>MemTotal from /proc/meminfo; the GC's view of available memory elsewhere.</summary>
    private static long? MemTotalKb()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                // MemTotal:       16318480 kB
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal)
                    && long.TryParse(line["MemTotal:".Length..].Replace("kB", string.Empty, StringComparison.Ordinal).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var kb))
                {
                    return kb;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or /proc is not mounted: fall through.
        }

        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return available > 0 ? available / 1024 : null;
    }
}

/// <summary>The resources an agent offers when its flags do not say, computed as a Mesos agent does.</summary>
public static class ResourceDefaults
{
    /// <summary>Mesos leaves the operating system min(1 GB, half) of the memory...</summary>
    public const long MemoryReservedMaxMb = 1024;

    /// <summary>...and min(5 GB, half) of the disk.</summary>
    public const long DiskReservedMaxMb = 5 * 1024;

    public static readonly IReadOnlyList<PortRange> Ports = [new PortRange(31000, 32000)];

    /// <summary>Null members of the result could not be detected.</summary>
    public static (double Cpus, long? RamMb, long? DiskMb) Detect(IMachine machine, string workDir)
    {
        ArgumentNullException.ThrowIfNull(machine);
        return (machine.ProcessorCount, Leave(machine.TotalMemoryMb, MemoryReservedMaxMb), Leave(machine.FreeDiskMb(workDir), DiskReservedMaxMb));
    }

    private static long? Leave(long? totalMb, long reservedMaxMb) =>
        totalMb is { } total ? total - Math.Min(reservedMaxMb, total / 2) : null;
}
