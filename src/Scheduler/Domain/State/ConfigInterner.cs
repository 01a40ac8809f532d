using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.State;

/// <summary>
/// One shared instance per distinct <see cref="TaskConfig"/> (protobuf messages compare by value),
/// released when the last task using it is gone.
/// </summary>
/// <remarks>
/// Hashing a whole configuration is the expensive part, so it happens once per acquisition of many
/// references (a TasksCreated event, a snapshot's config table), and releasing goes by reference.
/// Not thread-safe: used only by the thread applying events.
/// </remarks>
internal sealed class ConfigInterner
{
    private readonly Dictionary<TaskConfig, Entry> _byValue = [];
    private readonly Dictionary<TaskConfig, Entry> _byReference = new(ReferenceEqualityComparer.Instance);

    public int Count => _byValue.Count;

    /// <summary>The shared instance equal to <paramref name="config"/>, with <paramref name="references"/> more references.</summary>
    public TaskConfig Acquire(TaskConfig config, int references)
    {
        if (_byValue.TryGetValue(config, out var entry))
        {
            entry.References += references;
            return entry.Config;
        }

        entry = new Entry(config, references);
        _byValue.Add(config, entry);
        _byReference.Add(config, entry);
        return config;
    }

    /// <summary>One more reference to a shared instance returned by <see cref="Acquire"/>.</summary>
    public void AddReference(TaskConfig shared) => _byReference[shared].References++;

    /// <summary>Drops one reference to a shared instance returned by <see cref="Acquire"/>.</summary>
    public void Release(TaskConfig shared)
    {
        if (_byReference.TryGetValue(shared, out var entry) && --entry.References == 0)
        {
            _byReference.Remove(shared);
            _byValue.Remove(shared);
        }
    }

    public void Clear()
    {
        _byValue.Clear();
        _byReference.Clear();
    }

    private sealed class Entry(TaskConfig config, int references)
    {
        public TaskConfig Config { get; } = config;

        public int References { get; set; } = references;
    }
}
