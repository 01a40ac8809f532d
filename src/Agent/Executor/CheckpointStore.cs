using System.Text.Json;
using Aurora.Agent.Protocol;

namespace Aurora.Agent.Executor;

/// <summary>A checkpoint file as found at recovery: parsed, or unreadable with the reason and its raw text.</summary>
internal sealed record StoredCheckpoint(string TaskId, string Path, TaskCheckpoint? Checkpoint, string? RawText, string? Problem);

/// <summary>
/// The task checkpoints, one JSON file per task under <c>{WorkDir}/checkpoints</c>. A write goes to a
/// temp file that is fsynced, renamed over the old one and made durable by an fsync of the directory,
/// so a crash leaves either the old or the new checkpoint, never a torn one.
/// </summary>
/// <remarks>Not thread-safe; the executor calls it under its lock.</remarks>
internal sealed class CheckpointStore
{
    /// <summary>The longest name derived from a task id: an unreadable checkpoint set aside. <see cref="ProtocolLimits.MaxTaskIdLength"/> is 255 (NAME_MAX) minus its length.</summary>
    public const string UnreadableExtension = ".json.unreadable";

    private const string Extension = ".json";
    private const string TempExtension = ".json.tmp";

    public CheckpointStore(string directory)
    {
        Directory = directory;
        System.IO.Directory.CreateDirectory(directory);
    }

    public string Directory { get; }

    public string PathOf(string taskId) => System.IO.Path.Combine(Directory, taskId + Extension);

    public void Write(TaskCheckpoint checkpoint)
    {
        var path = PathOf(checkpoint.Launch.TaskId);
        var temp = System.IO.Path.Combine(Directory, checkpoint.Launch.TaskId + TempExtension);
        var bytes = JsonSerializer.SerializeToUtf8Bytes(checkpoint, AgentApi.Json);
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        Syscalls.SyncDirectory(Directory);
    }

    public void Delete(string taskId)
    {
        File.Delete(PathOf(taskId));
        Syscalls.SyncDirectory(Directory);
    }

    /// <summary>Moves an unreadable checkpoint aside so that it is neither parsed again nor lost for inspection.</summary>
    public void SetAside(string path) => File.Move(path, path[..^Extension.Length] + UnreadableExtension, overwrite: true);

    /// <summary>Best effort: removes what a failed first write of <paramref name="taskId"/> may have left (the checkpoint, if its rename went through, and the temp file).</summary>
    public void TryDelete(string taskId)
    {
        foreach (var path in (string[])[PathOf(taskId), System.IO.Path.Combine(Directory, taskId + TempExtension)])
        {
            try
            {
                if (File.Exists(path))
                {
                    File.Delete(path);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The trouble that failed the write. Recovery deletes temp files; a checkpoint left here would make a restarted agent start the task, which the scheduler, having recorded it FAILED, kills as a zombie.
            }
        }
    }

    public List<StoredCheckpoint> LoadAll()
    {
        var found = new List<StoredCheckpoint>();
        foreach (var temp in System.IO.Directory.EnumerateFiles(Directory, "*" + TempExtension))
        {
            // A temp file is a write that never got renamed: the checkpoint before it is the valid one.
            File.Delete(temp);
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, "*" + Extension).Order(StringComparer.Ordinal))
        {
            var taskId = System.IO.Path.GetFileName(path)[..^Extension.Length];
            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (IOException e)
            {
                found.Add(new StoredCheckpoint(taskId, path, null, null, $"cannot be read: {e.Message}"));
                continue;
            }

            found.Add(Parse(taskId, path, text));
        }

        return found;
    }

    private static StoredCheckpoint Parse(string taskId, string path, string text)
    {
        TaskCheckpoint? checkpoint;
        try
        {
            checkpoint = JsonSerializer.Deserialize<TaskCheckpoint>(text, AgentApi.Json);
        }
        catch (JsonException e)
        {
            return new StoredCheckpoint(taskId, path, null, text, $"is not valid JSON ({e.Message})");
        }

        if (checkpoint is null)
        {
            return new StoredCheckpoint(taskId, path, null, text, "is empty");
        }

        if (checkpoint.Version != TaskCheckpoint.CurrentVersion)
        {
            return new StoredCheckpoint(taskId, path, null, text, $"has version {checkpoint.Version}, this agent reads version {TaskCheckpoint.CurrentVersion}");
        }

        if (checkpoint.Launch?.TaskId != taskId || checkpoint.History.Count == 0)
        {
            return new StoredCheckpoint(taskId, path, null, text, "does not describe this task (wrong task id or no history)");
        }

        return new StoredCheckpoint(taskId, path, checkpoint, text, null);
    }
}
