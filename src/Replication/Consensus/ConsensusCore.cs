using Aurora.Replication.Protos;
using Aurora.Storage.Protos;
using Microsoft.Extensions.Logging;

namespace Aurora.Replication.Consensus;

/// <summary>The part a replica plays in its current term.</summary>
public enum ConsensusRole
{
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// <summary>
/// One replica's consensus state machine (Raft, with pre-vote, a leader lease and the Mesos log's
/// replica statuses): deterministic, single-threaded, driven by <see cref="Tick"/>,
/// <see cref="Receive"/>, <see cref="Propose"/> and <see cref="ReadBarrier"/>, with effects through
/// <see cref="IConsensusHost"/> and <see cref="IReplicaStorage"/>.
/// </summary>
/// <remarks>
/// <para>Not thread-safe: one thread (the node's loop, or the simulator) makes every call. Time is
/// passed in, never read, so that the simulator can replay a run from its seed.</para>
/// <para>The invariants, and where they are enforced:</para>
/// <list type="number">
/// <item><b>No two different entries are ever committed at the same position.</b> A leader counts
/// an entry as committed only when a quorum of VOTING replicas hold it durably and it is of the
/// leader's own term (<see cref="AdvanceCommit"/>); a replica votes only for a candidate whose log is
/// at least as up to date as its own (<see cref="OnVoteRequest"/>), and any two quorums share a
/// replica, so every later leader holds every committed entry (leader completeness). A follower
/// never truncates at or below its commit position (<see cref="OnAppendRequest"/> fails loudly
/// rather than do it).</item>
/// <item><b>A committed entry survives any crash pattern that leaves a quorum of replicas with
/// their disks.</b> Entries, terms and votes are durable before any message that depends on them is
/// sent: a follower acknowledges entries only once its append's task has completed (before then its
/// answers match only what is durable), a leader counts its own entries toward a quorum only then
/// too (<see cref="LocalWritesCompleted"/>), and the promised term and vote are saved before a vote
/// is granted or a higher term is acted on (<see cref="AdoptTerm"/>); a replica finishes its appends
/// in flight before it saves either, and forgets the acknowledgements they were to send
/// (<see cref="SaveMeta"/>). A replica that lost its disk is
/// EMPTY: it never votes and its acknowledgements never count until it has recovered everything
/// committed and learned, from a quorum, a term above any vote it may have given
/// (<see cref="MaybeFinishRecovery"/>).</item>
/// <item><b>A deposed leader can never commit: terms fence it.</b> Every append and every response
/// carries the sender's term; a replica that promised a higher term refuses the append
/// (<see cref="OnAppendRequest"/>), and a leader that sees a higher term steps down at once. A
/// leader whose lease lapses (no quorum acknowledged a round of heartbeats within
/// <see cref="ConsensusOptions.Lease"/>) stops accepting proposals and steps down
/// (<see cref="Tick"/>).</item>
/// <item><b>A new leader first learns the committed log from a quorum, then serves.</b> An elected
/// candidate appends an empty entry of its term and accepts proposals and reads only once that entry
/// is committed, which commits every earlier entry of its log (<see cref="IsServing"/>).</item>
/// <item><b>Committed entries are delivered in order, exactly once per run.</b>
/// <see cref="DeliverCommitted"/> is the one place that advances the applied position, one entry at
/// a time, from the position the host said it had applied at start-up.</item>
/// </list>
/// </remarks>
public sealed class ConsensusCore
{
    private readonly ConsensusOptions _options;
    private readonly Func<long> _wallClockMicros;
    private readonly IReplicaStorage _storage;
    private readonly IConsensusHost _host;
    private readonly ILogger _logger;
    private readonly Random _random;
    private readonly string[] _peers;
    private readonly Dictionary<string, PeerProgress> _progress = new(StringComparer.Ordinal);
    private readonly SortedDictionary<ulong, PendingProposal> _pendingProposals = new();
    private readonly List<PendingRead> _pendingReads = [];
    private readonly HashSet<string> _votesGranted = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StatusReply> _census = new(StringComparer.Ordinal);

    private ReplicaMetadata _meta;
    private ulong _commitPosition;
    private ulong _appliedPosition;
    private ulong _termStartPosition;       // leader: position of its term's first (empty) entry
    private string? _leaderServiceUrl;       // follower: the current leader's, from its appends
    private ulong _round;                    // leader: heartbeat rounds, numbered
    private readonly Dictionary<ulong, TimeSpan> _roundSentAt = [];
    private TimeSpan _leaseStart;            // leader: send time of the newest round a quorum acknowledged
    private TimeSpan _now;
    private TimeSpan _electionDeadline;
    private TimeSpan _nextHeartbeat;
    private TimeSpan? _lastLeaderContact;
    private TimeSpan _nextProbe;
    private ulong _recoveryTermFloor;        // RECOVERING: the highest term a quorum of VOTING replicas reported
    private bool _recoveryFloorKnown;
    private bool _recoveryCaughtUp;
    private string? _cureLogged;
    private bool _servingAnnounced;
    private (ReplicaSnapshot Snapshot, byte[] Blob)? _snapshotBlob;  // leader: the snapshot being sent, read once
    private IncomingSnapshot? _incoming;                              // follower: the snapshot being received
    private readonly Queue<LocalAppend> _localAppends = new();  // this term's appends in flight, oldest first (a leader's, or a VOTING follower's)
    private ulong _roundAnswered;            // follower: the newest round of this term's leader answered at once

    /// <param name="options">The replica's settings.</param>
    /// <param name="storage">Its disk.</param>
    /// <param name="host">Where effects go.</param>
    /// <param name="appliedPosition">What the host's state machine holds already (a snapshot it loaded); delivery continues after it.</param>
    /// <param name="seed">Seeds the randomized election timeouts.</param>
    /// <param name="logger">Where leadership changes and problems are logged.</param>
    /// <param name="now">The monotonic time of the start.</param>
    /// <param name="wallClockMicros">
    /// Wall-clock time, microseconds since the Unix epoch: the leader stamps entries with it before
    /// sending them, so every replica stores the same timestamp.
    /// </param>
    public ConsensusCore(ConsensusOptions options, IReplicaStorage storage, IConsensusHost host, ulong appliedPosition, int seed, ILogger logger, TimeSpan now, Func<long> wallClockMicros)
    {
        _wallClockMicros = wallClockMicros;
        _options = options;
        var problem = options.Problem();
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        _storage = storage;
        _host = host;
        _logger = logger;
        _random = new Random(seed);
        _peers = [.. options.Members.Where(m => m != options.SelfId)];
        _meta = storage.Metadata.Clone();
        if (_meta.Status == ReplicaStatus.Unspecified)
        {
            _meta.Status = ReplicaStatus.Empty;
        }

        // Whatever the host has applied (a snapshot it loaded) is committed; nothing else is known to be.
        _appliedPosition = appliedPosition;
        _commitPosition = appliedPosition;
        _now = now;
        ResetElectionTimer();
        if (_peers.Length == 0)
        {
            // Nobody else can lead: a lone replica stands at its first tick.
            _electionDeadline = now;
        }

        _nextProbe = now;
    }

    public ConsensusRole Role { get; private set; } = ConsensusRole.Follower;

    public string SelfId => _options.SelfId;

    public ulong Term => _meta.PromisedTerm;

    public ReplicaStatus Status => _meta.Status;

    /// <summary>The leader this replica follows (or itself), null when unknown.</summary>
    public string? LeaderId { get; private set; }

    /// <summary>The highest position known to be committed (held durably by a quorum).</summary>
    public ulong CommitPosition => _commitPosition;

    /// <summary>The highest position delivered to the host's state machine.</summary>
    public ulong AppliedPosition => _appliedPosition;

    /// <summary>Where the leader serves clients, as its appends said (this replica's own when it leads); null when unknown.</summary>
    public string? LeaderServiceUrl => Role == ConsensusRole.Leader ? _options.ServiceUrl : _leaderServiceUrl;

    /// <summary>The highest position in this replica's log, durable here (not necessarily committed).</summary>
    public ulong LastPosition => _storage.LastPosition;

    /// <summary>
    /// The highest position this core knows to be durable here: what precedes its oldest append in
    /// flight (storage may be further along before the core hears of it).
    /// </summary>
    private ulong DurablePosition => _localAppends.TryPeek(out var oldest) ? oldest.Entries[0].Position - 1 : _storage.LastPosition;

    /// <summary>This replica's log as it will be once its appends in flight are written.</summary>
    private ulong LastPositionWhenWritten => _localAppends.Count > 0 ? _localAppends.Last().Entries[^1].Position : _storage.LastPosition;

    /// <summary>True on a leader that has committed its term's first entry and holds its lease: it takes proposals and reads.</summary>
    public bool IsServing => Role == ConsensusRole.Leader && _commitPosition >= _termStartPosition && LeaseHeld;

    private bool LeaseHeld => _now - _leaseStart <= _options.Lease;

    /// <summary>What the leader knows of each follower (empty on other replicas).</summary>
    public IReadOnlyList<PeerState> Peers =>
        [.. _progress.Select(p => new PeerState(
            p.Key, p.Value.Status, p.Value.Match, p.Value.Next, _storage.LastPosition - Math.Min(_storage.LastPosition, p.Value.Match),
            p.Value.ReportedCommit, p.Value.Reported.AppliedPosition, p.Value.Reported.SnapshotPosition))];

    /// <summary>Advances time: elections, heartbeats, the lease, status probes.</summary>
    public void Tick(TimeSpan now)
    {
        _now = now;
        if (Role == ConsensusRole.Leader)
        {
            if (!LeaseHeld && _peers.Length > 0)
            {
                _logger.LogWarning(
                    "term {Term}: no quorum acknowledged a heartbeat within the {Lease} ms lease (the newest acknowledged was sent {Ago} ms ago; rounds acknowledged of {Round}: {Acked}); stepping down",
                    Term, _options.Lease.TotalMilliseconds, (long)(_now - _leaseStart).TotalMilliseconds, _round,
                    string.Join(", ", _progress.Select(p => $"{p.Key} {p.Value.AckedRound} ({p.Value.Status})")));
                BecomeFollower(Term, null);
                return;
            }

            if (now >= _nextHeartbeat)
            {
                BroadcastAppend(heartbeat: true);
            }

            return;
        }

        if (_meta.Status != ReplicaStatus.Voting)
        {
            ProbeStatusIfDue();
            return;
        }

        if (now >= _electionDeadline)
        {
            if (LeaderId is not null)
            {
                LeaderId = null;
                _host.LeadershipChanged(new LeadershipChange(Term, null, false));
            }

            ProbeStatusIfDue();
            StartPreVote();
        }
    }

    /// <summary>
    /// Proposes entries (their payloads and principals; positions and terms are set here, and
    /// timestamps where the proposer left none). The outcome arrives through <see cref="IConsensusHost.ProposalResolved"/>; a refusal
    /// (not the serving leader) arrives at once.
    /// </summary>
    public void Propose(long proposalId, IReadOnlyList<LogEntry> entries) => Propose([new Proposal(proposalId, entries)]);

    /// <summary>
    /// Proposes several proposals in one append (one local write, one message per follower), in
    /// order; each is resolved on its own.
    /// </summary>
    public void Propose(IReadOnlyList<Proposal> proposals)
    {
        if (!IsServing)
        {
            foreach (var proposal in proposals)
            {
                _host.ProposalResolved(proposal.Id, ProposalOutcome.Failed(Term, NotServingReason(), mayHaveCommitted: false));
            }

            return;
        }

        var all = new List<LogEntry>();
        var next = LastPositionWhenWritten + 1;
        foreach (var proposal in proposals)
        {
            if (proposal.Entries.Count == 0)
            {
                _host.ProposalResolved(proposal.Id, ProposalOutcome.Failed(Term, "nothing to propose", mayHaveCommitted: false));
                continue;
            }

            var first = next;
            var stamp = _wallClockMicros();
            foreach (var entry in proposal.Entries)
            {
                entry.Position = next++;
                entry.Term = Term;

                // A proposer that decided with its own clock (and applied the entry's effects with
                // that time already) keeps it; the others get the leader's.
                if (entry.TimestampMicros == 0)
                {
                    entry.TimestampMicros = stamp;
                }

                all.Add(entry);
            }

            _pendingProposals[next - 1] = new PendingProposal(proposal.Id, first, next - 1, Term);
        }

        if (all.Count > 0)
        {
            AppendAsLeader(all);
        }
    }

    /// <summary>
    /// Asks for a linearizable read: resolved once a quorum has confirmed this replica still leads
    /// after the call, with the commit position as of the call.
    /// </summary>
    public void ReadBarrier(long readId)
    {
        if (!IsServing)
        {
            _host.ReadResolved(readId, new ReadOutcome(false, 0, NotServingReason()));
            return;
        }

        if (_peers.Length == 0 || _options.Quorum == 1)
        {
            _host.ReadResolved(readId, new ReadOutcome(true, _commitPosition, null));
            return;
        }

        // The next round, sent now, must be acknowledged by a quorum: it proves no other leader has
        // been elected since the read began (a voter that acknowledges it has not promised a higher term).
        _pendingReads.Add(new PendingRead(readId, _commitPosition, _round + 1, Term));
        BroadcastAppend(heartbeat: true);
    }

    /// <summary>Handles a message from a peer.</summary>
    public void Receive(string from, PeerMessage message, TimeSpan now)
    {
        _now = now;
        if (!_options.Members.Contains(from) || from == _options.SelfId)
        {
            return;
        }

        switch (message.BodyCase)
        {
            case PeerMessage.BodyOneofCase.VoteRequest:
                OnVoteRequest(from, message.VoteRequest);
                break;
            case PeerMessage.BodyOneofCase.VoteResponse:
                OnVoteResponse(from, message.VoteResponse);
                break;
            case PeerMessage.BodyOneofCase.AppendRequest:
                OnAppendRequest(from, message.AppendRequest);
                break;
            case PeerMessage.BodyOneofCase.AppendResponse:
                OnAppendResponse(from, message.AppendResponse);
                break;
            case PeerMessage.BodyOneofCase.SnapshotChunk:
                OnSnapshotChunk(from, message.SnapshotChunk);
                break;
            case PeerMessage.BodyOneofCase.SnapshotResponse:
                OnSnapshotResponse(from, message.SnapshotResponse);
                break;
            case PeerMessage.BodyOneofCase.StatusProbe:
                OnStatusProbe(from, message.StatusProbe);
                break;
            case PeerMessage.BodyOneofCase.StatusReply:
                OnStatusReply(from, message.StatusReply);
                break;
            default:
                break;
        }
    }

    /// <summary>
    /// Handles messages that arrived together, in order, except that a leader's appends that
    /// continue one another are taken as one: one local append (one fdatasync) and one response
    /// for all of them. The response acknowledges the newest round and the end of the whole run,
    /// which is what the leader would have learned from the last of separate responses.
    /// </summary>
    /// <remarks>
    /// An append merged with an earlier one is handled before messages from other replicas that
    /// arrived between them: the network may reorder messages between different senders anyway.
    /// Appends from one sender are merged only while each continues exactly where the previous
    /// ended (same term, its previous position and term the previous one's last entry), so the
    /// merged append is the one the leader would have sent had it sent them at once.
    /// </remarks>
    public void ReceiveAll(IReadOnlyList<(string From, PeerMessage Message)> messages, TimeSpan now)
    {
        Span<bool> merged = messages.Count <= 256 ? stackalloc bool[messages.Count] : new bool[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            if (merged[i])
            {
                continue;
            }

            var (from, message) = messages[i];
            if (message.BodyCase == PeerMessage.BodyOneofCase.AppendRequest)
            {
                AppendRequest? run = null;
                for (var j = i + 1; j < messages.Count; j++)
                {
                    if (messages[j].From != from)
                    {
                        continue;
                    }

                    if (messages[j].Message.AppendRequest is not { } next || !Continues(run ?? message.AppendRequest, next))
                    {
                        break;
                    }

                    run ??= message.AppendRequest.Clone();
                    run.Entries.AddRange(next.Entries);
                    run.LeaderCommit = Math.Max(run.LeaderCommit, next.LeaderCommit);
                    run.CommitCoversEarlierTerms |= next.CommitCoversEarlierTerms;
                    run.Round = Math.Max(run.Round, next.Round);
                    merged[j] = true;
                }

                if (run is not null)
                {
                    message = new PeerMessage { AppendRequest = run };
                }
            }

            Receive(from, message, now);
        }
    }

    private bool Continues(AppendRequest earlier, AppendRequest later) =>
        later.Term == earlier.Term
        && later.PrevPosition == earlier.PrevPosition + (ulong)earlier.Entries.Count
        && later.PrevTerm == (earlier.Entries.Count > 0 ? earlier.Entries[^1].Term : earlier.PrevTerm)
        && earlier.Entries.Count + later.Entries.Count <= _options.MaxInflightEntries;

    private string NotServingReason() => Role switch
    {
        ConsensusRole.Leader when !LeaseHeld => $"this replica lost its lease in term {Term}",
        ConsensusRole.Leader => $"this replica was elected in term {Term} and is still committing its term's first entry",
        _ when LeaderId is not null => $"not the leader; the leader is {LeaderId} (term {Term})",
        _ => $"not the leader; no leader is known (term {Term})",
    };

    // ---- elections ----

    private void ResetElectionTimer()
    {
        var span = _options.ElectionTimeoutMax - _options.ElectionTimeoutMin;
        _electionDeadline = _now + _options.ElectionTimeoutMin + TimeSpan.FromTicks((long)(_random.NextDouble() * span.Ticks));
    }

    private bool HeardFromLeaderRecently => _lastLeaderContact is { } contact && _now - contact < _options.ElectionTimeoutMin;

    private void StartPreVote()
    {
        Role = ConsensusRole.PreCandidate;
        _votesGranted.Clear();
        _votesGranted.Add(_options.SelfId);
        ResetElectionTimer();
        if (_votesGranted.Count >= _options.Quorum)
        {
            StartElection();
            return;
        }

        var request = new VoteRequest { Term = Term + 1, LastPosition = LastPositionWhenWritten, LastTerm = TermWhenWritten(LastPositionWhenWritten), PreVote = true };
        foreach (var peer in _peers)
        {
            _host.Send(peer, new PeerMessage { VoteRequest = request });
        }
    }

    private void StartElection()
    {
        Role = ConsensusRole.Candidate;
        SaveMeta(m =>
        {
            m.PromisedTerm++;
            m.VotedFor = _options.SelfId;
        });
        _votesGranted.Clear();
        _votesGranted.Add(_options.SelfId);
        ResetElectionTimer();
        if (_votesGranted.Count >= _options.Quorum)
        {
            BecomeLeader();
            return;
        }

        var request = new VoteRequest { Term = Term, LastPosition = _storage.LastPosition, LastTerm = _storage.TermAt(_storage.LastPosition) };
        foreach (var peer in _peers)
        {
            _host.Send(peer, new PeerMessage { VoteRequest = request });
        }
    }

    private void OnVoteRequest(string from, VoteRequest request)
    {
        // Compared with the log as it will be once the appends in flight are written: a grant is
        // saved (SaveMeta), which first writes them.
        var lastPosition = LastPositionWhenWritten;
        var lastTerm = TermWhenWritten(lastPosition);
        var upToDate = request.LastTerm > lastTerm || (request.LastTerm == lastTerm && request.LastPosition >= lastPosition);

        // A replica that heard from a leader within the minimum election timeout ignores candidates
        // (a partitioned or restarted replica cannot depose a working leader), and only VOTING
        // replicas vote at all.
        var mayVote = _meta.Status == ReplicaStatus.Voting && !(HeardFromLeaderRecently && LeaderId != from) && Role != ConsensusRole.Leader;
        if (request.PreVote)
        {
            // A refusal carries this replica's own term: a pre-candidate behind it adopts it, or it
            // could never ask for a term this replica would grant.
            var grant = mayVote && request.Term > Term && upToDate;
            _host.Send(from, new PeerMessage { VoteResponse = new VoteResponse { Term = grant ? request.Term : Term, Granted = grant, PreVote = true, Status = _meta.Status } });
            return;
        }

        if (request.Term > Term && mayVote)
        {
            AdoptTerm(request.Term, leader: null);
        }

        var granted = mayVote && request.Term == Term && upToDate && (_meta.VotedFor.Length == 0 || _meta.VotedFor == from);
        if (granted && _meta.VotedFor != from)
        {
            SaveMeta(m => m.VotedFor = from);
        }

        if (granted)
        {
            ResetElectionTimer();
        }

        _host.Send(from, new PeerMessage { VoteResponse = new VoteResponse { Term = Term, Granted = granted, Status = _meta.Status } });
    }

    private void OnVoteResponse(string from, VoteResponse response)
    {
        if (response.PreVote)
        {
            if (!response.Granted && response.Term > Term)
            {
                AdoptTerm(response.Term, leader: null);
                return;
            }

            if (Role == ConsensusRole.PreCandidate && response.Term == Term + 1 && response.Granted)
            {
                _votesGranted.Add(from);
                if (_votesGranted.Count >= _options.Quorum)
                {
                    StartElection();
                }
            }

            return;
        }

        if (response.Term > Term)
        {
            AdoptTerm(response.Term, leader: null);
            return;
        }

        if (Role == ConsensusRole.Candidate && response.Term == Term && response.Granted)
        {
            _votesGranted.Add(from);
            if (_votesGranted.Count >= _options.Quorum)
            {
                BecomeLeader();
            }
        }
    }

    /// <summary>Promises a higher term (durably, before anything depends on it) and follows.</summary>
    private void AdoptTerm(ulong term, string? leader)
    {
        var wasLeader = Role == ConsensusRole.Leader;
        if (term > Term)
        {
            SaveMeta(m =>
            {
                m.PromisedTerm = term;
                m.VotedFor = string.Empty;
            });
        }

        BecomeFollower(term, leader);
        if (wasLeader)
        {
            _logger.LogInformation("saw term {Term}: stepped down", term);
        }
    }

    private void BecomeFollower(ulong term, string? leader)
    {
        var wasLeader = Role == ConsensusRole.Leader;
        Role = ConsensusRole.Follower;
        FlushLocalAppends();
        _progress.Clear();
        _roundSentAt.Clear();
        var changed = wasLeader || leader != LeaderId;
        if (changed)
        {
            _leaderServiceUrl = null;
        }

        LeaderId = leader;
        _roundAnswered = 0;
        _servingAnnounced = false;
        if (wasLeader)
        {
            FailPending($"leadership lost in term {Term}");
        }

        if (changed)
        {
            _host.LeadershipChanged(new LeadershipChange(term, leader, false));
        }
    }

    private void BecomeLeader()
    {
        Role = ConsensusRole.Leader;
        LeaderId = _options.SelfId;
        _leaseStart = _now;
        _round = 0;
        _roundSentAt.Clear();
        _progress.Clear();
        var next = _storage.LastPosition + 1;
        foreach (var peer in _peers)
        {
            _progress[peer] = new PeerProgress { Next = next };
        }

        _logger.LogInformation("elected leader of term {Term} with the votes of {Voters}", Term, string.Join(",", _votesGranted.Order(StringComparer.Ordinal)));
        _host.LeadershipChanged(new LeadershipChange(Term, _options.SelfId, false));

        if (_peers.Length == 0)
        {
            // A lone replica is its own quorum: every entry its disk holds is committed, and it
            // knows the whole committed log without a term-start entry.
            _termStartPosition = _storage.LastPosition;
            _commitPosition = Math.Max(_commitPosition, _storage.LastPosition);
            DeliverCommitted();
            AnnounceServing();
            return;
        }

        // The term's first entry: once it commits, every entry before it is committed too, and the
        // leader knows the whole committed log.
        _termStartPosition = next;
        AppendAsLeader([new LogEntry { Position = next, Term = Term, Principal = "replication", TimestampMicros = _wallClockMicros() }]);
    }

    // ---- the leader's log ----

    private void AppendAsLeader(IReadOnlyList<LogEntry> entries)
    {
        // Sent before the local write starts, so that the followers' fdatasyncs overlap the
        // leader's; the loop goes on while it syncs, and the next proposals start their own appends
        // behind it (the log groups them into its next fdatasync).
        var local = new LocalAppend(entries);
        _localAppends.Enqueue(local);
        foreach (var peer in _peers)
        {
            SendEntries(peer, _progress[peer], heartbeat: false);
        }

        StartWrite(local);
    }

    /// <summary>Starts the write of an append queued behind those in flight; its completion comes back through <see cref="LocalWritesCompleted"/>.</summary>
    private void StartWrite(LocalAppend local)
    {
        try
        {
            local.Write = _storage.AppendAsync(local.Entries);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ArgumentException)
        {
            local.Write = Task.FromException(e);
        }

        _host.WhenWritten(local.Write, LocalWritesCompleted);
    }

    /// <summary>
    /// Some appends in flight completed. On a leader, those now durable count toward the quorum
    /// (invariant 2: never before), which may commit entries and deliver them; a failed append ends
    /// the leadership: what it held is in doubt here, and the entries were sent to the followers.
    /// On a follower, each durable append's acknowledgement goes to the leader now; a failed one is
    /// refused (the leader resends from what the disk holds).
    /// </summary>
    private void LocalWritesCompleted()
    {
        while (_localAppends.TryPeek(out var oldest) && oldest.Write is { IsCompleted: true } write)
        {
            if (!write.IsCompletedSuccessfully)
            {
                var error = write.Exception?.GetBaseException();
                if (Role == ConsensusRole.Leader)
                {
                    _logger.LogError(error, "term {Term}: appending positions {First}-{Last} failed; stepping down", Term, oldest.Entries[0].Position, oldest.Entries[^1].Position);
                    BecomeFollower(Term, null);
                    return;
                }

                FlushLocalAppends();
                if (oldest.Ack is { } failed)
                {
                    RefuseUnwritten(failed.Leader, failed.Response, oldest.Entries, error);
                }

                return;
            }

            _localAppends.Dequeue();
            if (oldest.Ack is { } ack)
            {
                ack.Response.Success = true;
                ack.Response.Status = _meta.Status;
                Answer(ack.Leader, ack.Response);
            }
        }

        if (Role == ConsensusRole.Leader)
        {
            AdvanceCommit();
        }

        DeliverCommitted();
    }

    /// <summary>
    /// Before a replica writes its log or metadata any other way, or stops leading: waits for the
    /// appends it started (successful or not, storage then holds the truth) and forgets them and the
    /// acknowledgements they were to send. Their completions, when they arrive, find nothing to count.
    /// </summary>
    private void FlushLocalAppends()
    {
        if (_localAppends.Count > 0)
        {
            _storage.FlushAppends();
            _localAppends.Clear();
        }
    }

    /// <summary>The term of an entry of this replica's log: durable, or in an append in flight.</summary>
    private ulong TermWhenWritten(ulong position)
    {
        if (position > DurablePosition)
        {
            foreach (var local in _localAppends)
            {
                if (position <= local.Entries[^1].Position)
                {
                    return local.Entries[(int)(position - local.Entries[0].Position)].Term;
                }
            }
        }

        return _storage.TermAt(position);
    }

    private IReadOnlyList<LogEntry> ReadForSend(ulong from)
    {
        var durable = DurablePosition;
        var entries = from <= durable ? new List<LogEntry>(_storage.Read(from, durable, _options.MaxAppendBytes)) : [];
        var bytes = entries.Sum(e => e.CalculateSize());
        var next = entries.Count > 0 ? entries[^1].Position + 1 : from;
        if (next > durable)
        {
            foreach (var entry in _localAppends.SelectMany(a => a.Entries))
            {
                if (entry.Position < next)
                {
                    continue;
                }

                if (entries.Count > 0 && bytes + entry.CalculateSize() > _options.MaxAppendBytes)
                {
                    break;
                }

                entries.Add(entry);
                bytes += entry.CalculateSize();
            }
        }

        return entries;
    }

    private void BroadcastAppend(bool heartbeat)
    {
        _round++;
        _roundSentAt[_round] = _now;
        _nextHeartbeat = _now + _options.HeartbeatInterval;
        foreach (var peer in _peers)
        {
            SendEntries(peer, _progress[peer], heartbeat);
        }

        if (_options.Quorum == 1)
        {
            _leaseStart = _now;
        }
    }

    private void SendEntries(string peer, PeerProgress progress, bool heartbeat)
    {
        var last = LastPositionWhenWritten;
        var hasRoom = progress.Next - 1 - Math.Min(progress.Next - 1, progress.Match) < (ulong)_options.MaxInflightEntries;
        if (progress.Next <= last && hasRoom && progress.Next >= _storage.FirstPosition)
        {
            var entries = ReadForSend(progress.Next);
            var prev = progress.Next - 1;
            var request = NewAppend(prev, entries);
            progress.Next = entries[^1].Position + 1;
            _host.Send(peer, new PeerMessage { AppendRequest = request });
            return;
        }

        if (progress.Next < _storage.FirstPosition)
        {
            // The follower needs entries this leader has truncated: it gets the snapshot first, one
            // chunk in flight, resent on each heartbeat until acknowledged.
            if (heartbeat || !progress.SnapshotChunkInFlight)
            {
                SendSnapshotChunk(peer, progress);
            }

            return;
        }

        if (heartbeat)
        {
            var prev = Math.Clamp(progress.Next - 1, _storage.FirstPosition - 1, LastPositionWhenWritten);
            _host.Send(peer, new PeerMessage { AppendRequest = NewAppend(prev, []) });
        }
    }

    private AppendRequest NewAppend(ulong prev, IReadOnlyList<LogEntry> entries)
    {
        var request = new AppendRequest
        {
            Term = Term,
            PrevPosition = prev,
            PrevTerm = TermWhenWritten(prev),
            LeaderCommit = _commitPosition,
            CommitCoversEarlierTerms = _commitPosition >= _termStartPosition,
            Round = _round,
            LeaderServiceUrl = _options.ServiceUrl ?? string.Empty,
        };
        request.Entries.AddRange(entries);
        return request;
    }

    /// <summary>
    /// What a follower's response tells a leader first: a higher term deposes it (invariant 3); a
    /// response of another term, or to a replica that no longer leads, is stale and ignored.
    /// Returns the follower's progress, with its status, when the response is current.
    /// </summary>
    private PeerProgress? CurrentFollower(string from, ulong term, ReplicaStatus status)
    {
        if (term > Term)
        {
            AdoptTerm(term, leader: null);
            return null;
        }

        if (Role != ConsensusRole.Leader || term != Term || !_progress.TryGetValue(from, out var progress))
        {
            return null;
        }

        progress.Status = status;
        return progress;
    }

    private void OnAppendResponse(string from, AppendResponse response)
    {
        if (CurrentFollower(from, response.Term, response.Status) is not { } progress)
        {
            return;
        }

        if (response.Round > progress.AckedRound)
        {
            progress.AckedRound = response.Round;
        }

        progress.Reported = new StateMachineProgress(response.AppliedPosition, response.SnapshotPosition);
        progress.ReportedCommit = response.CommitPosition;

        if (response.Success)
        {
            progress.Match = Math.Max(progress.Match, response.MatchPosition);

            progress.Next = Math.Max(progress.Next, progress.Match + 1);
        }
        else if (response.RetryFrom > 0)
        {
            // Rewind to where the follower says its log agrees. Below what it had matched only if
            // it lost its disk (a follower never drops entries that match its leader's log): then
            // what it matched is gone, and it recovers as EMPTY.
            if (response.RetryFrom <= progress.Match)
            {
                progress.Match = response.RetryFrom - 1;
            }

            progress.Next = Math.Clamp(response.RetryFrom, progress.Match + 1, LastPositionWhenWritten + 1);
        }

        UpdateLease();
        AdvanceCommit();
        if (Role == ConsensusRole.Leader && progress.Next <= LastPositionWhenWritten && !response.WriteFailed)
        {
            SendEntries(from, progress, heartbeat: false);
        }
    }

    /// <summary>Answers a leader's append, with this replica's own progress for the leader's view of every replica.</summary>
    private void Respond(string leader, AppendResponse response)
    {
        var progress = _host.Progress;
        response.CommitPosition = _commitPosition;
        response.AppliedPosition = progress?.AppliedPosition ?? _appliedPosition;
        response.SnapshotPosition = progress?.SnapshotPosition ?? 0;
        _host.Send(leader, new PeerMessage { AppendResponse = response });
    }

    private void UpdateLease()
    {
        // The newest round that a quorum (this replica included) acknowledged.
        if (QuorumReached(p => p.AckedRound, _round) is not { } quorumRound)
        {
            return;
        }

        if (quorumRound > 0 && _roundSentAt.TryGetValue(quorumRound, out var sentAt) && sentAt > _leaseStart)
        {
            _leaseStart = sentAt;
        }

        foreach (var old in _roundSentAt.Keys.Where(r => r < quorumRound).ToList())
        {
            _roundSentAt.Remove(old);
        }

        for (var i = _pendingReads.Count - 1; i >= 0; i--)
        {
            var read = _pendingReads[i];
            if (read.Term == Term && quorumRound >= read.Round)
            {
                _pendingReads.RemoveAt(i);
                _host.ReadResolved(read.Id, new ReadOutcome(true, read.Position, null));
            }
        }
    }

    /// <summary>
    /// The highest value that a quorum of VOTING replicas (this one, the leader, with
    /// <paramref name="own"/>) have reached, or null when fewer than a quorum are VOTING. Runs on
    /// every follower response, so it sorts on the stack.
    /// </summary>
    private ulong? QuorumReached(Func<PeerProgress, ulong> value, ulong own)
    {
        Span<ulong> values = stackalloc ulong[_progress.Count + 1];
        var count = 0;
        values[count++] = own;
        foreach (var progress in _progress.Values)
        {
            if (progress.Status == ReplicaStatus.Voting)
            {
                values[count++] = value(progress);
            }
        }

        if (count < _options.Quorum)
        {
            return null;
        }

        values = values[..count];
        values.Sort();
        return values[count - _options.Quorum];
    }

    /// <summary>Invariant 1: commits only entries of the leader's term that a quorum of VOTING replicas hold.</summary>
    private void AdvanceCommit()
    {
        if (Role != ConsensusRole.Leader)
        {
            return;
        }

        // The leader's own entries count once durable here; followers' may be further along, and a
        // quorum of them commits without it.
        if (QuorumReached(p => p.Match, DurablePosition) is not { } candidate)
        {
            return;
        }

        if (candidate > _commitPosition && TermWhenWritten(candidate) == Term)
        {
            _commitPosition = candidate;
            DeliverCommitted();
            ResolveProposals();
            AnnounceServing();
        }
    }

    private void AnnounceServing()
    {
        if (IsServing && !_servingAnnounced)
        {
            _servingAnnounced = true;
            _logger.LogInformation("term {Term}: serving as leader from position {Position}", Term, _termStartPosition);
            _host.LeadershipChanged(new LeadershipChange(Term, _options.SelfId, true));
        }
    }

    private void ResolveProposals()
    {
        while (_pendingProposals.Count > 0)
        {
            var (last, proposal) = _pendingProposals.First();
            if (last > _commitPosition)
            {
                break;
            }

            _pendingProposals.Remove(last);
            var outcome = TermWhenWritten(last) == proposal.Term
                ? new ProposalOutcome(true, proposal.First, proposal.Last, proposal.Term, null, MayHaveCommitted: true)
                : ProposalOutcome.Failed(proposal.Term, "the proposal's entries were replaced by a later leader's", mayHaveCommitted: false);
            _host.ProposalResolved(proposal.Id, outcome);
        }
    }

    private void FailPending(string why)
    {
        foreach (var proposal in _pendingProposals.Values)
        {
            _host.ProposalResolved(proposal.Id, ProposalOutcome.Failed(proposal.Term, why, mayHaveCommitted: true));
        }

        _pendingProposals.Clear();
        foreach (var read in _pendingReads)
        {
            _host.ReadResolved(read.Id, new ReadOutcome(false, 0, why));
        }

        _pendingReads.Clear();
    }

    // ---- snapshot transfer ----

    private void SendSnapshotChunk(string peer, PeerProgress progress)
    {
        var snapshot = _storage.LatestSnapshot;
        if (snapshot is null || snapshot.Position + 1 < _storage.FirstPosition)
        {
            _logger.LogError("follower {Peer} needs position {Position}, which this leader has truncated, and there is no snapshot covering it", peer, progress.Next);
            return;
        }

        if (_snapshotBlob is null || _snapshotBlob.Value.Snapshot != snapshot)
        {
            _snapshotBlob = (snapshot, _storage.ReadSnapshot(snapshot));
        }

        if (progress.SnapshotPosition != snapshot.Position)
        {
            progress.SnapshotPosition = snapshot.Position;
            progress.SnapshotOffset = 0;
            _logger.LogInformation("follower {Peer} needs position {Position}, which this leader has truncated: sending the snapshot at {Snapshot}", peer, progress.Next, snapshot.Position);
        }

        var blob = _snapshotBlob.Value.Blob;
        var offset = (int)Math.Min(progress.SnapshotOffset, (ulong)blob.Length);
        var data = blob.AsSpan(offset, Math.Min(_options.SnapshotChunkBytes, blob.Length - offset));
        var chunk = new SnapshotChunk
        {
            Term = Term,
            Position = snapshot.Position,
            SnapshotTerm = snapshot.Term,
            BlobType = snapshot.BlobType,
            CreatedMicros = snapshot.CreatedMicros,
            BlobLength = snapshot.Length,
            BlobCrc32C = snapshot.Crc32C,
            Offset = (ulong)offset,
            Data = Google.Protobuf.ByteString.CopyFrom(data),
            DataCrc32C = Aurora.Storage.Crc32C.Compute(data),
        };
        progress.SnapshotChunkInFlight = true;
        _host.Send(peer, new PeerMessage { SnapshotChunk = chunk });
    }

    private void OnSnapshotResponse(string from, SnapshotResponse response)
    {
        if (CurrentFollower(from, response.Term, response.Status) is not { } progress)
        {
            return;
        }

        progress.SnapshotChunkInFlight = false;
        if (response.Installed)
        {
            _logger.LogInformation("follower {Peer} installed the snapshot at {Position}", from, response.Position);
            progress.Match = Math.Max(progress.Match, response.Position);
            progress.Next = Math.Max(progress.Next, response.Position + 1);
            progress.SnapshotPosition = 0;
            AdvanceCommit();
            if (Role == ConsensusRole.Leader)
            {
                SendEntries(from, progress, heartbeat: true);
            }

            return;
        }

        if (response.Position == progress.SnapshotPosition)
        {
            progress.SnapshotOffset = response.NextOffset;
            SendSnapshotChunk(from, progress);
        }
    }

    private void OnSnapshotChunk(string from, SnapshotChunk chunk)
    {
        if (!AcceptLeaderMessage(from, chunk.Term))
        {
            _host.Send(from, new PeerMessage { SnapshotResponse = new SnapshotResponse { Term = Term, Position = chunk.Position, Status = _meta.Status } });
            return;
        }

        var response = new SnapshotResponse { Term = Term, Position = chunk.Position, Status = _meta.Status };
        if (chunk.Position <= _commitPosition && chunk.Position <= _storage.LastPosition)
        {
            // Everything it covers is here already.
            response.Installed = true;
            _host.Send(from, new PeerMessage { SnapshotResponse = response });
            return;
        }

        var snapshot = new ReplicaSnapshot(chunk.Position, chunk.SnapshotTerm, chunk.BlobType, chunk.CreatedMicros, chunk.BlobLength, chunk.BlobCrc32C);
        if (_incoming is null || _incoming.Snapshot != snapshot)
        {
            // A new transfer (or another snapshot than the one in progress) starts from offset 0.
            _incoming = chunk.BlobLength <= int.MaxValue ? new IncomingSnapshot(snapshot, new byte[chunk.BlobLength]) : null;
        }

        if (_incoming is null)
        {
            _logger.LogError("the leader's snapshot at {Position} is {Length} bytes, more than this replica can hold in memory", chunk.Position, chunk.BlobLength);
            _host.Send(from, new PeerMessage { SnapshotResponse = response });
            return;
        }

        var data = chunk.Data.Span;
        if (chunk.Offset == _incoming.Received && Aurora.Storage.Crc32C.Compute(data) == chunk.DataCrc32C
            && _incoming.Received + (ulong)data.Length <= (ulong)_incoming.Blob.Length)
        {
            data.CopyTo(_incoming.Blob.AsSpan((int)_incoming.Received));
            _incoming.Received += (ulong)data.Length;
        }

        response.NextOffset = _incoming.Received;
        if (_incoming.Received == (ulong)_incoming.Blob.Length)
        {
            var blob = _incoming.Blob;
            _incoming = null;
            if (Aurora.Storage.Crc32C.Compute(blob) != snapshot.Crc32C)
            {
                _logger.LogWarning("the snapshot at {Position} from {Leader} does not match its checksum; starting over", snapshot.Position, from);
                response.NextOffset = 0;
                _host.Send(from, new PeerMessage { SnapshotResponse = response });
                return;
            }

            FlushLocalAppends();
            _storage.InstallSnapshot(snapshot, blob);
            _commitPosition = Math.Max(_commitPosition, snapshot.Position);
            if (_appliedPosition < snapshot.Position)
            {
                _appliedPosition = snapshot.Position;
                _host.SnapshotInstalled(snapshot, blob);
            }

            _logger.LogInformation("installed the leader's snapshot at position {Position} (term {Term}, {Bytes} bytes)", snapshot.Position, snapshot.Term, blob.Length);
            response.Installed = true;
            response.Status = _meta.Status;
        }

        _host.Send(from, new PeerMessage { SnapshotResponse = response });
    }

    /// <summary>Fences a message from a would-be leader by its term (invariant 3), and follows it if current.</summary>
    private bool AcceptLeaderMessage(string from, ulong term)
    {
        if (term < Term)
        {
            return false;
        }

        if (term > Term || Role != ConsensusRole.Follower || LeaderId != from)
        {
            AdoptTerm(term, from);
        }

        _lastLeaderContact = _now;
        ResetElectionTimer();
        return true;
    }

    // ---- the follower's log ----

    private void OnAppendRequest(string from, AppendRequest request)
    {
        if (!AcceptLeaderMessage(from, request.Term))
        {
            // Fenced (invariant 3): the promise of a higher term refuses the deposed leader. The
            // refusal carries this replica's term, which the sender may since have been elected
            // in: so it also carries a true retry position, as any refusal in that term would.
            Respond(from, new AppendResponse { Term = Term, Success = false, RetryFrom = _storage.LastPosition + 1, Status = _meta.Status, Round = request.Round });
            return;
        }

        _leaderServiceUrl = request.LeaderServiceUrl.Length > 0 ? request.LeaderServiceUrl : null;
        if (_meta.Status == ReplicaStatus.Empty)
        {
            _logger.LogInformation("EMPTY: recovering from the leader {Leader} (term {Term})", from, Term);
            SaveMeta(m => m.Status = ReplicaStatus.Recovering);
            _recoveryFloorKnown = false;
            _census.Clear();
        }

        // The log is judged as it will be once the appends in flight are written (they are of this
        // leader's term: a change of term writes them first, in SaveMeta).
        var response = new AppendResponse { Term = Term, Status = _meta.Status, Round = request.Round };
        var last = LastPositionWhenWritten;
        if (request.PrevPosition > last)
        {
            response.RetryFrom = last + 1;
            Answer(from, response);
            return;
        }

        if (request.PrevPosition >= _storage.FirstPosition - 1 && TermWhenWritten(request.PrevPosition) != request.PrevTerm)
        {
            // Retry from the start of the conflicting term (bounded below by what is committed).
            var conflictTerm = TermWhenWritten(request.PrevPosition);
            var retry = request.PrevPosition;
            while (retry - 1 > _commitPosition && retry - 1 >= _storage.FirstPosition && TermWhenWritten(retry - 1) == conflictTerm)
            {
                retry--;
            }

            response.RetryFrom = retry;
            Answer(from, response);
            return;
        }

        var toAppend = new List<LogEntry>();
        foreach (var entry in request.Entries)
        {
            if (toAppend.Count > 0 || entry.Position > LastPositionWhenWritten)
            {
                toAppend.Add(entry);
                continue;
            }

            if (entry.Position < _storage.FirstPosition || TermWhenWritten(entry.Position) == entry.Term)
            {
                continue;
            }

            if (entry.Position <= _commitPosition)
            {
                throw new InvalidOperationException(
                    $"safety violation: leader {from} (term {request.Term}) sent term {entry.Term} at committed position {entry.Position}, which holds term {TermWhenWritten(entry.Position)} here");
            }

            FlushLocalAppends();
            _storage.TruncateSuffix(entry.Position - 1);
            toAppend.Add(entry);
        }

        var match = request.PrevPosition + (ulong)request.Entries.Count;
        var deferred = toAppend.Count > 0 && _meta.Status == ReplicaStatus.Voting;
        if (deferred)
        {
            // A VOTING follower writes as the leader does: the loop goes on answering heartbeats
            // (so a slow fdatasync here costs the leader no lease) while the disk syncs, and the
            // acknowledgement of these entries goes out once they are durable (invariant 2).
            var local = new LocalAppend(toAppend, (from, new AppendResponse { Term = Term, Round = request.Round, MatchPosition = match }));
            _localAppends.Enqueue(local);
            StartWrite(local);
        }
        else if (toAppend.Count > 0)
        {
            // A RECOVERING replica (it has no appends in flight) writes synchronously: finishing its
            // recovery depends on what it holds.
            try
            {
                _storage.Append(toAppend);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
                RefuseUnwritten(from, response, toAppend, e);
                return;
            }
        }

        var newCommit = Math.Min(request.LeaderCommit, match);
        if (newCommit > _commitPosition)
        {
            _commitPosition = newCommit;
        }

        if (_meta.Status == ReplicaStatus.Recovering)
        {
            _recoveryCaughtUp = request.CommitCoversEarlierTerms && match >= request.LeaderCommit;
            MaybeFinishRecovery();
        }

        // Matched as far as the disk holds it now; entries still being written are acknowledged
        // when they are durable (a deferred append already durable has been). An answer that waits
        // for the disk is sent at once anyway when it is the first of its heartbeat round: it keeps
        // the leader's lease.
        var durable = match <= DurablePosition;
        if (deferred ? !durable && request.Round > _roundAnswered : durable || request.Round > _roundAnswered)
        {
            response.Success = true;
            response.MatchPosition = Math.Min(match, DurablePosition);
            response.Status = _meta.Status;
            Answer(from, response);
        }

        DeliverCommitted();
    }

    /// <summary>
    /// Refuses entries from the leader that this replica failed to write: the leader resends them
    /// from what the disk holds, with its next heartbeat rather than at once (<c>write_failed</c>).
    /// </summary>
    private void RefuseUnwritten(string leader, AppendResponse response, IReadOnlyList<LogEntry> entries, Exception? error)
    {
        _logger.LogError(error, "appending positions {First}-{Last} from the leader failed", entries[0].Position, entries[^1].Position);
        response.Success = false;
        response.RetryFrom = _storage.LastPosition + 1;
        response.WriteFailed = true;
        Answer(leader, response);
    }

    /// <summary>Answers an append, and notes its heartbeat round as answered.</summary>
    private void Answer(string leader, AppendResponse response)
    {
        _roundAnswered = Math.Max(_roundAnswered, response.Round);
        Respond(leader, response);
    }

    // ---- recovery of EMPTY replicas, and the status census ----

    private void ProbeStatusIfDue()
    {
        if (_now < _nextProbe)
        {
            return;
        }

        _nextProbe = _now + _options.ElectionTimeoutMin;
        foreach (var peer in _peers)
        {
            _host.Send(peer, new PeerMessage { StatusProbe = new StatusProbe { Term = Term, Status = _meta.Status } });
        }

        ReportCureIfNoQuorum();
    }

    private void OnStatusProbe(string from, StatusProbe probe)
    {
        _host.Send(from, new PeerMessage
        {
            StatusReply = new StatusReply { Term = Term, Status = _meta.Status, LeaderId = LeaderId ?? string.Empty, LastPosition = _storage.LastPosition },
        });
    }

    private void OnStatusReply(string from, StatusReply reply)
    {
        _census[from] = reply;
        if (_meta.Status == ReplicaStatus.Recovering)
        {
            var voting = _census.Values.Where(r => r.Status == ReplicaStatus.Voting).ToList();
            if (voting.Count >= _options.Quorum)
            {
                _recoveryTermFloor = Math.Max(_recoveryTermFloor, voting.Max(r => r.Term));
                _recoveryFloorKnown = true;
                MaybeFinishRecovery();
            }
        }

        ReportCureIfNoQuorum();
    }

    /// <summary>
    /// A RECOVERING replica turns VOTING once it holds everything committed and has learned from a
    /// quorum of VOTING replicas the highest term any of them promised. Before its disk was lost it
    /// may have voted in a term up to that one; a quorum that elected with its vote shares a replica
    /// with the quorum it asked, so promising that term (with a vote it cannot name) means it never
    /// votes twice in one term.
    /// </summary>
    private void MaybeFinishRecovery()
    {
        if (_meta.Status != ReplicaStatus.Recovering || !_recoveryCaughtUp || !_recoveryFloorKnown)
        {
            if (_meta.Status == ReplicaStatus.Recovering && _recoveryCaughtUp && !_recoveryFloorKnown)
            {
                ProbeStatusIfDue();
            }

            return;
        }

        var floor = Math.Max(_recoveryTermFloor, Term);
        SaveMeta(m =>
        {
            m.Status = ReplicaStatus.Voting;
            if (floor > m.PromisedTerm)
            {
                m.PromisedTerm = floor;
                m.VotedFor = "?";
            }
            else if (m.VotedFor.Length == 0)
            {
                m.VotedFor = "?";
            }
        });
        _logger.LogInformation("recovered through position {Position}: VOTING from term {Term}", _storage.LastPosition, Term);
    }

    private void ReportCureIfNoQuorum()
    {
        var voting = (_meta.Status == ReplicaStatus.Voting ? 1 : 0) + _census.Count(c => c.Value.Status == ReplicaStatus.Voting);
        var unknown = _peers.Count(p => !_census.ContainsKey(p));
        if (voting + unknown >= _options.Quorum)
        {
            _cureLogged = null;
            return;
        }

        var statuses = string.Join(", ", _census.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value.Status.ToString().ToUpperInvariant()}"));
        var cure = $"only {voting} of {_options.Members.Count} replicas are VOTING and a quorum is {_options.Quorum}: nothing can be written. "
            + $"Run 'aurora-log initialize --path=...' once on a majority of the replicas (fresh cluster), or restore from a backup; peers: {statuses}";
        if (cure != _cureLogged)
        {
            _cureLogged = cure;
            _logger.LogError("{Cure}", cure);
        }
    }

    // ---- delivery ----

    /// <summary>Invariant 5: the one place entries reach the state machine, in order, once each.</summary>
    private void DeliverCommitted()
    {
        var upTo = Math.Min(_commitPosition, DurablePosition);
        while (_appliedPosition < upTo)
        {
            var batch = _storage.Read(_appliedPosition + 1, upTo, _options.MaxAppendBytes);
            foreach (var entry in batch)
            {
                if (entry.Position != _appliedPosition + 1)
                {
                    throw new InvalidOperationException($"delivery out of order: expected position {_appliedPosition + 1}, read {entry.Position}");
                }

                _appliedPosition = entry.Position;
                _host.Deliver(entry);
            }
        }
    }

    /// <summary>
    /// Saves the metadata durably. The appends in flight are written first (the storage takes no
    /// other write beside them) and their acknowledgements forgotten: a term or vote saved here may
    /// be one they no longer speak for.
    /// </summary>
    private void SaveMeta(Action<ReplicaMetadata> change)
    {
        FlushLocalAppends();
        var next = _meta.Clone();
        change(next);
        _storage.SaveMetadata(next);
        _meta = next;
    }

    private sealed class PeerProgress
    {
        public ulong Next;
        public ulong Match;
        public ulong AckedRound;
        public bool SnapshotChunkInFlight;
        public ulong SnapshotPosition;
        public ulong SnapshotOffset;
        public ReplicaStatus Status = ReplicaStatus.Unspecified;
        public ulong ReportedCommit;                // the follower's commit position, as its last response said
        public StateMachineProgress Reported;       // what it has applied and its newest snapshot, as its last response said
    }

    private sealed class IncomingSnapshot(ReplicaSnapshot snapshot, byte[] blob)
    {
        public ReplicaSnapshot Snapshot { get; } = snapshot;

        public byte[] Blob { get; } = blob;

        public ulong Received { get; set; }
    }

    /// <summary>
    /// One append in flight: its entries, the write once started, and on a follower the
    /// acknowledgement to send its leader once the write is durable.
    /// </summary>
    private sealed class LocalAppend(IReadOnlyList<LogEntry> entries, (string Leader, AppendResponse Response)? ack = null)
    {
        public IReadOnlyList<LogEntry> Entries { get; } = entries;

        public (string Leader, AppendResponse Response)? Ack { get; } = ack;

        public Task? Write { get; set; }
    }

    private sealed record PendingProposal(long Id, ulong First, ulong Last, ulong Term);

    private sealed record PendingRead(long Id, ulong Position, ulong Round, ulong Term);
}

/// <summary>Entries to commit together, and the id their outcome is reported under.</summary>
public sealed record Proposal(long Id, IReadOnlyList<LogEntry> Entries);

/// <summary>What a leader knows of one follower: its log's match, and the progress its last response reported (0 until it responds).</summary>
public sealed record PeerState(string Id, ReplicaStatus Status, ulong MatchPosition, ulong NextPosition, ulong Lag, ulong CommitPosition, ulong AppliedPosition, ulong SnapshotPosition);
