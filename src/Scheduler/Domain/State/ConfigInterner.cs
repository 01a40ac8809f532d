using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.State;

/// <summary>
/// One shared instance per distinct <see cref="TaskConfig"/> (protobuf messages compare by value),
/// released when the last task, update or cron template using it is gone.
/// </summary>
/// <remarks>Not thread-safe: used only by the thread applying events.</remarks>
internal sealed class ConfigInterner
{
    private readonly Dictionary<TaskConfig, Entry> _entries = [];

    public int Count => _entries.Count;

    /// <summary>The shared instance equal to <paramref name="config"/>, with one more reference.</summary>
    public TaskConfig Acquire(TaskConfig config)
    {
        if (_entries.TryGetValue(config, out var entry))
        {
            entry.References++;
            return entry.Config;
        }

        _entries.Add(config, new Entry(config));
        return config;
    }

    public void Release(TaskConfig config)
    {
        if (_entries.TryGetValue(config, out var entry) && --entry.References == 0)
        {
            _entries.Remove(config);
        }
    }

    public void Clear() => _entries.Clear();

    private sealed class Entry(TaskConfig config)
    {
        public TaskConfig Config { get; } = config;

        public int References { get; set; } = 1;
    }
}
