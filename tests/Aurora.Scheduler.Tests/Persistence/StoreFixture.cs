using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Persistence;
using Aurora.Storage.IO;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;

namespace Aurora.Scheduler.Tests.Persistence;

/// <summary>An initialized replica directory and a manual clock; opens <see cref="SchedulerStore"/>s on it.</summary>
public sealed class StoreFixture : IDisposable
{
    private readonly TempDirectory _temp = new();

    public StoreFixture(bool initialize = true)
    {
        Directory = _temp.Sub("replica");
        System.IO.Directory.CreateDirectory(Directory);
        if (initialize)
        {
            new ReplicaMetadataStore(PhysicalFileSystem.Instance, Directory).Save(new ReplicaMetadata
            {
                Status = ReplicaStatus.Voting,
                LogId = "test-log",
            });
        }
    }

    public string Directory { get; }

    public ManualTimeProvider Time { get; } = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public SchedulerStoreOptions Options(int seed = 7) => new()
    {
        Directory = Directory,
        Time = Time,
        Ids = new SeededIdGenerator(seed),
        // Small segments: each store would otherwise zero-fill two 64 MiB files.
        LogSegmentSize = 1 << 20,
        MaxEntrySize = 256 << 10,
        OnFatalError = e => throw new InvalidOperationException("fatal log error in a test", e),
    };

    public SchedulerStore Open(SchedulerStoreOptions? options = null) => SchedulerStore.Open(options ?? Options());

    public void Dispose() => _temp.Dispose();
}
