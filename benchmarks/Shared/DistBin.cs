namespace Aurora.Benchmarks.Shared;

/// <summary>The published executables (<c>./build.sh</c> puts them in <c>dist/bin</c>) the harness runs as processes.</summary>
internal static class DistBin
{
    public const string Scheduler = "aurora-scheduler";
    public const string LogTool = "aurora-log";

    /// <summary><paramref name="given"/> (<c>--bin</c>), else the first <c>dist/bin</c> above the current directory that holds both executables.</summary>
    public static string Find(string? given)
    {
        if (given is not null)
        {
            var full = Path.GetFullPath(given);
            return Holds(full) ? full : throw new ArgumentException($"--bin {full} holds no {Scheduler} and {LogTool}: run ./build.sh");
        }

        for (var directory = new DirectoryInfo(Environment.CurrentDirectory); directory is not null; directory = directory.Parent)
        {
            var bin = Path.Combine(directory.FullName, "dist", "bin");
            if (Holds(bin))
            {
                return bin;
            }
        }

        throw new ArgumentException($"no dist/bin/{Scheduler} above {Environment.CurrentDirectory}: run ./build.sh, or pass --bin DIR");
    }

    /// <summary>The peers' scripts: <c>../shared/peers</c> beside the repository <paramref name="bin"/> (<c>REPO/dist/bin</c>) was published in.</summary>
    public static string SharedPeers(string bin) => Path.GetFullPath(Path.Combine(bin, "..", "..", "..", "shared", "peers"));

    /// <summary>
    /// A warning when a source file of the repository <paramref name="bin"/> was published from
    /// (<c>BIN/../../src</c>) is newer than the published scheduler: the run would measure older code.
    /// </summary>
    public static string? StalenessWarning(string bin)
    {
        var src = Path.GetFullPath(Path.Combine(bin, "..", "..", "src"));
        if (!Directory.Exists(src))
        {
            return null;
        }

        var published = File.GetLastWriteTimeUtc(Path.Combine(bin, Scheduler));
        var newer = Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal))
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".csproj", StringComparison.Ordinal) || f.EndsWith(".proto", StringComparison.Ordinal))
            .Select(f => (File: f, Time: File.GetLastWriteTimeUtc(f)))
            .Where(f => f.Time > published)
            .OrderByDescending(f => f.Time)
            .ToList();
        return newer.Count == 0
            ? null
            : $"warning: {newer.Count} source files are newer than {Path.Combine(bin, Scheduler)} (e.g. {Path.GetRelativePath(src, newer[0].File)}): the run measures the published build; ./build.sh republishes it";
    }

    private static bool Holds(string bin) => File.Exists(Path.Combine(bin, Scheduler)) && File.Exists(Path.Combine(bin, LogTool));
}
