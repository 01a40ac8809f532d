using System.Runtime.CompilerServices;

namespace Aurora.Testing;

/// <summary>The checkout the tests belong to (the directory holding Aurora.sln).</summary>
public static class RepositoryRoot
{
    /// <summary>
    /// Found above the test binaries or, when they were built elsewhere (--artifacts-path), above
    /// the calling source file.
    /// </summary>
    public static string Find([CallerFilePath] string callerPath = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(callerPath) ?? string.Empty })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Aurora.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException($"No Aurora.sln above {AppContext.BaseDirectory} or {callerPath}.");
    }
}
