using Aurora.Replication.Consensus;
using Aurora.Replication.Storage;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;
using Aurora.Testing.Faults;

namespace Aurora.Replication.Tests.Simulation;

/// <summary>What a simulated replica keeps across its crashes: its disk, and the storage opened on it.</summary>
internal interface ISimDisk
{
    /// <summary>The storage of the current run (after <see cref="Open"/>).</summary>
    IReplicaStorage Storage { get; }

    /// <summary>Whether the disk failed under the current run (power lost, or a fatal write error): the process must die.</summary>
    bool Failed { get; }

    /// <summary>Opens the storage for a new run of the replica.</summary>
    /// <exception cref="IOException">The disk cannot be opened now (full, failing): try again later.</exception>
    /// <exception cref="DiskDamagedException">Storage found damage and refuses to go on: the operator must repair the replica.</exception>
    IReplicaStorage Open();

    /// <summary>The process is gone; with <paramref name="powerLoss"/> the machine too (what was not durable is lost, torn with <paramref name="torn"/>).</summary>
    void Close(bool powerLoss, bool torn);

    /// <summary>The disk is lost and replaced: the replica comes back EMPTY.</summary>
    void Wipe();

    /// <summary>What the host does after a snapshot: stores it, and drops the entries before <paramref name="keepFrom"/>.</summary>
    void WriteSnapshot(ReplicaSnapshot snapshot, byte[] blob, ulong keepFrom);
}

/// <summary>Storage refused to open a damaged disk.</summary>
internal sealed class DiskDamagedException(string message, Exception inner) : Exception(message, inner);

/// <summary>A disk in memory: every write is durable at once and never fails.</summary>
internal sealed class MemoryDisk(ReplicaStatus initial) : ISimDisk
{
    private readonly MemoryReplicaStorage _storage = new(initial);

    public IReplicaStorage Storage => _storage;

    public bool Failed => false;

    public IReplicaStorage Open() => _storage;

    public void Close(bool powerLoss, bool torn)
    {
    }

    public void Wipe() => _storage.Wipe();

    public void WriteSnapshot(ReplicaSnapshot snapshot, byte[] blob, ulong keepFrom)
    {
        _storage.WriteSnapshot(snapshot, blob);
        _storage.TruncatePrefix(keepFrom);
    }
}

/// <summary>
/// The real storage (<see cref="LogReplicaStorage"/>: the segmented log, snapshots, replica.meta) on
/// a <see cref="SimulatedFileSystem"/> of its own: power failures that lose or tear what was not
/// durable, full disks, failing fdatasyncs and bit flips, all seeded.
/// </summary>
/// <remarks>
/// Segments are a few KiB, so logs roll, truncate and reset across many files. The next segment is
/// zero-filled when the log rolls, not in the background, so that the file system sees its calls
/// in one order and the run replays from its seed.
/// </remarks>
internal sealed class FileDisk : ISimDisk
{
    private const string Directory = "/replica";
    private readonly long _segmentSize;
    private readonly TimeProvider _time;
    private SegmentedLog? _log;
    private LogReplicaStorage? _storage;
    private volatile Exception? _fatal;

    public FileDisk(int seed, ReplicaStatus initial, long segmentSize, TimeProvider time)
    {
        _segmentSize = segmentSize;
        _time = time;
        Fs = new SimulatedFileSystem(seed);
        if (initial != ReplicaStatus.Empty)
        {
            new ReplicaMetadataStore(Fs, Directory).Save(new ReplicaMetadata { Status = initial, ClusterId = "sim" });
        }
    }

    public SimulatedFileSystem Fs { get; private set; }

    /// <summary>Bits were flipped since the disk was last repaired: damage storage finds is expected.</summary>
    public bool Flipped { get; set; }

    public IReplicaStorage Storage => _storage ?? throw new InvalidOperationException("the disk is not open");

    public bool Failed => _fatal is not null || Fs.IsDown;

    /// <summary>Why the disk failed, for the trace.</summary>
    public string FailureReason => _fatal?.Message ?? (Fs.IsDown ? "power failure" : "none");

    public IReplicaStorage Open()
    {
        _fatal = null;
        SegmentedLog log;
        try
        {
            log = SegmentedLog.Open(new LogOptions
            {
                Directory = Directory,
                FileSystem = Fs,
                SegmentSize = _segmentSize,
                MaxEntrySize = 1024,
                WriteOnCallingThread = true,
                Time = _time,
                OnFatalError = e => _fatal = e,
            });
        }
        catch (LogCorruptedException e)
        {
            throw new DiskDamagedException($"the log does not open: {e.Message}", e);
        }

        try
        {
            var snapshots = new SnapshotStore(new SnapshotOptions { Directory = Directory, FileSystem = Fs, Time = _time, RetainCount = 2 });
            ReplicaMetadataStore metadata = new(Fs, Directory);
            _storage = new LogReplicaStorage(log, snapshots, metadata);
            _log = log;
            return _storage;
        }
        catch (InvalidDataException e)
        {
            log.Dispose();
            throw new DiskDamagedException($"replica.meta does not load: {e.Message}", e);
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    public void Close(bool powerLoss, bool torn)
    {
        if (Fs.IsDown)
        {
            // An armed crash went off: the machine lost power then; it comes back now.
            Fs.Restart();
        }
        else if (powerLoss || _fatal is not null)
        {
            // After a failed fdatasync the machine reboots: pages the kernel marked clean without
            // writing them must not be read back as if they were durable (see the fault summary).
            Fs.Crash(torn || _fatal is not null);
        }

        try
        {
            _log?.Dispose();
        }
        catch (IOException)
        {
            // Handles of a machine that lost power are dead; the process is gone either way.
        }

        _log = null;
        _storage = null;
    }

    public void Wipe()
    {
        Fs = new SimulatedFileSystem(Fs.Seed + 1);
        Flipped = false;
    }

    /// <summary>
    /// What <c>aurora-log repair</c> leaves: the damaged files moved aside, and replica.meta
    /// RECOVERING with the cluster id and, if the old metadata was readable, its promised term with
    /// a vote for no one in it ("?"); if it was not, no term at all. Returns what it wrote.
    /// </summary>
    public ReplicaMetadata Repair()
    {
        ReplicaMetadata? old;
        try
        {
            old = new ReplicaMetadataStore(Fs, Directory).Load();
        }
        catch (InvalidDataException)
        {
            old = null;
        }

        var promised = old?.PromisedTerm ?? 0;
        var repaired = new ReplicaMetadata { Status = ReplicaStatus.Recovering, ClusterId = "sim", PromisedTerm = promised, VotedFor = promised > 0 ? "?" : string.Empty };
        Fs = new SimulatedFileSystem(Fs.Seed + 1);
        Flipped = false;
        new ReplicaMetadataStore(Fs, Directory).Save(repaired);
        return repaired;
    }

    public void WriteSnapshot(ReplicaSnapshot snapshot, byte[] blob, ulong keepFrom)
    {
        _storage!.Snapshots.Write(snapshot.Position, snapshot.Term, snapshot.BlobType, blob);
        _log!.TruncatePrefix(keepFrom);
    }

    /// <summary>Flips one bit of a regular file on the disk (not one that would turn its byte into zero: see <see cref="Simulator"/>); returns where.</summary>
    public string FlipBit(Random random)
    {
        var files = Files(Directory).Where(f => Fs.ReadAll(f).Length > 0).ToList();
        if (files.Count == 0)
        {
            return "nothing to flip";
        }

        var file = files[random.Next(files.Count)];
        var content = Fs.ReadAll(file);
        var offset = random.Next(content.Length);
        var bits = Enumerable.Range(0, 8).Where(b => (content[offset] ^ (1 << b)) != 0).ToList();
        var bit = bits[random.Next(bits.Count)];
        Fs.FlipBit(file, offset, bit);
        Flipped = true;
        return $"{file} offset {offset} bit {bit}";
    }

    private IEnumerable<string> Files(string directory)
    {
        if (!Fs.DirectoryExists(directory))
        {
            yield break;
        }

        foreach (var entry in Fs.ListEntries(directory).OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            if (entry.Kind == Aurora.Posix.FileKind.Directory)
            {
                foreach (var file in Files(entry.Path))
                {
                    yield return file;
                }
            }
            else if (entry.Kind == Aurora.Posix.FileKind.Regular && Path.GetFileName(entry.Path) != SegmentedLog.LockFileName)
            {
                yield return entry.Path;
            }
        }
    }
}
