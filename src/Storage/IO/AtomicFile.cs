namespace Aurora.Storage.IO;

/// <summary>
/// Replaces a whole file so that a crash leaves either the old or the new content, never a mix:
/// write a temp file beside it, fdatasync, rename over the target, fsync the directory.
/// </summary>
public static class AtomicFile
{
    public const string TempSuffix = ".tmp";

    public static void Write(IFileSystem fileSystem, string path, byte[] content) =>
        Write(fileSystem, path, file => file.Write(0, content));

    /// <summary>As <see cref="Write(IFileSystem, string, byte[])"/>, with the content written into the temp file by <paramref name="write"/>.</summary>
    public static void Write(IFileSystem fileSystem, string path, Action<IStorageFile> write)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))
            ?? throw new ArgumentException($"{path} has no parent directory", nameof(path));
        var temp = path + TempSuffix;
        try
        {
            using (var file = fileSystem.OpenFile(temp, FileOpenMode.CreateOrTruncate))
            {
                write(file);
                file.DataSync();
            }

            fileSystem.Rename(temp, path);
        }
        catch
        {
            TryDelete(fileSystem, temp);
            throw;
        }

        fileSystem.SyncDirectory(directory);
    }

    /// <summary>Removes temp files a crash left behind in <paramref name="directory"/>.</summary>
    public static IReadOnlyList<string> DeleteLeftoverTempFiles(IFileSystem fileSystem, string directory)
    {
        var removed = new List<string>();
        foreach (var file in fileSystem.ListFiles(directory))
        {
            if (file.EndsWith(TempSuffix, StringComparison.Ordinal))
            {
                fileSystem.DeleteFile(file);
                removed.Add(file);
            }
        }

        return removed;
    }

    private static void TryDelete(IFileSystem fileSystem, string path)
    {
        try
        {
            if (fileSystem.FileExists(path))
            {
                fileSystem.DeleteFile(path);
            }
        }
        catch (IOException)
        {
            // The original failure is the one worth reporting; a leftover temp file is cleaned on open.
        }
    }
}
