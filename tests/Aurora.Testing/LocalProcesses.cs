using System.Globalization;

namespace Aurora.Testing;

/// <summary>Processes of this machine found through /proc, to prove that tasks leave nothing behind.</summary>
public static class LocalProcesses
{
    /// <summary>Pids of the processes whose working directory is under <paramref name="directory"/> (task processes run in their sandboxes).</summary>
    public static IReadOnlyList<int> WorkingUnder(string directory) => WorkingUnder(directory, static _ => true);

    /// <summary>Pids of the processes whose working directory is under <paramref name="directory"/> and satisfies <paramref name="matches"/>.</summary>
    public static IReadOnlyList<int> WorkingUnder(string directory, Func<string, bool> matches)
    {
        ArgumentNullException.ThrowIfNull(matches);
        var prefix = Path.GetFullPath(directory).TrimEnd('/') + "/";
        var found = new List<int>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var cwd = new DirectoryInfo(Path.Combine(entry, "cwd")).LinkTarget;
                if (cwd is not null && (cwd + "/").StartsWith(prefix, StringComparison.Ordinal) && matches(cwd) && !IsZombie(pid))
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to look at.
            }
        }

        return found;
    }

    /// <summary>SIGKILL to each pid; for cleaning up after a failed test, never as part of what a test proves.</summary>
    public static void KillAll(IEnumerable<int> pids)
    {
        foreach (var pid in pids)
        {
            try
            {
                System.Diagnostics.Process.GetProcessById(pid).Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }
        }
    }

    private static bool IsZombie(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var state = stat[(stat.LastIndexOf(')') + 2)..];
        return state.StartsWith('Z');
    }
}
