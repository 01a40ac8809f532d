using System.Globalization;
using System.Runtime.InteropServices;

namespace Aurora.Benchmarks.Shared;

/// <summary>What a result depends on besides the code: cores, disk, file system, and how busy the box was.</summary>
internal static partial class Machine
{
    public static string Describe(string directory)
    {
        var cpu = ReadFirstLine("/proc/cpuinfo", "model name")?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores ({cpu}), {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, " +
            $"dir {directory} on {FileSystemOf(directory)}");
    }

    /// <summary>Prints the lines a harness run starts with (machine, load, settings); returns the load average.</summary>
    public static string Announce(string directory, string settings)
    {
        var load = LoadAverage();
        Console.WriteLine($"# machine: {Describe(directory)}");
        Console.WriteLine($"# load average at start: {load}");
        Console.WriteLine($"# {settings}");
        return load;
    }

    /// <summary>The 1/5/15-minute load averages: above ~0.5 on 2 cores, other processes shared the machine.</summary>
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} {parts[1]} {parts[2]}";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    /// <summary>
    /// Flushes every dirty page of the machine (sync(2)) so one measurement does not pay for the
    /// writeback of the previous one (a zero-filled raw file, a segment prepared in the background).
    /// </summary>
    public static void Settle()
    {
        if (OperatingSystem.IsLinux())
        {
            sync();
        }
    }

    private static string FileSystemOf(string directory)
    {
        try
        {
            // The mount point with the longest prefix of the directory is the one it lives on.
            var best = (Mount: "", Text: "unknown file system");
            foreach (var line in File.ReadLines("/proc/mounts"))
            {
                var fields = line.Split(' ');
                if (fields.Length >= 3 && IsUnder(directory, fields[1]) && fields[1].Length >= best.Mount.Length)
                {
                    best = (fields[1], $"{fields[2]} ({fields[0]} mounted at {fields[1]})");
                }
            }

            return best.Text;
        }
        catch (IOException)
        {
            return "unknown file system";
        }
    }

    private static bool IsUnder(string path, string mount) =>
        mount == "/" || path == mount || path.StartsWith(mount + "/", StringComparison.Ordinal);

    private static string? ReadFirstLine(string path, string prefix)
    {
        try
        {
            return File.ReadLines(path).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return null;
        }
    }

    [LibraryImport("libc")]
    private static partial void sync();
}
