using System.Text;
using Aurora.Posix;

namespace Aurora.Agent.Node;

/// <summary>
/// The agent's id, kept in <c>{work_dir}/meta/agent_id</c>: created once, then the same on every
/// start. The scheduler takes a new id on a known host to mean the old agent and its tasks are gone,
/// so the file is written crash-safely (temp file, fsync, rename, fsync of the directory): a crash
/// leaves either no id or the whole id, never an empty one.
/// </summary>
public static class AgentIdentity
{
    public static string PathIn(string workDir) => Path.Combine(workDir, "meta", "agent_id");

    /// <summary>Reads the id, or creates <c>{hostname}-{uuid}</c> when there is none yet.</summary>
    /// <exception cref="InvalidDataException">The file exists but holds no usable id.</exception>
    public static string LoadOrCreate(string workDir, string hostname, Func<Guid>? newGuid = null)
    {
        ArgumentNullException.ThrowIfNull(workDir);
        ArgumentNullException.ThrowIfNull(hostname);
        var path = PathIn(workDir);
        if (File.Exists(path))
        {
            return Read(path);
        }

        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory);
        var id = $"{hostname}-{(newGuid ?? Guid.NewGuid)():D}";
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.UTF8.GetBytes(id + "\n"));
            stream.Flush(flushToDisk: true);
        }

        try
        {
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another start won the race: its id stands.
            File.Delete(temp);
            return Read(path);
        }

        SyncDirectory(directory);
        return id;
    }

    private static string Read(string path)
    {
        var id = File.ReadAllText(path).Trim();
        if (id.Length == 0 || id.Any(char.IsWhiteSpace))
        {
            throw new InvalidDataException(
                $"{path} holds no usable agent id ('{id}'). Remove it to register as a new agent; the scheduler will then treat this host's earlier tasks as LOST.");
        }

        return id;
    }

    private static void SyncDirectory(string path)
    {
        if (OperatingSystem.IsLinux())
        {
            Syscalls.SyncDirectory(path);
        }
    }
}
