using System.Globalization;

namespace Aurora.Agent.Executor;

/// <summary>One line of /proc/&lt;pid&gt;/stat, the fields we use.</summary>
/// <param name="StartTime">Clock ticks after boot; with the pid it names a process for good, since a reused pid starts later.</param>
internal readonly record struct ProcStat(int Pid, char State, int ProcessGroup, long StartTime)
{
    /// <summary>A zombie (Z) or dead (X) entry runs nothing; it only waits to be reaped.</summary>
    public bool IsRunning => State is not ('Z' or 'X');
}

/// <summary>Reads the Linux /proc file system: whether a process we started still runs, and who is in a process group.</summary>
internal static class ProcFs
{
    public static ProcStat? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return ParseStat(pid, text);
    }

    /// <summary>Parses a stat line; the command name (field 2) may hold spaces and parentheses, so fields are counted from the last ')'.</summary>
    public static ProcStat? ParseStat(int pid, string text)
    {
        var close = text.LastIndexOf(')');
        if (close < 0 || close + 2 >= text.Length)
        {
            return null;
        }

        // Field 3 (state) is first after ") "; the process group is field 5, the start time field 22.
        var fields = text[(close + 2)..].Split(' ');
        if (fields.Length < 20 || fields[0].Length != 1
            || !int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var group)
            || !long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start))
        {
            return null;
        }

        return new ProcStat(pid, fields[0][0], group, start);
    }

    /// <summary>Whether the process <paramref name="pid"/> that started at <paramref name="startTime"/> still runs (not a zombie, not a later process under a reused pid).</summary>
    public static bool IsAlive(int pid, long startTime) =>
        pid > 0 && ReadStat(pid) is { IsRunning: true } stat && stat.StartTime == startTime;

    /// <summary>The processes of group <paramref name="pgid"/> that still run (zombies excluded: they hold nothing and die with their reaper).</summary>
    public static List<int> RunningGroupMembers(int pgid)
    {
        var members = new List<int>();
        foreach (var pid in AllPids())
        {
            if (ReadStat(pid) is { IsRunning: true } stat && stat.ProcessGroup == pgid)
            {
                members.Add(pid);
            }
        }

        return members;
    }

    public static IEnumerable<int> AllPids()
    {
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateDirectories("/proc").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            yield break;
        }

        foreach (var entry in entries)
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                yield return pid;
            }
        }
    }

    /// <summary>The current directory of a process, or null when it is gone or not ours to read.</summary>
    public static string? WorkingDirectory(int pid)
    {
        try
        {
            return File.ResolveLinkTarget($"/proc/{pid}/cwd", returnFinalTarget: false)?.FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
