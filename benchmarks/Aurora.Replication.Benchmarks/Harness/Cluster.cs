using System.Net;
using System.Security.Cryptography;
using Aurora.Replication.Consensus;
using Aurora.Replication.Storage;
using Aurora.Replication.Transport;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;
using Microsoft.Extensions.Logging;

namespace Aurora.Replication.Benchmarks.Harness;

/// <summary>
/// N replicas in this process, as a deployment runs them: a <see cref="ReplicaNode"/> each (its
/// transport on 127.0.0.1, a port of its own), each over a <see cref="LogReplicaStorage"/> on a
/// directory of its own, initialized VOTING, with the default consensus options but for the
/// timings given, and quorum N/2+1; and on each, a reader draining the committed stream, as the
/// scheduler's state machine will.
/// </summary>
internal sealed class Cluster : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly Replica[] _replicas;
    private readonly Lock _failureLock = new();
    private ReplicatedLog? _leader;
    private long _failures;
    private string? _firstFailure;

    private Cluster(string name, Replica[] replicas)
    {
        Name = name;
        _replicas = replicas;
    }

    public string Name { get; }

    public int Size => _replicas.Length;

    /// <summary>fdatasyncs issued by the log writers of every replica so far.</summary>
    public long Syncs => _replicas.Sum(r => r.Files.WriterSyncs);

    /// <summary>The same per replica, the leader's first (warm-up included, when read around a run).</summary>
    public long[] SyncsByReplica() => [.. _replicas.OrderByDescending(r => r.Log == _leader).Select(r => r.Files.WriterSyncs)];

    /// <summary>Per replica, the leader's first: the longest fdatasync of its log writer since the last call, in milliseconds.</summary>
    public double[] TakeSlowestSyncMillis() => [.. _replicas.OrderByDescending(r => r.Log == _leader).Select(r => r.Files.TakeSlowestWriterSyncMillis())];

    /// <summary>Counts a failed proposal and keeps the first reason, for <see cref="TakeFailures"/>.</summary>
    public void ProposalFailed(string? why)
    {
        lock (_failureLock)
        {
            _failures++;
            _firstFailure ??= why;
        }
    }

    /// <summary>The failed proposals since the last call (warm-ups included) and the first reason, or null when none failed.</summary>
    public string? TakeFailures()
    {
        lock (_failureLock)
        {
            var text = _failures == 0 ? null : $"{_failures} proposals failed, the first: {_firstFailure}; {Describe()}";
            _failures = 0;
            _firstFailure = null;
            return text;
        }
    }

    /// <summary>The serving leader found last (see <see cref="FindLeaderAsync"/>).</summary>
    public ReplicatedLog Leader => Volatile.Read(ref _leader) ?? throw new InvalidOperationException("no leader was found yet");

    /// <summary>Starts <paramref name="size"/> replicas under <paramref name="directory"/> and waits for a serving leader.</summary>
    public static async Task<Cluster> StartAsync(string name, int size, string directory, Timings timings, ILoggerFactory loggers, Action<Exception> onFatal, CancellationToken cancellationToken)
    {
        var transport = new ReplicaTransportOptions
        {
            ClusterId = $"bench-{name}",
            Secret = RandomNumberGenerator.GetBytes(32),
            ListenAddress = IPAddress.Loopback,
            Port = 0,
        };

        // Bound first (port 0), so that the membership can name the ports the kernel chose.
        var nodes = Enumerable.Range(0, size).Select(_ => new ReplicaNode(transport, loggers)).ToArray();
        var ids = nodes.Select(n => $"127.0.0.1:{n.Port}").ToArray();
        var replicas = new Replica[size];
        for (var i = 0; i < size; i++)
        {
            var path = Path.Combine(directory, $"{name}-{i}");
            Directory.CreateDirectory(path);
            var metadata = new ReplicaMetadataStore(PhysicalFileSystem.Instance, path);
            metadata.Save(ReplicaMetadataStore.NewVoting(DateTimeOffset.UtcNow, transport.ClusterId));
            var files = new CountingFileSystem(PhysicalFileSystem.Instance);
            var log = SegmentedLog.Open(new LogOptions { Directory = path, FileSystem = files, OnFatalError = onFatal });
            var storage = new LogReplicaStorage(log, new SnapshotStore(new SnapshotOptions { Directory = path }), metadata);

            // Everything else is the default: appends of up to 1 MiB, 8192 entries in flight per follower.
            var options = timings.Apply(new ConsensusOptions { SelfId = ids[i], Members = ids, Quorum = (size / 2) + 1 });
            var replicated = nodes[i].Start(options, storage, appliedPosition: 0);
            replicas[i] = new Replica(nodes[i], storage, files, replicated);
        }

        var cluster = new Cluster(name, replicas);
        await cluster.FindLeaderAsync(cancellationToken);
        return cluster;
    }

    /// <summary>Waits for a replica that serves as leader (it took its lease and committed its term's first entry).</summary>
    public async Task<ReplicatedLog> FindLeaderAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_replicas.FirstOrDefault(r => r.Log.Status.Serving) is { } serving)
            {
                Volatile.Write(ref _leader, serving.Log);
                return serving.Log;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{Name}: no replica served as leader within {Patience.TotalSeconds} s: {Describe()}");
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    /// <summary>
    /// After a run: waits until every replica has delivered all the leader holds (so a follower
    /// needs nothing the truncation removes), then drops the log segments before that on every
    /// replica, keeping the disk footprint to about a segment each. Returns false (and truncates
    /// nothing) when they did not converge in time.
    /// </summary>
    public async Task<bool> ConvergeAndTruncateAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = _replicas.Max(r => r.Storage.LastPosition);
            if (_replicas.All(r => r.Delivered >= target))
            {
                foreach (var replica in _replicas)
                {
                    replica.Storage.Log.TruncatePrefix(target);
                }

                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                Console.Error.WriteLine($"warning: {Name}: the replicas did not converge within {Patience.TotalSeconds} s; nothing truncated: {Describe()}");
                return false;
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    public string Describe() => string.Join("; ", _replicas.Select(r =>
        $"{r.Log.Status.SelfId} {r.Log.Status.Role} term {r.Log.Status.Term} last {r.Storage.LastPosition} commit {r.Log.Status.CommitPosition} delivered {r.Delivered}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }
    }

    /// <summary>Heartbeat, lease and election timeouts.</summary>
    internal sealed record Timings(string Name, TimeSpan Heartbeat, TimeSpan Lease, TimeSpan ElectionMin, TimeSpan ElectionMax)
    {
        private static readonly ConsensusOptions Defaults = new() { SelfId = "a:1", Members = ["a:1"], Quorum = 1 };

        /// <summary><see cref="ConsensusOptions"/>' defaults: heartbeat 50 ms, lease 250 ms, elections after 300-600 ms.</summary>
        public static Timings Production { get; } = new("production", Defaults.HeartbeatInterval, Defaults.Lease, Defaults.ElectionTimeoutMin, Defaults.ElectionTimeoutMax);

        /// <summary>Those of the TCP tests, for a loaded machine: a 250 ms disk stall does not cost the leader its lease.</summary>
        public static Timings Relaxed { get; } = new("relaxed", TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(3));

        public ConsensusOptions Apply(ConsensusOptions options) => options with
        {
            HeartbeatInterval = Heartbeat,
            Lease = Lease,
            ElectionTimeoutMin = ElectionMin,
            ElectionTimeoutMax = ElectionMax,
        };

        public override string ToString() => string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"{Name} (heartbeat {Heartbeat.TotalMilliseconds} ms, lease {Lease.TotalMilliseconds} ms, elections after {ElectionMin.TotalMilliseconds}-{ElectionMax.TotalMilliseconds} ms)");
    }

    /// <summary>One replica: its node, its disk, and the reader of its committed stream.</summary>
    private sealed class Replica : IAsyncDisposable
    {
        private readonly Task _reader;
        private long _delivered;

        public Replica(ReplicaNode node, LogReplicaStorage storage, CountingFileSystem files, ReplicatedLog log)
        {
            Node = node;
            Storage = storage;
            Files = files;
            Log = log;
            _reader = Task.Run(DrainAsync);
        }

        public ReplicaNode Node { get; }

        public LogReplicaStorage Storage { get; }

        public CountingFileSystem Files { get; }

        public ReplicatedLog Log { get; }

        /// <summary>The last position the committed stream handed to the reader.</summary>
        public ulong Delivered => (ulong)Interlocked.Read(ref _delivered);

        public async ValueTask DisposeAsync()
        {
            // The node completes the committed stream, which ends the reader.
            await Node.DisposeAsync();
            await _reader;
            Storage.Log.Dispose();
        }

        /// <summary>What the scheduler's state machine does with the stream, minus applying: take every item as it comes.</summary>
        private async Task DrainAsync()
        {
            var reader = Log.Committed;
            while (await reader.WaitToReadAsync())
            {
                while (reader.TryRead(out var item))
                {
                    if (item.Entry is { } entry)
                    {
                        Interlocked.Exchange(ref _delivered, (long)entry.Position);
                    }
                }
            }
        }
    }
}
