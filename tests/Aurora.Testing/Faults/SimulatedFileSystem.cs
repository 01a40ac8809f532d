using Aurora.Posix;
using Aurora.Storage.IO;

namespace Aurora.Testing.Faults;

/// <summary>What a <see cref="SimulatedFileSystem"/> operation did, in the order operations ran.</summary>
public enum FsOperationKind
{
    Write,
    SetLength,
    DataSync,
    Create,
    Truncate,
    Rename,
    Delete,
    SyncDirectory,
}

/// <param name="Path">The file's name when the operation ran (a handle follows its file through renames).</param>
/// <param name="Offset">Where a write started, or the new length of a length change.</param>
/// <param name="Length">How many bytes a write was asked to write.</param>
public readonly record struct FsOperation(FsOperationKind Kind, string Path, long Offset = 0, int Length = 0);

/// <summary>
/// An in-memory <see cref="IFileSystem"/> that models what survives a power failure, with seeded,
/// per-instance fault injection: crashes that lose unsynced writes or keep a torn subset of them,
/// ENOSPC (a full disk, a capacity, or the nth write, optionally after a partial write), failing
/// fdatasync and directory fsync, and bit flips. One instance is one machine's disk: a simulated
/// cluster gives each replica its own, with its own seed.
/// </summary>
/// <remarks>
/// <para>Determinism: the only randomness is one <see cref="Random"/> seeded by the constructor, and
/// it is drawn from only by a torn crash, a failed fdatasync and <see cref="FlipRandomBits"/>, in the
/// order of the files' paths. Given the seed and the same sequence of calls, everything it does
/// (what survives, which bits flip, which call fails) is the same in every run and on every
/// machine. Threads that race on it (the log's writer and its background preallocation) make the
/// sequence of calls itself vary; a seeded simulator that wants replayable runs orders them first
/// (e.g. awaits <see cref="WhenOperation"/> before arming a fault).</para>
/// <para>Threading: every call (including calls on handles) takes one lock, so operations are
/// totally ordered and a crash always falls between two of them.</para>
/// <para>Fault model, file data: a file has a durable image and pending operations (writes and
/// length changes not yet covered by <see cref="IStorageFile.DataSync"/>); reads see both, as the
/// page cache does. A length change (ftruncate) is atomic: a crash keeps it whole or drops it.</para>
/// <list type="bullet">
/// <item><b>Crash</b> (<see cref="Crash"/>, or <see cref="CrashAtOperation"/> just before the nth
/// mutating operation): every pending operation is lost; handles and locks taken before it are
/// dead afterwards. With <c>tornWrites</c> a seeded random subset of the pending operations
/// survives instead, cut at 512-byte sector boundaries (each piece of a write that falls into one
/// sector is kept or dropped as a unit, so a sector is never half-written): what a disk that
/// reorders and partially completes its write-back leaves.</item>
/// <item><b>Directory entries</b>: creating, renaming and deleting a file change the namespace at
/// once but are durable only after <see cref="SyncDirectory"/> on that directory; a crash keeps
/// none of the pending ones, or with torn writes a random prefix of them, in order, as a
/// journaling file system would. Directories themselves are durable as soon as they are created
/// (a simplification). Open handles keep their file after it is deleted or renamed, as on POSIX.</item>
/// <item><b>Failed fdatasync</b> (<see cref="FailDataSync"/>): EIO; a random subset of the pending
/// sectors reaches the disk and the rest is forgotten, like Linux marking dirty pages clean after
/// an fsync error: a later successful DataSync does not bring them back, though reads still see
/// them until a crash. <see cref="FailSyncDirectory"/> fails a directory fsync with EIO and makes
/// nothing durable.</item>
/// <item><b>Full disk</b>: while <see cref="DiskFull"/> is set every write (and every growing length
/// change) fails with ENOSPC and writes nothing; with <see cref="CapacityBytes"/> set, a write that
/// would make the files' total length exceed it writes what fits, then fails with ENOSPC (space is
/// counted over the files the namespace holds; a deleted file still open is not counted);
/// <see cref="FailWrite"/> fails the nth matching write with ENOSPC after writing a chosen part, cut
/// back to the last 512-byte sector boundary of the file it reaches (a short write ends where the
/// file system could not allocate the next block).</item>
/// <item><b>Bit flips</b>: <see cref="FlipBit"/> and the seeded <see cref="FlipRandomBits"/> flip
/// bits in place and durably, even in open files, as media damage would; nothing reports them.</item>
/// </list>
/// <para>Every injected failure is an <see cref="IOException"/> whose <see cref="Exception.HResult"/>
/// is the errno (<see cref="Enospc"/>, <see cref="Eio"/>), recorded in <see cref="InjectedFaults"/>.
/// Files that are not regular (FIFOs, sockets, devices; <see cref="CreateSpecialFile"/>) are durable
/// at once and have no content: opening one, or a directory, fails with
/// <see cref="NotARegularFileException"/> as on the real disk. There are no symbolic links, and
/// renames stay within one directory.</para>
/// </remarks>
public sealed class SimulatedFileSystem : IFileSystem
{
    public const int SectorSize = 512;
    public const int Enospc = 28;
    public const int Eio = 5;

    private readonly object _gate = new();
    private readonly Random _random;
    private readonly HashSet<string> _directories = new(StringComparer.Ordinal) { "/" };
    private readonly Dictionary<string, Inode> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Inode> _durableFiles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FileKind> _specialFiles = new(StringComparer.Ordinal);
    private readonly List<DirectoryOperation> _pendingDirectoryOperations = [];
    private readonly Dictionary<string, long> _locks = new(StringComparer.Ordinal);
    private readonly List<FsOperation> _history = [];
    private readonly List<IOException> _injected = [];
    private readonly List<CountedFault> _writeFaults = [];
    private readonly List<CountedFault> _syncFaults = [];
    private readonly List<CountedFault> _directorySyncFaults = [];
    private long _epoch;
    private bool _down;
    private bool _diskFull;
    private long? _capacityBytes;
    private readonly List<Waiter> _waiters = [];
    private CountedFault? _crash;

    public SimulatedFileSystem(int seed)
    {
        Seed = seed;
        _random = new Random(seed);
    }

    public int Seed { get; }

    /// <summary>While true, every write fails with ENOSPC and writes nothing.</summary>
    public bool DiskFull
    {
        get
        {
            lock (_gate)
            {
                return _diskFull;
            }
        }
        set
        {
            lock (_gate)
            {
                _diskFull = value;
            }
        }
    }

    /// <summary>
    /// The most bytes the files may hold together (null: unlimited). A write that would grow them past
    /// it writes what fits and fails with ENOSPC; lowering it below what is stored fails only growth.
    /// </summary>
    public long? CapacityBytes
    {
        get
        {
            lock (_gate)
            {
                return _capacityBytes;
            }
        }
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value ?? 0);
            lock (_gate)
            {
                _capacityBytes = value;
            }
        }
    }

    /// <summary>What the files in the namespace hold together: the sum of their lengths.</summary>
    public long UsedBytes
    {
        get
        {
            lock (_gate)
            {
                return UsedLocked();
            }
        }
    }

    /// <summary>True after an armed crash fired, until <see cref="Restart"/>.</summary>
    public bool IsDown
    {
        get
        {
            lock (_gate)
            {
                return _down;
            }
        }
    }

    /// <summary>Every mutating operation so far (reads are not recorded).</summary>
    public IReadOnlyList<FsOperation> History
    {
        get
        {
            lock (_gate)
            {
                return [.. _history];
            }
        }
    }

    /// <summary>The exceptions thrown by injected faults, in order.</summary>
    public IReadOnlyList<IOException> InjectedFaults
    {
        get
        {
            lock (_gate)
            {
                return [.. _injected];
            }
        }
    }

    public static bool IsSegmentFile(string path)
    {
        var name = Path.GetFileName(path);
        return name.StartsWith("segment-", StringComparison.Ordinal) && name.EndsWith(".log", StringComparison.Ordinal);
    }

    public static bool IsNextSegmentFile(string path) => Path.GetFileName(path) == "next-segment.tmp";

    /// <summary>
    /// The <paramref name="nth"/> write (1-based, counted from now) to a file whose name matches
    /// <paramref name="where"/> writes <paramref name="bytesWritten"/>(length) bytes, cut back to a
    /// sector boundary of the file, then fails with ENOSPC.
    /// </summary>
    public void FailWrite(int nth, Func<int, int>? bytesWritten = null, Func<string, bool>? where = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nth, 1);
        lock (_gate)
        {
            _writeFaults.Add(new CountedFault(nth, where ?? (_ => true), bytesWritten));
        }
    }

    /// <summary>The <paramref name="nth"/> DataSync (from now) of a matching file fails with EIO.</summary>
    public void FailDataSync(int nth, Func<string, bool>? where = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nth, 1);
        lock (_gate)
        {
            _syncFaults.Add(new CountedFault(nth, where ?? (_ => true), null));
        }
    }

    /// <summary>The <paramref name="nth"/> SyncDirectory (from now) fails with EIO, making nothing durable.</summary>
    public void FailSyncDirectory(int nth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nth, 1);
        lock (_gate)
        {
            _directorySyncFaults.Add(new CountedFault(nth, _ => true, null));
        }
    }

    /// <summary>
    /// Crashes the machine just before the <paramref name="nth"/> mutating operation from now
    /// (see <see cref="FsOperationKind"/>); that operation and every later call fail until <see cref="Restart"/>.
    /// </summary>
    public void CrashAtOperation(int nth, bool tornWrites = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nth, 1);
        lock (_gate)
        {
            _crash = new CountedFault(nth, _ => true, null) { TornWrites = tornWrites };
        }
    }

    /// <summary>
    /// Completes when the <paramref name="nth"/> mutating operation (from now) matching
    /// <paramref name="match"/> has been attempted, whether or not it then failed. Lets tests wait
    /// for background work (segment preallocation) without sleeping.
    /// </summary>
    public Task<FsOperation> WhenOperation(Func<FsOperation, bool> match, int nth = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nth, 1);
        var waiter = new Waiter(match, nth);
        lock (_gate)
        {
            _waiters.Add(waiter);
        }

        return waiter.Completion.Task;
    }

    /// <summary>Power failure now (disarming any armed crash); the machine comes back at once with only what was durable.</summary>
    public void Crash(bool tornWrites = false)
    {
        lock (_gate)
        {
            _crash = null;
            CrashLocked(tornWrites);
            _down = false;
        }
    }

    /// <summary>Brings the machine back after an armed crash.</summary>
    public void Restart()
    {
        lock (_gate)
        {
            _down = false;
        }
    }

    /// <summary>
    /// Withdraws every armed fault (crash, failing writes, fdatasyncs and directory fsyncs) and frees
    /// the disk (<see cref="DiskFull"/> off, no <see cref="CapacityBytes"/>): the faults heal.
    /// What they did already stays done.
    /// </summary>
    public void DisarmFaults()
    {
        lock (_gate)
        {
            _crash = null;
            _writeFaults.Clear();
            _syncFaults.Clear();
            _directorySyncFaults.Clear();
            _diskFull = false;
            _capacityBytes = null;
        }
    }

    /// <summary>Creates a file that is not a regular file, as mkfifo(1) or mknod(1) would (durably, at once).</summary>
    public void CreateSpecialFile(string path, FileKind kind)
    {
        if (kind is FileKind.Regular or FileKind.Directory or FileKind.SymbolicLink)
        {
            throw new ArgumentException($"{kind}: model FIFOs, sockets and devices; use OpenFile or CreateDirectory for the others", nameof(kind));
        }

        lock (_gate)
        {
            ThrowIfDown();
            path = Normalize(path);
            if (!_directories.Contains(Parent(path)))
            {
                throw new DirectoryNotFoundException($"{Parent(path)} does not exist");
            }

            if (_files.ContainsKey(path) || _directories.Contains(path) || _specialFiles.ContainsKey(path))
            {
                throw new IOException($"{path} already exists");
            }

            _specialFiles[path] = kind;
        }
    }

    /// <summary>The current content of a file (what a read would see).</summary>
    public byte[] ReadAll(string path)
    {
        lock (_gate)
        {
            var inode = Find(path);
            return inode.Data.AsSpan(0, inode.Length).ToArray();
        }
    }

    /// <summary>Replaces a file's content durably, as an offline edit would (for damage tests).</summary>
    public void Overwrite(string path, ReadOnlySpan<byte> content)
    {
        lock (_gate)
        {
            var inode = Find(path);
            inode.Pending.Clear();
            inode.Length = 0;
            ApplyWrite(ref inode.Data, ref inode.Length, 0, content);
            inode.Durable = inode.Data.AsSpan(0, inode.Length).ToArray();
            inode.DurableLength = inode.Length;
        }
    }

    /// <summary>Flips one bit of a file durably, even while it is open (for damage tests).</summary>
    public void FlipBit(string path, long offset, int bit)
    {
        lock (_gate)
        {
            FlipBitLocked(Find(path), offset, bit);
        }
    }

    private static void FlipBitLocked(Inode inode, long offset, int bit)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(offset, inode.Length);
        inode.Data[offset] ^= (byte)(1 << bit);
        if (offset < inode.DurableLength)
        {
            inode.Durable[offset] ^= (byte)(1 << bit);
        }
    }

    /// <summary>
    /// Flips <paramref name="count"/> bits, chosen with the seeded random source, in the regular,
    /// non-empty files whose path matches <paramref name="where"/> (every one by default), durably
    /// and in place as <see cref="FlipBit"/> does. Returns where, in the order flipped; empty when no
    /// file matches.
    /// </summary>
    public IReadOnlyList<(string Path, long Offset, int Bit)> FlipRandomBits(int count, Func<string, bool>? where = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_gate)
        {
            var candidates = _files
                .Where(f => f.Value.Length > 0 && (where?.Invoke(f.Key) ?? true))
                .OrderBy(f => f.Key, StringComparer.Ordinal)
                .ToList();
            var flipped = new List<(string, long, int)>();
            for (var i = 0; i < count && candidates.Count > 0; i++)
            {
                var (path, inode) = candidates[_random.Next(candidates.Count)];
                var offset = _random.NextInt64(inode.Length);
                var bit = _random.Next(8);
                FlipBitLocked(inode, offset, bit);
                flipped.Add((path, offset, bit));
            }

            return flipped;
        }
    }

    /// <summary>A new file system whose durable state is this one's current state (directories and files).</summary>
    public SimulatedFileSystem Clone(int seed)
    {
        var clone = new SimulatedFileSystem(seed);
        lock (_gate)
        {
            clone._directories.UnionWith(_directories);
            foreach (var (path, kind) in _specialFiles)
            {
                clone._specialFiles[path] = kind;
            }

            foreach (var (path, inode) in _files)
            {
                var copy = new Inode(path)
                {
                    Data = inode.Data.AsSpan(0, inode.Length).ToArray(),
                    Length = inode.Length,
                    Durable = inode.Data.AsSpan(0, inode.Length).ToArray(),
                    DurableLength = inode.Length,
                };
                clone._files[path] = copy;
                clone._durableFiles[path] = copy;
            }
        }

        return clone;
    }

    public bool DirectoryExists(string path)
    {
        lock (_gate)
        {
            ThrowIfDown();
            return _directories.Contains(Normalize(path));
        }
    }

    public bool FileExists(string path)
    {
        lock (_gate)
        {
            ThrowIfDown();
            path = Normalize(path);
            return _files.ContainsKey(path) || _specialFiles.ContainsKey(path);
        }
    }

    public void CreateDirectory(string path)
    {
        lock (_gate)
        {
            ThrowIfDown();
            for (var directory = Normalize(path); !_directories.Contains(directory); directory = Parent(directory))
            {
                if (_files.ContainsKey(directory) || _specialFiles.ContainsKey(directory))
                {
                    throw new IOException($"{directory} is a file");
                }

                _directories.Add(directory);
            }
        }
    }

    public IReadOnlyList<DirectoryEntry> ListEntries(string directory)
    {
        lock (_gate)
        {
            ThrowIfDown();
            var dir = Normalize(directory);
            if (!_directories.Contains(dir))
            {
                throw new DirectoryNotFoundException($"{dir} does not exist");
            }

            return _files.Keys.Select(p => new DirectoryEntry(p, FileKind.Regular))
                .Concat(_specialFiles.Select(s => new DirectoryEntry(s.Key, s.Value)))
                .Concat(_directories.Where(d => d != "/").Select(d => new DirectoryEntry(d, FileKind.Directory)))
                .Where(e => Parent(e.Path) == dir)
                .OrderBy(e => e.Path, StringComparer.Ordinal)
                .ToList();
        }
    }

    /// <remarks>Has no symbolic links, so <paramref name="symlinks"/> changes nothing.</remarks>
    public IStorageFile OpenFile(string path, FileOpenMode mode, SymlinkPolicy symlinks = SymlinkPolicy.Refuse)
    {
        lock (_gate)
        {
            ThrowIfDown();
            path = Normalize(path);
            var directory = Parent(path);
            if (!_directories.Contains(directory))
            {
                throw new DirectoryNotFoundException($"{directory} does not exist");
            }

            if (_directories.Contains(path) || _specialFiles.ContainsKey(path))
            {
                // As on the real disk: refused at once, whatever the mode.
                throw new NotARegularFileException(path, _specialFiles.GetValueOrDefault(path, FileKind.Directory));
            }

            _files.TryGetValue(path, out var inode);
            switch (mode)
            {
                case FileOpenMode.ReadExisting or FileOpenMode.ReadWriteExisting when inode is null:
                    throw new FileNotFoundException($"{path} does not exist", path);
                case FileOpenMode.CreateNew when inode is not null:
                    throw new IOException($"{path} already exists");
                case FileOpenMode.CreateNew or FileOpenMode.CreateOrTruncate when inode is null:
                    Mutate(FsOperationKind.Create, path);
                    inode = new Inode(path);
                    _files[path] = inode;
                    _pendingDirectoryOperations.Add(new DirectoryOperation(directory, FsOperationKind.Create, path, null, inode));
                    break;
                case FileOpenMode.CreateOrTruncate:
                    Mutate(FsOperationKind.Truncate, path);
                    SetLengthLocked(inode!, 0);
                    break;
            }

            return new SimulatedFile(this, inode!, path, mode != FileOpenMode.ReadExisting, _epoch);
        }
    }

    public void DeleteFile(string path)
    {
        lock (_gate)
        {
            ThrowIfDown();
            path = Normalize(path);
            if (_specialFiles.Remove(path) || !_files.ContainsKey(path))
            {
                return;
            }

            Mutate(FsOperationKind.Delete, path);
            _files.Remove(path);
            _pendingDirectoryOperations.Add(new DirectoryOperation(Parent(path), FsOperationKind.Delete, path, null, null));
        }
    }

    public void Rename(string source, string destination)
    {
        lock (_gate)
        {
            ThrowIfDown();
            source = Normalize(source);
            destination = Normalize(destination);
            if (!_files.TryGetValue(source, out var inode))
            {
                throw new FileNotFoundException($"{source} does not exist", source);
            }

            if (Parent(source) != Parent(destination))
            {
                throw new NotSupportedException("the simulated file system renames within one directory only");
            }

            Mutate(FsOperationKind.Rename, source);
            _files.Remove(source);
            _files[destination] = inode;
            inode.Name = destination;
            _pendingDirectoryOperations.Add(new DirectoryOperation(Parent(source), FsOperationKind.Rename, source, destination, inode));
        }
    }

    public void SyncDirectory(string path)
    {
        lock (_gate)
        {
            ThrowIfDown();
            var directory = Normalize(path);
            Mutate(FsOperationKind.SyncDirectory, directory);
            if (Fires(_directorySyncFaults, directory) is not null)
            {
                throw Inject(new IOException($"fsync directory {directory}: Input/output error (errno {Eio})", Eio));
            }

            for (var i = 0; i < _pendingDirectoryOperations.Count;)
            {
                if (_pendingDirectoryOperations[i].Directory == directory)
                {
                    ApplyDurably(_pendingDirectoryOperations[i]);
                    _pendingDirectoryOperations.RemoveAt(i);
                }
                else
                {
                    i++;
                }
            }
        }
    }

    public IDisposable LockDirectory(string lockFilePath)
    {
        lock (_gate)
        {
            ThrowIfDown();
            var path = Normalize(lockFilePath);
            if (!_directories.Contains(Parent(path)))
            {
                throw new DirectoryNotFoundException($"{Parent(path)} does not exist");
            }

            if (_locks.ContainsKey(path))
            {
                throw new IOException($"{path} is locked: another process has this log open");
            }

            _locks[path] = _epoch;
            return new LockHandle(this, path, _epoch);
        }
    }

    private static string Normalize(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(path);
        if (!full.StartsWith('/'))
        {
            throw new ArgumentException($"the simulated file system takes absolute paths, not {path}", nameof(path));
        }

        return full.Length == 0 ? "/" : full;
    }

    private static string Parent(string path) => Path.GetDirectoryName(path) ?? "/";

    private static void ApplyWrite(ref byte[] data, ref int length, long offset, ReadOnlySpan<byte> bytes)
    {
        var end = checked((int)(offset + bytes.Length));
        EnsureCapacity(ref data, end);
        if (offset > length)
        {
            data.AsSpan(length, (int)offset - length).Clear();
        }

        bytes.CopyTo(data.AsSpan((int)offset));
        length = Math.Max(length, end);
    }

    private static void ApplySetLength(ref byte[] data, ref int length, long newLength)
    {
        var target = checked((int)newLength);
        EnsureCapacity(ref data, target);
        if (target > length)
        {
            data.AsSpan(length, target - length).Clear();
        }

        length = target;
    }

    private static void EnsureCapacity(ref byte[] data, int size)
    {
        if (data.Length < size)
        {
            Array.Resize(ref data, Math.Max(size, data.Length * 2));
        }
    }

    private long UsedLocked() =>
        _files.Values.Sum(inode => (long)inode.Length);

    private Inode Find(string path) =>
        _files.TryGetValue(Normalize(path), out var inode) ? inode : throw new FileNotFoundException($"{path} does not exist", path);

    private void ThrowIfDown()
    {
        if (_down)
        {
            throw new IOException("simulated crash: the machine is down");
        }
    }

    private void ThrowIfDead(SimulatedFile file)
    {
        ObjectDisposedException.ThrowIf(file.Disposed, file);
        ThrowIfDown();
        if (file.Epoch != _epoch)
        {
            throw new IOException($"{file.Path}: simulated crash: this handle belongs to a process that died");
        }
    }

    /// <summary>Records a mutating operation, crashing first if an armed crash is due.</summary>
    private void Mutate(FsOperationKind kind, string path, long offset = 0, int length = 0)
    {
        if (_crash is { } crash && --crash.Remaining == 0)
        {
            _crash = null;
            CrashLocked(crash.TornWrites);
            _down = true;
            throw new IOException($"simulated crash before {kind} {path}");
        }

        var operation = new FsOperation(kind, path, offset, length);
        _history.Add(operation);
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            if (_waiters[i].Match(operation) && --_waiters[i].Remaining == 0)
            {
                _waiters[i].Completion.SetResult(operation);
                _waiters.RemoveAt(i);
            }
        }
    }

    /// <summary>Counts the operation against every matching fault; returns (and disarms) one that is due.</summary>
    private static CountedFault? Fires(List<CountedFault> faults, string path)
    {
        CountedFault? due = null;
        foreach (var fault in faults)
        {
            if (fault.Where(path) && --fault.Remaining == 0)
            {
                due ??= fault;
            }
        }

        faults.RemoveAll(f => f.Remaining <= 0);
        return due;
    }

    private IOException Inject(IOException exception)
    {
        _injected.Add(exception);
        return exception;
    }

    private int ReadAt(SimulatedFile file, long offset, Span<byte> buffer)
    {
        lock (_gate)
        {
            ThrowIfDead(file);
            var inode = file.Inode;
            if (offset >= inode.Length)
            {
                return 0;
            }

            var count = (int)Math.Min(buffer.Length, inode.Length - offset);
            inode.Data.AsSpan((int)offset, count).CopyTo(buffer);
            return count;
        }
    }

    private long LengthOf(SimulatedFile file)
    {
        lock (_gate)
        {
            ThrowIfDead(file);
            return file.Inode.Length;
        }
    }

    private void WriteAt(SimulatedFile file, long offset, ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            ThrowIfDead(file);
            ThrowIfReadOnly(file);
            var inode = file.Inode;
            Mutate(FsOperationKind.Write, inode.Name, offset, data.Length);
            if (_diskFull)
            {
                throw Inject(NoSpace(inode.Name));
            }

            if (Fires(_writeFaults, inode.Name) is { } fault)
            {
                // A short write ends at a sector boundary of the file: a file system runs out of
                // space at the first block it cannot allocate, and writes whole blocks before it.
                var asked = Math.Clamp(fault.BytesWritten?.Invoke(data.Length) ?? 0, 0, Math.Max(0, data.Length - 1));
                var written = (int)Math.Max(0, ((offset + asked) / SectorSize * SectorSize) - offset);
                WriteLocked(inode, offset, data[..written]);
                throw Inject(NoSpace(inode.Name));
            }

            if (_capacityBytes is { } capacity && UsedLocked() + (offset + data.Length - inode.Length) > capacity && offset + data.Length > inode.Length)
            {
                // As a short pwrite followed by ENOSPC: what fits is written, up to the capacity.
                var room = capacity - UsedLocked();
                var fits = (int)Math.Clamp(inode.Length + room - offset, 0, data.Length);
                WriteLocked(inode, offset, data[..fits]);
                throw Inject(NoSpace(inode.Name));
            }

            WriteLocked(inode, offset, data);
        }
    }

    private void SetLengthOf(SimulatedFile file, long length)
    {
        lock (_gate)
        {
            ThrowIfDead(file);
            ThrowIfReadOnly(file);
            Mutate(FsOperationKind.SetLength, file.Inode.Name, length);
            if ((_diskFull || (_capacityBytes is { } capacity && UsedLocked() + length - file.Inode.Length > capacity))
                && length > file.Inode.Length)
            {
                throw Inject(NoSpace(file.Inode.Name));
            }

            SetLengthLocked(file.Inode, length);
        }
    }

    private void Sync(SimulatedFile file)
    {
        lock (_gate)
        {
            ThrowIfDead(file);
            var inode = file.Inode;
            Mutate(FsOperationKind.DataSync, inode.Name);
            if (Fires(_syncFaults, inode.Name) is not null)
            {
                // Like Linux after an fsync error: some pages reached the disk, the rest are
                // marked clean and will never be written, though reads still see them.
                PersistRandomly(inode, inode.Durable.AsSpan(0, inode.DurableLength).ToArray(), keepRandom: true, out inode.Durable, out inode.DurableLength);
                inode.Pending.Clear();
                throw Inject(new IOException($"fdatasync {inode.Name}: Input/output error (errno {Eio})", Eio));
            }

            foreach (var op in inode.Pending)
            {
                if (op.Data is { } bytes)
                {
                    ApplyWrite(ref inode.Durable, ref inode.DurableLength, op.Offset, bytes);
                }
                else
                {
                    ApplySetLength(ref inode.Durable, ref inode.DurableLength, op.Offset);
                }
            }

            inode.Pending.Clear();
        }
    }

    private static void ThrowIfReadOnly(SimulatedFile file)
    {
        if (!file.Writable)
        {
            throw new UnauthorizedAccessException($"{file.Path} was opened read-only");
        }
    }

    private static IOException NoSpace(string path) => new($"{path}: No space left on device", Enospc);

    private static void WriteLocked(Inode inode, long offset, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        ApplyWrite(ref inode.Data, ref inode.Length, offset, data);
        inode.Pending.Add(new PendingOperation(offset, data.ToArray()));
    }

    private static void SetLengthLocked(Inode inode, long length)
    {
        ApplySetLength(ref inode.Data, ref inode.Length, length);
        inode.Pending.Add(new PendingOperation(length, null));
    }

    /// <summary>Applies the pending operations to <paramref name="start"/>: all of them, or a random subset of sector pieces.</summary>
    private void PersistRandomly(Inode inode, byte[] start, bool keepRandom, out byte[] result, out int resultLength)
    {
        var data = start;
        var length = start.Length;
        foreach (var op in inode.Pending)
        {
            if (op.Data is not { } bytes)
            {
                if (!keepRandom || _random.Next(2) == 0)
                {
                    ApplySetLength(ref data, ref length, op.Offset);
                }

                continue;
            }

            for (var at = op.Offset; at < op.Offset + bytes.Length;)
            {
                var pieceEnd = Math.Min(op.Offset + bytes.Length, ((at / SectorSize) + 1) * SectorSize);
                if (!keepRandom || _random.Next(2) == 0)
                {
                    ApplyWrite(ref data, ref length, at, bytes.AsSpan((int)(at - op.Offset), (int)(pieceEnd - at)));
                }

                at = pieceEnd;
            }
        }

        result = data.AsSpan(0, length).ToArray();
        resultLength = length;
    }

    private void ApplyDurably(DirectoryOperation op)
    {
        switch (op.Kind)
        {
            case FsOperationKind.Create:
                _durableFiles[op.Path] = op.Inode!;
                break;
            case FsOperationKind.Delete:
                _durableFiles.Remove(op.Path);
                break;
            case FsOperationKind.Rename:
                _durableFiles.Remove(op.Path);
                _durableFiles[op.Destination!] = op.Inode!;
                break;
        }
    }

    private void CrashLocked(bool tornWrites)
    {
        var keep = tornWrites ? _random.Next(_pendingDirectoryOperations.Count + 1) : 0;
        for (var i = 0; i < keep; i++)
        {
            ApplyDurably(_pendingDirectoryOperations[i]);
        }

        _pendingDirectoryOperations.Clear();
        _files.Clear();
        var survivors = new HashSet<Inode>(ReferenceEqualityComparer.Instance);
        foreach (var (path, inode) in _durableFiles.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            _files[path] = inode;
            inode.Name = path;
            if (!survivors.Add(inode))
            {
                continue;
            }

            var durable = inode.Durable.AsSpan(0, inode.DurableLength).ToArray();
            if (tornWrites)
            {
                PersistRandomly(inode, durable, keepRandom: true, out durable, out _);
            }

            inode.Pending.Clear();
            inode.Data = durable;
            inode.Length = durable.Length;
            inode.Durable = durable.ToArray();
            inode.DurableLength = durable.Length;
        }

        _locks.Clear();
        _epoch++;
    }

    private sealed class Inode(string name)
    {
        public string Name = name;
        public byte[] Data = [];
        public int Length;
        public byte[] Durable = [];
        public int DurableLength;
        public readonly List<PendingOperation> Pending = [];
    }

    /// <summary>A pending write (<see cref="Data"/> set) or length change (<see cref="Offset"/> is the new length).</summary>
    private readonly record struct PendingOperation(long Offset, byte[]? Data);

    private sealed record DirectoryOperation(string Directory, FsOperationKind Kind, string Path, string? Destination, Inode? Inode);

    private sealed class CountedFault(int nth, Func<string, bool> where, Func<int, int>? bytesWritten)
    {
        public int Remaining = nth;

        public Func<string, bool> Where { get; } = where;

        public Func<int, int>? BytesWritten { get; } = bytesWritten;

        public bool TornWrites { get; init; }
    }

    private sealed class Waiter(Func<FsOperation, bool> match, int nth)
    {
        public int Remaining = nth;

        public Func<FsOperation, bool> Match { get; } = match;

        public TaskCompletionSource<FsOperation> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class SimulatedFile(SimulatedFileSystem fs, Inode inode, string path, bool writable, long epoch) : IStorageFile
    {
        public string Path { get; } = path;

        public Inode Inode { get; } = inode;

        public bool Writable { get; } = writable;

        public long Epoch { get; } = epoch;

        public bool Disposed { get; private set; }

        public long Length => fs.LengthOf(this);

        public int Read(long offset, Span<byte> buffer) => fs.ReadAt(this, offset, buffer);

        public void Write(long offset, ReadOnlySpan<byte> data) => fs.WriteAt(this, offset, data);

        public void DataSync() => fs.Sync(this);

        public void SetLength(long length) => fs.SetLengthOf(this, length);

        public void Dispose() => Disposed = true;
    }

    private sealed class LockHandle(SimulatedFileSystem fs, string path, long epoch) : IDisposable
    {
        private bool _released;

        public void Dispose()
        {
            lock (fs._gate)
            {
                if (!_released && fs._locks.TryGetValue(path, out var held) && held == epoch)
                {
                    fs._locks.Remove(path);
                }

                _released = true;
            }
        }
    }
}
