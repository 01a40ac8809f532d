using Aurora.Replication.Consensus;
using Aurora.Replication.Protos;
using Aurora.Storage.Protos;
using Aurora.Testing.Linearizability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Replication.Tests.Simulation;

/// <summary>The shape of one simulated run.</summary>
internal sealed record SimulationConfig
{
    public int Replicas { get; init; } = 3;

    public int Clients { get; init; } = 3;

    /// <summary>How long faults are injected; then everything heals.</summary>
    public TimeSpan FaultPhase { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>How long the healed cluster gets to converge.</summary>
    public TimeSpan HealPhase { get; init; } = TimeSpan.FromSeconds(3);

    public bool Faults { get; init; } = true;

    /// <summary>Whether replicas may lose their disks (at most a minority at a time).</summary>
    public bool Wipes { get; init; } = true;

    /// <summary>How many replicas start EMPTY (never initialised): at most a minority, so the cluster can start.</summary>
    public int StartEmpty { get; init; }

    /// <summary>
    /// A deliberate bug, to prove the checks catch one: reads are answered from whatever the
    /// replica asked has applied, without a read barrier (a follower's stale state).
    /// </summary>
    public bool StaleReads { get; init; }

    /// <summary>
    /// Whether each replica runs the real storage (<see cref="FileDisk"/>) on a simulated file system
    /// of its own, with disk faults: power failures in the middle of writes (torn or not), full
    /// disks, writes that fail part-way, failing fdatasyncs, and bit flips. Otherwise each keeps
    /// its log in memory (<see cref="MemoryDisk"/>), which never fails.
    /// </summary>
    public bool Disks { get; init; }

    /// <summary>A configuration drawn from the seed: 3 or 5 replicas (sometimes 1), 1–4 clients, some starting EMPTY.</summary>
    public static SimulationConfig ForSeed(int seed)
    {
        var random = new Random(seed ^ 0x5eed);
        var replicas = random.Next(10) switch { 0 => 1, < 6 => 3, _ => 5 };
        return new SimulationConfig
        {
            Replicas = replicas,
            Clients = random.Next(1, 5),
            StartEmpty = random.Next(4) == 0 ? random.Next(0, ((replicas - 1) / 2) + 1) : 0,
            Wipes = replicas > 1,
            Disks = random.Next(2) == 0,
        };
    }

    public override string ToString() => $"{Replicas} replicas, {Clients} clients, {StartEmpty} starting EMPTY, {(Disks ? "simulated disks with faults" : "disks in memory")}";
}

/// <summary>What went wrong in a run, with the seed that replays it.</summary>
internal sealed class SimulationFailure(int seed, string message, IEnumerable<string> trace)
    : Exception($"seed {seed}: {message}\nreplay: AURORA_FUZZ_SEED={seed} AURORA_FUZZ_CASES=1 (SimulationTests)\nlast events:\n{string.Join("\n", trace)}");

/// <summary>One operation of a simulated client, as the linearizability check sees it.</summary>
internal sealed record ClientOperation(int Client, bool IsRead, string Value, long CallMicros, long ReturnMicros, ulong Position, IReadOnlyList<string>? ReadValues, bool Completed);

/// <summary>
/// Every replica in one process on a seeded scheduler and clock: a simulated network (drops,
/// delays, reordering, duplication, partitions, one-way links), crashes and lost disks, and
/// clients writing and reading throughout. The same seed replays the same run, event for event.
/// </summary>
/// <remarks>
/// <para>With <see cref="SimulationConfig.Disks"/>, each replica's disk is a
/// <see cref="SimulatedFileSystem"/> under the real storage, and the faults include the disk's:</para>
/// <list type="bullet">
/// <item>a power failure in the middle of a write (armed at a random later file operation), losing
/// what was not durable or keeping a torn part of it; crashes also lose power at random;</item>
/// <item>a full disk for a while, and a write that fails with ENOSPC after writing part of itself;</item>
/// <item>a failing fdatasync: the log reports it fatal and the process exits. The machine is then
/// rebooted (what was not durable is gone): after EIO Linux marks the unwritten pages clean, so a
/// process restarted without a reboot could read back, as durable, entries the disk never got;</item>
/// <item>a bit flip in a file of a replica whose disk may be lost (at most a minority at a time,
/// counted with wiped disks). Storage must find it (at open, or on the read that meets it; the
/// process then exits) and refuse to go on; the simulator then does what the operator does, an
/// <c>aurora-log repair</c>, and the replica comes back RECOVERING (its promised term kept when
/// replica.meta was readable, as the tool does, none when the flip damaged it).
/// Flips that turn a byte into zero are left out: a zeroed tail is what a torn write leaves, and no
/// checksum tells the two apart (see <c>SegmentScanner</c>).</item>
/// </list>
/// <para>A storage error that escapes the consensus core ends the replica's process, as in the
/// server; it restarts from its disk a little later. Storage refusing to open a disk that no flip
/// touched fails the run: that is damage a power failure must never cause.</para>
/// </remarks>
internal sealed class Simulator
{
    private static readonly TimeSpan TickEvery = TimeSpan.FromMilliseconds(5);
    private readonly int _seed;
    private readonly SimulationConfig _config;
    private readonly Random _random;
    private readonly PriorityQueue<Action, (TimeSpan, long)> _events = new();
    private readonly Queue<string> _trace = new();
    private readonly SimReplica[] _replicas;
    private readonly HashSet<(int From, int To)> _blocked = [];
    private readonly List<ClientOperation> _history = [];
    private readonly Dictionary<ulong, (ulong Term, string Value)> _committed = [];
    private readonly Dictionary<ulong, string> _leaderOfTerm = [];
    private readonly ulong _snapshotEvery;
    private readonly ulong _snapshotKeep;
    private readonly SimTime _time;
    private long _sequence;
    private long _nextValue;
    private double _dropRate;
    private double _duplicateRate;
    private TimeSpan _now;
    private bool _healed;

    public Simulator(int seed, SimulationConfig config)
    {
        _seed = seed;
        _config = config;
        _random = new Random(seed);
        _snapshotEvery = (ulong)_random.Next(20, 300);
        _snapshotKeep = (ulong)_random.Next(0, 30);
        _time = new SimTime(this);
        var segmentSize = config.Disks ? _random.Next(4, 33) * 1024L : 0;
        var ids = Enumerable.Range(0, config.Replicas).Select(i => $"r{i}:700{i}").ToArray();
        _replicas = [.. ids.Select((id, i) =>
        {
            var status = i < config.StartEmpty ? ReplicaStatus.Empty : ReplicaStatus.Voting;
            ISimDisk disk = config.Disks ? new FileDisk(unchecked((seed * 131) + (i * 1000)), status, segmentSize, _time) : new MemoryDisk(status);
            return new SimReplica(this, i, id, ids, disk, status);
        })];
    }

    public IReadOnlyList<ClientOperation> History => _history;

    public int Quorum => (_config.Replicas / 2) + 1;

    public TimeSpan Now => _now;

    public long Events { get; private set; }

    /// <summary>Snapshots replicas installed from a leader (the catch-up path past a truncated log).</summary>
    public int SnapshotsInstalled { get; private set; }

    /// <summary>Disk faults that went off (a replica's process ended on its disk) and repairs of damage storage found.</summary>
    public int DiskFailures { get; private set; }

    public int Repairs { get; private set; }

    /// <summary>Proposals a leader saw committed before its own append of them was durable (a quorum of followers had them).</summary>
    public int CommittedBeforeLeaderDurable { get; private set; }

    /// <summary>Times a leader stopped leading with appends of its own still in flight, and waited for them.</summary>
    public int AppendsFlushedOnStepDown { get; private set; }

    /// <summary>Times a replica took several appends from one leader at once (the core merges those that continue one another).</summary>
    public int AppendsTakenTogether { get; private set; }

    /// <summary>Runs the faults, the healing and the checks; throws <see cref="SimulationFailure"/> on any violation.</summary>
    public void Run()
    {
        try
        {
            foreach (var replica in _replicas)
            {
                replica.Start();
                ScheduleTick(replica);
            }

            for (var c = 0; c < _config.Clients; c++)
            {
                var client = c;
                At(TimeSpan.FromMilliseconds(_random.Next(0, 50)), () => ClientStep(client));
            }

            if (_config.Faults)
            {
                ScheduleFault();
            }

            At(_config.FaultPhase, Heal);
            var end = _config.FaultPhase + _config.HealPhase;
            while (_events.TryDequeue(out var action, out var when) && when.Item1 <= end)
            {
                _now = when.Item1;
                Events++;
                action();
            }

            CheckConvergence();
            CheckLinearizable();
        }
        catch (SimulationFailure)
        {
            throw;
        }
        catch (Exception e)
        {
            throw Fail($"unexpected {e.GetType().Name}: {e}");
        }
        finally
        {
            // The logs' writer threads end with the run.
            foreach (var replica in _replicas.Where(r => r.Up))
            {
                replica.Crash();
            }
        }
    }

    public SimulationFailure Fail(string message) => new(_seed, message, _trace);

    public void Trace(string what)
    {
        _trace.Enqueue($"{_now.TotalMilliseconds,10:F3} ms {what}");
        if (_trace.Count > 300)
        {
            _trace.Dequeue();
        }
    }

    private void At(TimeSpan when, Action action) => _events.Enqueue(action, (when, _sequence++));

    private void After(TimeSpan delay, Action action) => At(_now + delay, action);

    private void ScheduleTick(SimReplica replica) => After(TickEvery, () =>
    {
        replica.Tick();
        ScheduleTick(replica);
    });

    // ---- the network ----

    public void Send(int from, string to, PeerMessage message)
    {
        var target = Array.FindIndex(_replicas, r => r.Id == to);
        if (_blocked.Contains((from, target)) || _random.NextDouble() < _dropRate)
        {
            return;
        }

        var copies = _random.NextDouble() < _duplicateRate ? 2 : 1;
        for (var i = 0; i < copies; i++)
        {
            // Mostly 0.1–1 ms; sometimes much later, which reorders.
            var delay = _random.NextDouble() < 0.05
                ? TimeSpan.FromMilliseconds(_random.Next(5, 80))
                : TimeSpan.FromMicroseconds(_random.Next(100, 1000));
            var copy = message.Clone();
            var sender = _replicas[from].Id;
            After(delay, () =>
            {
                if (!_blocked.Contains((from, target)))
                {
                    _replicas[target].Receive(sender, copy);
                }
            });
        }
    }

    // ---- faults ----

    private void ScheduleFault() => After(TimeSpan.FromMilliseconds(_random.Next(100, 800)), () =>
    {
        if (_healed)
        {
            return;
        }

        InjectFault();
        ScheduleFault();
    });

    private void InjectFault()
    {
        var n = _replicas.Length;
        switch (_random.Next(0, _config.Disks ? 12 : 7))
        {
            case 0:
            case 1:
                {
                    var victim = _replicas[_random.Next(n)];
                    if (victim.Up)
                    {
                        CrashSomehow(victim, "crash");
                        After(TimeSpan.FromMilliseconds(_random.Next(50, 2000)), () => Restart(victim));
                    }

                    break;
                }

            case 2:
                {
                    // A partition into two sides for a while.
                    var side = Enumerable.Range(0, n).Where(_ => _random.Next(2) == 0).ToHashSet();
                    Trace($"partition {{{string.Join(",", side)}}} | rest");
                    foreach (var a in Enumerable.Range(0, n))
                    {
                        foreach (var b in Enumerable.Range(0, n).Where(b => side.Contains(a) != side.Contains(b)))
                        {
                            _blocked.Add((a, b));
                        }
                    }

                    After(TimeSpan.FromMilliseconds(_random.Next(200, 3000)), HealLinks);
                    break;
                }

            case 3:
                {
                    var a = _random.Next(n);
                    var b = _random.Next(n);
                    if (a != b)
                    {
                        Trace($"one-way link r{a} -/-> r{b}");
                        _blocked.Add((a, b));
                        After(TimeSpan.FromMilliseconds(_random.Next(200, 3000)), () => _blocked.Remove((a, b)));
                    }

                    break;
                }

            case 4:
                _dropRate = _random.NextDouble() * 0.3;
                _duplicateRate = _random.NextDouble() * 0.1;
                Trace($"drop {_dropRate:P0} duplicate {_duplicateRate:P0}");
                After(TimeSpan.FromMilliseconds(_random.Next(200, 2000)), () => _dropRate = _duplicateRate = 0);
                break;
            case 5:
                {
                    // The leader crashes: the most interesting crash.
                    var leader = _replicas.FirstOrDefault(r => r.Up && r.Core!.Role == ConsensusRole.Leader);
                    if (leader is not null)
                    {
                        CrashSomehow(leader, "crash leader");
                        After(TimeSpan.FromMilliseconds(_random.Next(50, 1500)), () => Restart(leader));
                    }

                    break;
                }

            case 6:
                {
                    // A lost disk, while a quorum keeps theirs.
                    var victim = _replicas[_random.Next(n)];
                    var lost = _replicas.Count(r => r.DiskLost);
                    if (_config.Wipes && victim.Up && !victim.DiskLost && lost + 1 <= n - Quorum)
                    {
                        Trace($"wipe {victim.Id}");
                        victim.Crash();
                        victim.Disk.Wipe();
                        victim.DiskLost = true;
                        After(TimeSpan.FromMilliseconds(_random.Next(50, 1000)), () => Restart(victim));
                    }

                    break;
                }

            default:
                InjectDiskFault(_replicas[_random.Next(n)]);
                break;
        }
    }

    /// <summary>The process ends; on simulated disks the machine may lose power too, tearing what it had not synced.</summary>
    private void CrashSomehow(SimReplica victim, string what)
    {
        var powerLoss = _config.Disks && _random.Next(2) == 0;
        var torn = powerLoss && _random.Next(2) == 0;
        Trace($"{what} {victim.Id}{(powerLoss ? torn ? " (power lost, torn writes)" : " (power lost)" : string.Empty)}");
        victim.Crash(powerLoss, torn);
    }

    private void InjectDiskFault(SimReplica victim)
    {
        var disk = (FileDisk)victim.Disk;
        var fs = disk.Fs;
        if (!victim.Up)
        {
            return;
        }

        switch (_random.Next(0, 5))
        {
            case 0:
                {
                    var nth = _random.Next(1, 40);
                    var torn = _random.Next(2) == 0;
                    Trace($"{victim.Id}: power fails at its {nth}th file operation from now{(torn ? ", tearing writes" : string.Empty)}");
                    fs.CrashAtOperation(nth, torn);
                    break;
                }

            case 1:
                Trace($"{victim.Id}: disk full");
                fs.DiskFull = true;
                After(TimeSpan.FromMilliseconds(_random.Next(100, 1500)), () => fs.DiskFull = false);
                break;
            case 2:
                {
                    var nth = _random.Next(1, 10);
                    Trace($"{victim.Id}: its {nth}th write from now fails with ENOSPC part-way");
                    fs.FailWrite(nth, length => _random.Next(length + 1));
                    break;
                }

            case 3:
                {
                    var nth = _random.Next(1, 10);
                    Trace($"{victim.Id}: its {nth}th fdatasync from now fails with EIO");
                    fs.FailDataSync(nth);
                    break;
                }

            case 4:
                {
                    var lost = _replicas.Count(r => r.DiskLost);
                    if (_config.Wipes && !victim.DiskLost && lost + 1 <= _replicas.Length - Quorum)
                    {
                        var where = disk.FlipBit(_random);
                        Trace($"{victim.Id}: bit flip in {where}; the process restarts");
                        victim.DiskLost = true;
                        victim.ExpectIntact = (victim.Storage.LastPosition, victim.Storage.Metadata, where);
                        victim.Crash();
                        After(TimeSpan.FromMilliseconds(_random.Next(10, 500)), () => Restart(victim));
                    }

                    break;
                }
        }
    }

    private void Restart(SimReplica replica)
    {
        if (!replica.Up)
        {
            Trace($"restart {replica.Id}");
            if (!replica.Start())
            {
                After(TimeSpan.FromMilliseconds(_random.Next(50, 500)), () => Restart(replica));
            }
        }
    }

    /// <summary>A replica's process ended on a disk fault; it restarts a little later.</summary>
    public void DiskFailed(SimReplica replica)
    {
        DiskFailures++;
        After(TimeSpan.FromMilliseconds(_random.Next(50, 1000)), () => Restart(replica));
    }

    /// <summary>An operator repaired a replica whose damage storage found.</summary>
    public void Repaired() => Repairs++;

    private void HealLinks() => _blocked.Clear();

    private void Heal()
    {
        Trace("heal");
        _healed = true;
        HealLinks();
        _dropRate = _duplicateRate = 0;
        foreach (var replica in _replicas)
        {
            (replica.Disk as FileDisk)?.Fs.DisarmFaults();
            Restart(replica);
        }
    }

    // ---- clients ----

    private void ClientStep(int client)
    {
        if (_now >= _config.FaultPhase + _config.HealPhase - TimeSpan.FromSeconds(1))
        {
            return;
        }

        var leaders = _replicas.Where(r => r.Up && r.Core!.IsServing).ToList();
        var target = leaders.Count > 0 && _random.Next(10) > 0 ? leaders[_random.Next(leaders.Count)] : _replicas[_random.Next(_replicas.Length)];
        var call = _now;
        var done = false;
        void Finish(ClientOperation? operation)
        {
            if (done)
            {
                return;
            }

            done = true;
            if (operation is not null)
            {
                _history.Add(operation);
            }

            After(TimeSpan.FromMilliseconds(_random.Next(1, 30)), () => ClientStep(client));
        }

        if (!target.Up)
        {
            Finish(null);
            return;
        }

        if (_random.Next(4) == 0)
        {
            target.Read(values => Finish(values is null ? null
                : new ClientOperation(client, true, string.Empty, Micros(call), Micros(_now), 0, values, true)));
        }
        else
        {
            var value = $"c{client}-{_nextValue++}";
            target.Append(value, (outcome) =>
            {
                if (outcome is null || (!outcome.Committed && outcome.MayHaveCommitted))
                {
                    Finish(new ClientOperation(client, false, value, Micros(call), long.MaxValue, 0, null, false));
                }
                else if (outcome.Committed)
                {
                    Finish(new ClientOperation(client, false, value, Micros(call), Micros(_now), outcome.LastPosition, null, true));
                }
                else
                {
                    Finish(null);
                }
            });
        }

        // A client gives up after a second: the outcome is then unknown.
        After(TimeSpan.FromSeconds(1), () =>
        {
            if (!done)
            {
                target.Abandon();
            }
        });
    }

    private static long Micros(TimeSpan t) => t.Ticks / 10;

    // ---- checks ----

    /// <summary>Invariant 1, checked at every delivery: one entry per position, whoever delivers it.</summary>
    public void Committed(SimReplica replica, LogEntry entry)
    {
        var value = MemoryReplicaStorage.ValueOf(entry);
        if (_committed.TryGetValue(entry.Position, out var known))
        {
            if (known.Term != entry.Term || known.Value != value)
            {
                throw Fail($"invariant 1: {replica.Id} delivered term {entry.Term} '{value}' at position {entry.Position}, where term {known.Term} '{known.Value}' was delivered before");
            }
        }
        else
        {
            _committed[entry.Position] = (entry.Term, value);
        }
    }

    /// <summary>Election safety (what invariant 3 rests on): at most one leader per term.</summary>
    public void Elected(SimReplica replica, ulong term)
    {
        if (_leaderOfTerm.TryGetValue(term, out var other) && other != replica.Id)
        {
            throw Fail($"two leaders in term {term}: {other} and {replica.Id}");
        }

        _leaderOfTerm[term] = replica.Id;
        Trace($"{replica.Id} leads term {term}");
    }

    private void CheckConvergence()
    {
        if (_replicas.Any(r => !r.Up))
        {
            throw Fail("a replica is still down after healing");
        }

        var leader = _replicas.Where(r => r.Core!.IsServing).ToList();
        if (leader.Count != 1)
        {
            throw Fail($"after {_config.HealPhase.TotalSeconds} s healed, {leader.Count} replicas serve as leader (want 1): "
                + string.Join("; ", _replicas.Select(r => $"{r.Id} {r.Core!.Role} {r.Core.Status} term {r.Core.Term} last {r.Core.LastPosition} commit {r.Core.CommitPosition}")));
        }

        var commit = leader[0].Core!.CommitPosition;
        foreach (var replica in _replicas)
        {
            if (replica.Core!.Status != ReplicaStatus.Voting)
            {
                throw Fail($"{replica.Id} is {replica.Core.Status} after healing");
            }

            if (replica.Core.AppliedPosition < commit)
            {
                throw Fail($"{replica.Id} applied {replica.Core.AppliedPosition} < the leader's commit {commit} after healing");
            }

            var stored = replica.Storage.FirstPosition <= commit ? replica.Storage.Read(replica.Storage.FirstPosition, commit, int.MaxValue) : [];
            if (stored.Count != (int)(commit + 1 - Math.Min(commit + 1, replica.Storage.FirstPosition)))
            {
                throw Fail($"{replica.Id} holds {stored.Count} entries from {replica.Storage.FirstPosition} to the commit position {commit}");
            }

            foreach (var entry in stored)
            {
                if (!_committed.TryGetValue(entry.Position, out var known) || known.Term != entry.Term || known.Value != MemoryReplicaStorage.ValueOf(entry))
                {
                    throw Fail($"{replica.Id} holds term {entry.Term} at position {entry.Position}, not the committed entry");
                }
            }
        }

        foreach (var op in _history.Where(o => !o.IsRead && o.Completed))
        {
            if (op.Position > commit || _committed[op.Position].Value != op.Value)
            {
                throw Fail($"acknowledged append '{op.Value}' at position {op.Position} is not in the converged log");
            }
        }
    }

    /// <summary>
    /// The clients' history must be linearizable against the sequential log: appends return the
    /// position of their value among client values (a leader's term-start entries are not client
    /// values), reads return every committed value.
    /// </summary>
    private void CheckLinearizable()
    {
        var valueIndex = new Dictionary<ulong, ulong>();
        var count = 0UL;
        foreach (var (position, entry) in _committed.OrderBy(c => c.Key))
        {
            if (entry.Value.Length > 0)
            {
                valueIndex[position] = ++count;
            }
        }

        var history = new List<Operation<LogInput<string>, LogOutput<string>>>();
        foreach (var op in _history)
        {
            if (op.IsRead)
            {
                history.Add(Operation.Completed<LogInput<string>, LogOutput<string>>(op.Client, new LogRead<string>(), op.CallMicros, new LogReadResult<string>(op.ReadValues!), op.ReturnMicros));
            }
            else if (op.Completed)
            {
                history.Add(Operation.Completed<LogInput<string>, LogOutput<string>>(op.Client, new LogAppend<string>(op.Value), op.CallMicros, new LogAppended<string>(valueIndex[op.Position]), op.ReturnMicros));
            }
            else
            {
                history.Add(Operation.Unknown<LogInput<string>, LogOutput<string>>(op.Client, new LogAppend<string>(op.Value), op.CallMicros));
            }
        }

        var result = LinearizabilityChecker.Check(new ReplicatedLogModel<string>(history), history, TimeSpan.FromSeconds(60));
        if (result.Verdict != LinearizabilityVerdict.Linearizable)
        {
            throw Fail($"the clients' history is {result.Verdict}: {result.Report}");
        }
    }

    /// <summary>One simulated replica: its disk survives crashes; its core and state machine do not.</summary>
    internal sealed class SimReplica(Simulator sim, int index, string id, string[] members, ISimDisk disk, ReplicaStatus initial) : IConsensusHost
    {
        private readonly Dictionary<long, Action<ProposalOutcome?>> _appends = [];
        private readonly Dictionary<long, Action<IReadOnlyList<string>?>> _reads = [];
        private readonly List<(ulong Position, Action<IReadOnlyList<string>?> Done)> _waitingToApply = [];
        private readonly List<string> _applied = [];
        private readonly List<(string From, PeerMessage Message)> _inbox = [];
        private DeferredAppends? _disk;
        private long _nextRequest;
        private int _runs;
        private ulong _lastSnapshot;

        public string Id { get; } = id;

        public ISimDisk Disk { get; } = disk;

        /// <summary>The storage of the current run.</summary>
        public IReplicaStorage Storage => Disk.Storage;

        public ConsensusCore? Core { get; private set; }

        public bool Up => Core is not null;

        /// <summary>True while this replica has no disk a quorum can count on: it started EMPTY or was wiped, and is not VOTING again yet.</summary>
        public bool DiskLost { get; set; } = initial == ReplicaStatus.Empty;

        /// <summary>
        /// After a bit flip: what the disk held durably before it. If storage opens the disk without
        /// finding damage, it must still hold all of it: a flip must never cost durable data silently.
        /// </summary>
        public (ulong LastPosition, ReplicaMetadata Metadata, string Flip)? ExpectIntact { get; set; }

        /// <summary>Starts a run on the disk: false when the disk cannot be opened now (it is full or failing).</summary>
        public bool Start()
        {
            ulong appliedPosition;
            List<string> state;
            try
            {
                (appliedPosition, state) = Load();
            }
            catch (DiskDamagedException e) when (Disk is FileDisk { Flipped: true } files)
            {
                // What the operator does about damage storage found: aurora-log repair.
                sim.Trace($"{Id}: {e.Message}; repaired: {files.Repair()}");
                sim.Repaired();
                DiskLost = true;
                (appliedPosition, state) = Load();
            }
            catch (DiskDamagedException e)
            {
                var history = Disk is FileDisk files ? string.Join("\n", files.Fs.History.TakeLast(40)) : string.Empty;
                throw sim.Fail($"{Id}: storage found damage that only power failures, full disks and failed writes could have caused: {e}\nthe disk's last file operations:\n{history}");
            }
            catch (IOException e) when (Disk is FileDisk)
            {
                sim.Trace($"{Id}: cannot start: {e.Message}");
                Disk.Close(powerLoss: false, torn: false);
                return false;
            }

            if (ExpectIntact is { } before && Disk is FileDisk { Flipped: true })
            {
                if (Storage.LastPosition != before.LastPosition || !Storage.Metadata.Equals(before.Metadata))
                {
                    throw sim.Fail(
                        $"{Id}: after a bit flip ({before.Flip}) storage opened without finding damage, but holds {Storage.LastPosition} entries "
                        + $"(before: {before.LastPosition}) and metadata {Storage.Metadata} (before: {before.Metadata})");
                }
            }

            ExpectIntact = null;
            _runs++;
            _applied.Clear();
            _applied.AddRange(state);
            _lastSnapshot = appliedPosition;
            var options = new ConsensusOptions { SelfId = Id, Members = members, Quorum = sim.Quorum };
            _inbox.Clear();
            _disk = new DeferredAppends(Storage, () => sim.AppendsFlushedOnStepDown++);
            Guard(() => Core = new ConsensusCore(options, _disk, this, appliedPosition, seed: sim._seed * 31 + index * 7 + _runs, new TraceLogger(sim, Id), sim._now, () => 1_700_000_000_000_000 + Micros(sim._now)));
            return true;
        }

        /// <summary>Opens the disk and loads the newest snapshot, as the scheduler will.</summary>
        private (ulong Applied, List<string> State) Load()
        {
            var storage = Disk.Open();
            try
            {
                if (storage.LatestSnapshot is not { } snapshot)
                {
                    return storage.FirstPosition == 1 ? (0, []) : throw new DiskDamagedException($"the log starts at {storage.FirstPosition} and there is no snapshot", new InvalidDataException());
                }

                var state = SnapshotValues(storage.ReadSnapshot(snapshot));
                return snapshot.Position + 1 >= storage.FirstPosition
                    ? (snapshot.Position, state)
                    : throw new DiskDamagedException($"the newest snapshot is at {snapshot.Position} and the log starts at {storage.FirstPosition}", new InvalidDataException());
            }
            catch (InvalidDataException e)
            {
                Disk.Close(powerLoss: false, torn: false);
                throw new DiskDamagedException($"the newest snapshot does not load: {e.Message}", e);
            }
            catch
            {
                Disk.Close(powerLoss: false, torn: false);
                throw;
            }
        }

        public void Crash(bool powerLoss = false, bool torn = false)
        {
            Core = null;
            _inbox.Clear();
            Disk.Close(powerLoss, torn);
            Abandon();
        }

        /// <summary>
        /// Runs a call into the core. A storage error that escapes it, or a disk that failed under it,
        /// ends the process (as the server's replication loop does), to restart from the disk.
        /// </summary>
        private void Guard(Action action)
        {
            try
            {
                action();
            }
            catch (Exception e) when (Disk is FileDisk && e is IOException or InvalidDataException)
            {
                sim.Trace($"{Id}: storage failed under the core ({e.GetType().Name}: {e.Message}); the process exits");
                EndOnDiskFailure();
                return;
            }

            if (Up && Disk.Failed)
            {
                sim.Trace($"{Id}: {((FileDisk)Disk).FailureReason}; the process exits");
                EndOnDiskFailure();
            }
        }

        /// <summary>A replica whose disk was lost counts toward the quorum's disks again once it is VOTING.</summary>
        private void CountDiskAgainOnceVoting()
        {
            if (DiskLost && Core?.Status == ReplicaStatus.Voting)
            {
                DiskLost = false;
            }
        }

        private void EndOnDiskFailure()
        {
            Crash();
            sim.DiskFailed(this);
        }

        /// <summary>The client gave up (or the replica crashed): whatever it waited for now has an unknown outcome.</summary>
        public void Abandon()
        {
            foreach (var done in _appends.Values.ToList())
            {
                done(null);
            }

            foreach (var done in _reads.Values.ToList())
            {
                done(null);
            }

            foreach (var (_, done) in _waitingToApply.ToList())
            {
                done(null);
            }

            _appends.Clear();
            _reads.Clear();
            _waitingToApply.Clear();
        }

        public void Tick()
        {
            if (Core is { } core)
            {
                Guard(() => core.Tick(sim._now));
            }

            CountDiskAgainOnceVoting();
        }

        /// <summary>
        /// A message arrives. The replica's loop takes it a little later, with whatever else arrived
        /// by then (as the server's loop takes everything queued while it was busy).
        /// </summary>
        public void Receive(string from, PeerMessage message)
        {
            if (Core is null)
            {
                return;
            }

            _inbox.Add((from, message));
            if (_inbox.Count == 1)
            {
                var run = _runs;
                sim.After(TimeSpan.FromMicroseconds(sim._random.Next(0, 300)), () =>
                {
                    if (Core is { } core && _runs == run)
                    {
                        var messages = _inbox.ToList();
                        _inbox.Clear();
                        if (messages.Where(m => m.Message.AppendRequest is not null).GroupBy(m => m.From).Any(g => g.Count() > 1))
                        {
                            sim.AppendsTakenTogether++;
                        }

                        Guard(() => core.ReceiveAll(messages, sim._now));
                    }
                });
            }
        }

        /// <summary>
        /// The leader's own append reaches the disk a little later (now and then much later, a slow
        /// fdatasync); a crash before then loses it.
        /// </summary>
        public void WhenWritten(Task write, Action continuation)
        {
            var run = _runs;
            var disk = _disk!;
            var delay = sim._random.Next(20) == 0
                ? TimeSpan.FromMilliseconds(sim._random.Next(5, 400))
                : TimeSpan.FromMicroseconds(sim._random.Next(20, 1500));
            sim.After(delay, () =>
            {
                if (Core is not null && _runs == run)
                {
                    Guard(() =>
                    {
                        disk.CompleteThrough(write);
                        continuation();
                    });
                }
            });
        }

        public void Append(string value, Action<ProposalOutcome?> done)
        {
            var id = _nextRequest++;
            _appends[id] = done;
            var core = Core!;
            Guard(() => core.Propose(id, [new LogEntry { Principal = "sim", Payload = MemoryReplicaStorage.Payload(value) }]));
        }

        public void Read(Action<IReadOnlyList<string>?> done)
        {
            if (sim._config.StaleReads)
            {
                done([.. _applied.Where(v => v.Length > 0)]);
                return;
            }

            var id = _nextRequest++;
            _reads[id] = done;
            var core = Core!;
            Guard(() => core.ReadBarrier(id));
        }

        public void Send(string to, PeerMessage message)
        {
            // A process whose machine lost power, or whose log failed fatally, is already gone.
            if (!Disk.Failed)
            {
                sim.Send(index, to, message);
            }
        }

        public void Deliver(LogEntry entry)
        {
            if (entry.Position != (ulong)_applied.Count + 1)
            {
                throw sim.Fail($"invariant 5: {Id} was delivered position {entry.Position} after {_applied.Count}");
            }

            sim.Committed(this, entry);
            _applied.Add(MemoryReplicaStorage.ValueOf(entry));
            sim.After(TimeSpan.Zero, () => Guard(MaybeSnapshot));
            CountDiskAgainOnceVoting();

            for (var i = _waitingToApply.Count - 1; i >= 0; i--)
            {
                var (position, readDone) = _waitingToApply[i];
                if ((ulong)_applied.Count >= position)
                {
                    _waitingToApply.RemoveAt(i);
                    readDone([.. _applied.Where(v => v.Length > 0)]);
                }
            }
        }

        public void SnapshotInstalled(ReplicaSnapshot snapshot, byte[] blob)
        {
            var values = SnapshotValues(blob);
            if ((ulong)values.Count != snapshot.Position)
            {
                throw sim.Fail($"{Id} installed a snapshot at {snapshot.Position} holding {values.Count} entries");
            }

            for (var i = 0; i < values.Count; i++)
            {
                var known = sim._committed.GetValueOrDefault((ulong)i + 1);
                if (known.Value is not null && known.Value != values[i])
                {
                    throw sim.Fail($"{Id} installed a snapshot whose position {i + 1} holds '{values[i]}', not the committed '{known.Value}'");
                }
            }

            _applied.Clear();
            _applied.AddRange(values);
            sim.Trace($"{Id} installed the snapshot at {snapshot.Position}");
            sim.SnapshotsInstalled++;
        }

        /// <summary>Now and then the state machine snapshots what it applied and the log drops what came before.</summary>
        private void MaybeSnapshot()
        {
            var applied = (ulong)_applied.Count;
            if (Core is null || applied < _lastSnapshot + sim._snapshotEvery || applied > Core.CommitPosition || applied < Storage.FirstPosition - 1)
            {
                return;
            }

            var blob = System.Text.Encoding.UTF8.GetBytes(string.Join("\n", _applied.Prepend(applied.ToString(System.Globalization.CultureInfo.InvariantCulture))));
            var snapshot = new ReplicaSnapshot(applied, Storage.TermAt(applied), "sim", 0, (ulong)blob.Length, Aurora.Storage.Crc32C.Compute(blob));
            try
            {
                Disk.WriteSnapshot(snapshot, blob, applied + 1 - Math.Min(applied, sim._snapshotKeep));
            }
            catch (IOException e) when (!Disk.Failed)
            {
                // As the scheduler does: a snapshot that cannot be written now is tried again later.
                sim.Trace($"{Id}: the snapshot at {applied} failed: {e.Message}");
                return;
            }

            _lastSnapshot = applied;
        }

        private static List<string> SnapshotValues(byte[] blob)
        {
            var lines = System.Text.Encoding.UTF8.GetString(blob).Split('\n');
            var count = int.Parse(lines[0], System.Globalization.CultureInfo.InvariantCulture);
            return count == 0 ? [] : [.. lines.Skip(1).Take(count)];
        }

        public void ProposalResolved(long proposalId, ProposalOutcome outcome)
        {
            if (outcome.Committed && outcome.LastPosition > Storage.LastPosition)
            {
                sim.CommittedBeforeLeaderDurable++;
            }

            if (_appends.Remove(proposalId, out var done))
            {
                done(outcome);
            }
        }

        public void ReadResolved(long readId, ReadOutcome outcome)
        {
            if (!_reads.Remove(readId, out var done))
            {
                return;
            }

            if (!outcome.Ok)
            {
                done(null);
            }
            else if ((ulong)_applied.Count >= outcome.Position)
            {
                done([.. _applied.Where(v => v.Length > 0)]);
            }
            else
            {
                _waitingToApply.Add((outcome.Position, done));
            }
        }

        public void LeadershipChanged(LeadershipChange change)
        {
            sim.Trace($"{Id}: term {change.Term} leader {change.LeaderId ?? "-"}{(change.IsSelf ? " serving" : string.Empty)}");
            if (change.LeaderId == Id)
            {
                sim.Elected(this, change.Term);
            }

            CountDiskAgainOnceVoting();
        }
    }

    /// <summary>The simulated clock as the storage's time: stamps in snapshots and logs replay with the seed.</summary>
    private sealed class SimTime(Simulator sim) : TimeProvider
    {
        private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Epoch + sim._now;
    }

    /// <summary>The core's log lines go into the run's trace, which a failure prints.</summary>
    private sealed class TraceLogger(Simulator sim, string id) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                sim.Trace($"{id}: {formatter(state, exception)}");
            }
        }
    }
}
