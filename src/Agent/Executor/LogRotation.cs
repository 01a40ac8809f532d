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
/// The task owns every name in its run directory: a log is rotated only while it is a regular file
/// with a single link inside the sandbox (see <see cref="UntrustedFiles.OpenRegular"/>), opened
/// once and copied and truncated through that one descriptor, so a FIFO never blocks the executor
/// and a symbolic or hard link never makes it truncate a file outside. Backups are created new
/// (O_EXCL), never written through an existing name.
/// </remarks>
internal static class LogRotation
{
    /// <summary>Rotates the files of <paramref name="runDir"/> that exceed the limit; returns how many were rotated.</summary>
    /// <param name="sandbox">The task's sandbox, which <paramref name="runDir"/> lies in.</param>
    public static int RotateIfNeeded(string runDir, string sandbox, LoggerSpec logger, long bytesPerMb)
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
            using var file = UntrustedFiles.OpenRegular(path, sandbox, write: true);
            if (file is not null && RandomAccess.GetLength(file) > limit)
            {
                Rotate(path, file, Math.Max(0, logger.RotateLogBackups));
                rotated++;
            }
        }

        return rotated;
    }

    private static void Rotate(string path, Microsoft.Win32.SafeHandles.SafeFileHandle current, int backups)
    {
        if (backups > 0)
        {
            File.Delete($"{path}.{backups}");
            for (var n = backups - 1; n >= 1; n--)
            {
                try
                {
                    // A rename moves the name whatever it is (a dangling link too), never what it points at.
                    File.Move($"{path}.{n}", $"{path}.{n + 1}");
                }
                catch (FileNotFoundException)
                {
                    // No backup with that number yet.
                }
            }

            using var backup = new FileStream($"{path}.1", FileMode.CreateNew, FileAccess.Write, FileShare.None);
            var buffer = new byte[64 * 1024];
            long offset = 0;
            int read;
            while ((read = RandomAccess.Read(current, buffer, offset)) > 0)
            {
                backup.Write(buffer, 0, read);
                offset += read;
            }
        }

        RandomAccess.SetLength(current, 0);
    }
}
