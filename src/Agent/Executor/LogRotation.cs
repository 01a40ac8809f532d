using Aurora.Agent.Protocol;

namespace Aurora.Agent.Executor;

/// <summary>
/// Thermos's <c>rotate</c> logger done from outside the process: when stdout or stderr grows past
/// the limit, file.N moves to file.N+1 (the oldest beyond the backup count is dropped), the current
/// file is copied to file.1 and truncated in place.
/// </summary>
/// <remarks>
/// Copy-then-truncate works because the wrapper opened the files with O_APPEND: after the truncate
/// the writer's next write lands at the new end (offset 0) instead of leaving a hole. What the
/// process writes between the copy and the truncate is lost; the window is one file copy long.
/// </remarks>
internal static class LogRotation
{
    /// <summary>Rotates the files of <paramref name="runDir"/> that exceed the limit; returns how many were rotated.</summary>
    public static int RotateIfNeeded(string runDir, LoggerSpec logger, long bytesPerMb)
    {
        if (!string.Equals(logger.Mode, LoggerSpec.Rotate, StringComparison.Ordinal) || logger.RotateLogSizeMb <= 0)
        {
            return 0;
        }

        var limit = logger.RotateLogSizeMb * bytesPerMb;
        var rotated = 0;
        foreach (var name in (string[])[ProcessLauncher.StdoutFile, ProcessLauncher.StderrFile])
        {
            var path = Path.Combine(runDir, name);
            var info = new FileInfo(path);
            if (info.Exists && info.Length > limit)
            {
                Rotate(path, Math.Max(0, logger.RotateLogBackups));
                rotated++;
            }
        }

        return rotated;
    }

    private static void Rotate(string path, int backups)
    {
        if (backups > 0)
        {
            File.Delete($"{path}.{backups}");
            for (var n = backups - 1; n >= 1; n--)
            {
                if (File.Exists($"{path}.{n}"))
                {
                    File.Move($"{path}.{n}", $"{path}.{n + 1}");
                }
            }

            File.Copy(path, $"{path}.1");
        }

        using var current = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        current.SetLength(0);
    }
}
