using System.Globalization;
using System.Text;
using Aurora.Replication.Membership;
using Aurora.Storage;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.LogTool;

/// <summary>repair refused to go on, and changed nothing; exit code 2.</summary>
internal sealed class RepairRefusedException(string message) : Exception(message);

/// <summary>
/// <c>aurora-log repair --path=DIR</c>: rebuilds a replica whose local log is damaged. Its files
/// are moved aside into <c>DIR/damaged-&lt;UTC time&gt;/</c> and a fresh <c>replica.meta</c> makes
/// it RECOVERING, so that it copies the log from the leader when its scheduler starts and votes
/// again only once it holds everything committed.
/// </summary>
/// <remarks>
/// <para>Never done silently: the operator runs it, and confirms it (or passes <c>--yes</c>). It
/// refuses, changing nothing, a directory that is not a log directory, a log that a scheduler has
/// open (the <c>LOCK</c> is held throughout), a log that opens and verifies (unless
/// <c>--force</c>), and, with <c>--from</c>, a peer that does not answer as VOTING.</para>
/// <para>Crash safety: first a marker, <c>damaged-…/repair-in-progress.txt</c>, records everything
/// the new metadata will hold (cluster id, promised term, log id, time); then each file is moved by
/// one rename on the same file system (so it is either in place or moved, never lost or copied)
/// and the directories are fsynced; then the new <c>replica.meta</c> is written atomically; last,
/// the marker is renamed <c>repair.txt</c>. A run that finds a marker finishes that repair from
/// it: it moves what is left and writes the metadata the marker describes (recognizing its own
/// by the log id, if it was written already). Nothing is ever deleted or overwritten.</para>
/// </remarks>
internal static class RepairCommand
{
    /// <summary>In a damaged directory, while its repair is unfinished: what the repair will write.</summary>
    public const string InProgressFileName = "repair-in-progress.txt";

    /// <summary>In a damaged directory, once its repair is finished: the same record.</summary>
    public const string DoneFileName = "repair.txt";

    public static readonly FlagSpec FromFlag = new(
        "from", "a healthy peer (its HOST:PORT in -native_log_replicas), asked over the replication transport before anything changes: it must answer VOTING", "HOST:PORT");

    public static readonly FlagSpec ReplicaIdFlag = new(
        "replica_id", "with --from: this replica's own HOST:PORT in -native_log_replicas; the tool presents it and listens on its port for the answer", "HOST:PORT");

    public static readonly FlagSpec SecretFlag = new(
        ReplicationFlags.SecretFile, "with --from: the replicas' -replication_secret_file", "FILE");

    public static readonly FlagSpec TimeoutFlag = new(
        "timeout", "with --from: how long to wait for the peer's answer", "DURATION", DefaultTimeout);

    public static readonly FlagSpec ForceFlag = new("force", "rebuild the replica even though its log opens and verifies");

    public static readonly FlagSpec YesFlag = new("yes", "do not ask for confirmation (required when stdin is not a terminal)");

    private const string DefaultTimeout = "10secs";

    public static Command Command { get; } = new(
        "repair",
        "Rebuild a replica whose log is damaged: move its files into DIR/damaged-<UTC time>/ and make it RECOVERING, so that it copies "
        + "the log from the leader when its scheduler starts. Refuses a sound log (unless --force) and a log a scheduler has open; asks for confirmation.",
        [LogDirectory.PathFlag, LogDirectory.ClusterNameFlag, FromFlag, ReplicaIdFlag, SecretFlag, TimeoutFlag, ForceFlag, YesFlag],
        Run);

    private static int Run(ParsedFlags flags, ToolContext context)
    {
        var directory = LogDirectory.RequireExisting(flags, context, "repair");
        var clusterName = LogDirectory.ClusterName(flags);
        var peerCheck = ParsePeerCheck(flags, context);
        var force = flags.GetSwitch(ForceFlag.Name);
        var yes = flags.GetSwitch(YesFlag.Name);
        var fs = context.FileSystem;

        var unfinished = FindUnfinished(directory, context);
        if (unfinished is null && !IsLogDirectory(directory, context))
        {
            throw new RepairRefusedException(
                $"refusing to repair {directory}: it is not a log directory (it holds no {ReplicaMetadataStore.FileName}, "
                + $"{LogOptions.SegmentDirectoryName}/ or {SnapshotOptions.SnapshotDirectoryName}/); check --path, the scheduler's -native_log_file_path");
        }

        using var held = Lock(directory, context);

        // Under the lock: another repair may have run meanwhile.
        unfinished = FindUnfinished(directory, context);
        var plan = unfinished is { } damagedDirectory
            ? Resume(directory, damagedDirectory, clusterName, context)
            : Plan(directory, clusterName, force, context);

        if (!yes && !context.InputIsTerminal)
        {
            throw new RepairRefusedException(
                $"refusing to repair {directory} without confirmation: stdin is not a terminal, so add --yes to confirm; nothing was changed");
        }

        // The peer first: a refusal leaves nothing on stdout, as every refusal does.
        var peer = peerCheck is null ? null : CheckPeer(peerCheck, plan, context);
        var output = context.Out;
        Describe(directory, plan, output);
        if (peer is not null)
        {
            output.WriteLine(peer);
        }

        if (!yes)
        {
            output.Write($"Move the replica's files into {plan.DamagedDirectory}/ and make it RECOVERING? Type 'yes' to go on: ");
            output.Flush();
            var answer = context.Input.ReadLine();
            if (!string.Equals(answer?.Trim(), "yes", StringComparison.OrdinalIgnoreCase))
            {
                output.WriteLine();
                throw new RepairRefusedException($"repair of {directory} not confirmed; nothing was changed");
            }
        }

        var leftInPlace = new List<(string Path, string Why)>();
        var metadata = plan.NewMetadata();
        var metadataStore = new ReplicaMetadataStore(fs, directory);
        List<string> moved;
        try
        {
            if (!plan.Resuming)
            {
                fs.CreateDirectoryDurably(plan.DamagedDirectory);
                AtomicFile.Write(fs, Path.Combine(plan.DamagedDirectory, InProgressFileName), Encoding.UTF8.GetBytes(plan.ToMarker(directory)));
            }

            moved = MoveAside(directory, plan, context, leftInPlace);
            if (!IsOurs(metadataStore, plan))
            {
                metadataStore.Save(metadata);
            }

            fs.Rename(Path.Combine(plan.DamagedDirectory, InProgressFileName), Path.Combine(plan.DamagedDirectory, DoneFileName));
            fs.SyncDirectory(plan.DamagedDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Every file is in place or moved (renames are atomic); the marker says how to go on.
            throw new IOException(
                $"{e.Message}; the repair of {directory} is unfinished: fix the cause and run '{Program.Name} repair --path={directory}' again to finish it", e);
        }

        const int Listed = 10;
        output.WriteLine(moved.Count == 0
            ? $"Nothing was left to move into {plan.DamagedDirectory}/."
            : $"Moved {moved.Count} file(s) into {plan.DamagedDirectory}/: {string.Join(", ", moved.Take(Listed))}"
                + (moved.Count > Listed ? $" and {moved.Count - Listed} more." : "."));
        foreach (var (path, why) in leftInPlace)
        {
            output.WriteLine($"Left in place: {Path.GetRelativePath(directory, path)}, {why}; move it out of the log directory yourself.");
        }

        output.WriteLine(
            $"Wrote {metadataStore.Path}: status RECOVERING, cluster {metadata.ClusterId}, promised term {metadata.PromisedTerm}"
            + (metadata.VotedFor.Length > 0 ? $" (voted for '{metadata.VotedFor}': it may have voted in that term, so it votes in none up to it)" : string.Empty)
            + $", log id {metadata.LogId}.");
        output.WriteLine(
            $"Repaired {directory}. Next: start this replica's scheduler. It copies the log (or a snapshot) from the leader and turns VOTING by itself "
            + $"once it holds everything committed; watch 'Status:' in '{Program.Name} info --path={directory}' go from RECOVERING to VOTING. "
            + $"Keep {plan.DamagedDirectory} until you know what damaged the log (dmesg, the disk's health), then delete it.");
        return ExitCodes.Ok;
    }

    private static PeerCheck? ParsePeerCheck(ParsedFlags flags, ToolContext context)
    {
        var from = flags.GetString(FromFlag.Name);
        if (from is null)
        {
            foreach (var onlyWithFrom in new[] { ReplicaIdFlag, SecretFlag, TimeoutFlag })
            {
                if (flags.Has(onlyWithFrom.Name))
                {
                    throw new UsageException($"--{onlyWithFrom.Name} is only used with --from=HOST:PORT, the healthy peer to check first");
                }
            }

            return null;
        }

        var peer = Address(FromFlag.Name, from);
        var self = Address(ReplicaIdFlag.Name, flags.RequireString(
            ReplicaIdFlag.Name, $"with --from, give this replica's own address in -native_log_replicas, as in --{ReplicaIdFlag.Name}=sched2.example.com:8083"));
        if (self == peer)
        {
            throw new UsageException($"--{FromFlag.Name}={peer.Id} is this replica itself (--{ReplicaIdFlag.Name}); name a healthy peer");
        }

        var secretPath = flags.RequireString(SecretFlag.Name, $"with --from, give the replicas' secret, as in --{SecretFlag.Name}=/etc/aurora/replication.secret");
        if (!ReplicationSecret.TryLoad(secretPath, context.FileSystem, out var secret, out var problem, out var warning))
        {
            throw new UsageException(problem);
        }

        if (warning is not null)
        {
            context.Error.WriteLine($"{Program.Name}: warning: {warning}");
        }

        var timeoutText = flags.GetString(TimeoutFlag.Name) ?? DefaultTimeout;
        if (!Amounts.TryParseDuration(timeoutText, TimeSpan.Zero, out var timeout) || timeout <= TimeSpan.Zero)
        {
            throw new UsageException($"--{TimeoutFlag.Name}={timeoutText} is not a duration with a unit, longer than 0 (e.g. 10secs, 500ms)");
        }

        return new PeerCheck(peer, self, secret, timeout);
    }

    private static ReplicaAddress Address(string flag, string text) =>
        ReplicaAddress.TryParse(text, out var address, out var problem)
            ? address
            : throw new UsageException($"--{flag}={text} is not a replica address: {problem}");

    /// <summary>Whether the directory holds anything a replica keeps (replica.meta, log/, snapshots/).</summary>
    private static bool IsLogDirectory(string directory, ToolContext context) =>
        context.FileSystem.ListEntries(directory).Any(e => Path.GetFileName(e.Path) is
            ReplicaMetadataStore.FileName or LogOptions.SegmentDirectoryName or SnapshotOptions.SnapshotDirectoryName);

    /// <summary>The damaged directory of a repair that was interrupted, if any.</summary>
    private static string? FindUnfinished(string directory, ToolContext context)
    {
        var fs = context.FileSystem;
        var unfinished = fs.ListEntries(directory)
            .Where(e => e.Kind == FileKind.Directory && LogDirectoryLayout.IsDamagedDirectoryName(Path.GetFileName(e.Path)))
            .Where(e => fs.ListEntries(e.Path).Any(f => Path.GetFileName(f.Path) == InProgressFileName))
            .Select(e => e.Path)
            .ToList();
        return unfinished.Count switch
        {
            0 => null,
            1 => unfinished[0],
            _ => throw new IOException(
                $"{directory} holds {unfinished.Count} unfinished repairs ({string.Join(", ", unfinished.Select(Path.GetFileName))}), which this tool never leaves; "
                + $"find out who made them, keep the one whose {InProgressFileName} is newest and rename the others' to {DoneFileName}"),
        };
    }

    /// <summary>Takes the log's directory lock, as a scheduler that opens the log does, and keeps it until disposed.</summary>
    private static IDisposable Lock(string directory, ToolContext context)
    {
        var lockFile = Path.Combine(directory, SegmentedLog.LockFileName);
        try
        {
            return context.FileSystem.LockDirectory(lockFile);
        }
        catch (IOException e) when (e is not NotARegularFileException && e.Message.Contains("is locked", StringComparison.Ordinal))
        {
            throw new RepairRefusedException(
                $"refusing to repair {directory}: a scheduler (or another {Program.Name}) has this log open and holds {lockFile}; stop it first; nothing was changed");
        }
    }

    /// <summary>What a repair of a directory without an unfinished repair will do; refuses when there is nothing to repair.</summary>
    private static RepairPlan Plan(string directory, string? clusterName, bool force, ToolContext context)
    {
        var fs = context.FileSystem;
        var damage = new List<string>();
        var metadataStore = new ReplicaMetadataStore(fs, directory);
        ReplicaMetadata? old = null;
        try
        {
            old = metadataStore.Load();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            damage.Add($"{ReplicaMetadataStore.FileName} is damaged: {Short(metadataStore.Path, e.Message)}");
        }

        damage.AddRange(LogDamage(directory, context));
        try
        {
            damage.AddRange(LogDirectory.Snapshots(directory, context).Verify().Select(p => $"snapshot {Path.GetFileName(p.Path)}: {p.Problem}"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            damage.Add($"the snapshots cannot be read: {e.Message}");
        }

        if (damage.Count == 0 && !force)
        {
            throw new RepairRefusedException(NothingToRepair(directory, old!, context));
        }

        if (damage.Count == 0)
        {
            damage.Add("none found; rebuilt because of --force");
        }

        var recorded = old?.ClusterId is { Length: > 0 } id ? id : null;
        if (recorded is not null && clusterName is not null && clusterName != recorded)
        {
            throw new RepairRefusedException(
                $"refusing to repair {directory}: --cluster_name={clusterName} is not the cluster id {recorded} its {ReplicaMetadataStore.FileName} records; "
                + "a replica never changes cluster (leave --cluster_name out to keep its own); nothing was changed");
        }

        var clusterId = recorded ?? clusterName ?? throw new RepairRefusedException(
            $"refusing to repair {directory}: its cluster id cannot be read from {ReplicaMetadataStore.FileName} "
            + (old is null ? "(it is damaged)" : metadataStore.Exists ? "(it records none)" : "(there is none)")
            + "; give it with --cluster_name=NAME, the scheduler's -cluster_name; nothing was changed");

        var now = context.Time.GetUtcNow();
        return new RepairPlan(
            DamagedDirectory: NewDamagedDirectory(directory, now, context),
            Resuming: false,
            ClusterId: clusterId,
            PromisedTerm: old?.PromisedTerm ?? 0,
            OldStatus: old is null ? "unreadable" : InfoCommand.StatusName(old.Status),
            LogId: ReplicaMetadataStore.NewLogId(),
            StartedMicros: (now - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond,
            Damage: damage);
    }

    /// <summary>The plan an interrupted repair recorded in its marker.</summary>
    private static RepairPlan Resume(string directory, string damagedDirectory, string? clusterName, ToolContext context)
    {
        var marker = Path.Combine(damagedDirectory, InProgressFileName);
        var plan = RepairPlan.FromMarker(damagedDirectory, context.FileSystem.ReadAllBytes(marker), marker);
        if (clusterName is not null && clusterName != plan.ClusterId)
        {
            throw new RepairRefusedException(
                $"refusing to finish the repair of {directory}: --cluster_name={clusterName} is not the cluster id {plan.ClusterId} "
                + $"the interrupted repair recorded in {marker}; leave --cluster_name out to finish it; nothing was changed");
        }

        return plan;
    }

    /// <summary>Every problem in the log that would keep it from opening, one line each (at most a few, then a count).</summary>
    private static List<string> LogDamage(string directory, ToolContext context)
    {
        const int Shown = 3;
        var damage = new List<string>();
        try
        {
            var verification = LogVerifier.Verify(LogDirectory.ReadOnlyLog(directory, context));
            var errors = verification.Problems.Where(p => !p.IsTornTail).ToList();
            damage.AddRange(errors.Take(Shown).Select(p => p.ToString()));
            if (errors.Count > Shown)
            {
                damage.Add($"and {errors.Count - Shown} more problem(s) in the log ('{Program.Name} verify --path={directory}' lists them all)");
            }

            if (errors.Count == 0)
            {
                // What the scheduler does first: the verifier and the open share a scanner, but only the open is the scheduler's verdict.
                using var log = SegmentedLog.Open(LogDirectory.ReadOnlyLog(directory, context));
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            damage.Add($"the log does not open: {e.Message}");
        }

        return damage;
    }

    private static string NothingToRepair(string directory, ReplicaMetadata metadata, ToolContext context)
    {
        string entries;
        using (var log = SegmentedLog.Open(LogDirectory.ReadOnlyLog(directory, context)))
        {
            entries = log.LastDurablePosition > 0 ? $"positions {log.FirstRetainedPosition}..{log.LastDurablePosition}" : "an empty log";
        }

        var state = metadata.Status == ReplicaStatus.Recovering
            ? $"it is RECOVERING with {entries}, as a repair leaves it, and catches up from the leader by itself once its scheduler runs"
            : $"its log opens and verifies (status {InfoCommand.StatusName(metadata.Status)}, {entries})";
        var stray = LogDirectory.Unaccounted(directory, context) is { Count: > 0 } unaccounted
            ? $"; {unaccounted.Count} file(s) the log does not keep are there too: '{Program.Name} verify --path={directory}' names them, move them out"
            : string.Empty;
        return $"nothing to repair in {directory}: {state}{stray}; add --force to rebuild it anyway";
    }

    /// <summary>A damaged directory name not taken yet.</summary>
    private static string NewDamagedDirectory(string directory, DateTimeOffset now, ToolContext context)
    {
        var taken = context.FileSystem.ListEntries(directory).Select(e => Path.GetFileName(e.Path)).ToHashSet(StringComparer.Ordinal);
        for (var attempt = 1; ; attempt++)
        {
            var name = LogDirectoryLayout.DamagedDirectoryName(now, attempt);
            if (!taken.Contains(name))
            {
                return Path.Combine(directory, name);
            }
        }
    }

    private static void Describe(string directory, RepairPlan plan, TextWriter output)
    {
        output.WriteLine(plan.Resuming
            ? $"Finishing the repair of {directory} that was interrupted (recorded in {Path.Combine(plan.DamagedDirectory, InProgressFileName)}):"
            : $"Repairing {directory} (status {plan.OldStatus}):");
        foreach (var damage in plan.Damage)
        {
            output.WriteLine($"  damage: {damage}");
        }

        output.WriteLine($"  its files move into {plan.DamagedDirectory}/ (kept for analysis; nothing is deleted)");
        output.WriteLine(
            $"  then {ReplicaMetadataStore.FileName} says: status RECOVERING, cluster {plan.ClusterId}, promised term {plan.PromisedTerm}"
            + (plan.PromisedTerm > 0 ? " (kept, with an unknown vote in it, so that it never votes twice in one term)" : string.Empty));
    }

    /// <summary>Asks the peer; returns the line that says what it answered, or refuses unless it is VOTING.</summary>
    private static string CheckPeer(PeerCheck check, RepairPlan plan, ToolContext context)
    {
        var reply = PeerProbe.AskAsync(check, plan.ClusterId, plan.PromisedTerm, context.Time).GetAwaiter().GetResult();
        var leader = reply.LeaderId.Length > 0 ? $"leader {reply.LeaderId}" : "no leader known to it right now";
        var said = $"{check.Peer.Id} answers: status {InfoCommand.StatusName(reply.Status)}, term {reply.Term}, its log ends at position {reply.LastPosition}, {leader}";
        if (reply.Status != ReplicaStatus.Voting)
        {
            throw new RepairRefusedException(
                $"refusing to repair: {said}. Only a VOTING peer shows that the cluster still holds its log; check it with "
                + $"'{Program.Name} info' on that host, or name another peer with --from; nothing was changed");
        }

        return $"Peer {said}.";
    }

    /// <summary>Moves every file of the replica into the damaged directory, one rename each; returns their paths relative to the log directory.</summary>
    private static List<string> MoveAside(string directory, RepairPlan plan, ToolContext context, List<(string Path, string Why)> leftInPlace)
    {
        var fs = context.FileSystem;
        var moved = new List<string>();
        var ours = IsOurs(new ReplicaMetadataStore(fs, directory), plan);
        var destination = new Destination(plan.DamagedDirectory, fs);
        foreach (var entry in fs.ListEntries(directory))
        {
            var name = Path.GetFileName(entry.Path);
            if (entry.Kind == FileKind.Directory)
            {
                if (name is LogOptions.SegmentDirectoryName or SnapshotOptions.SnapshotDirectoryName)
                {
                    MoveDirectoryContent(entry.Path, new Destination(Path.Combine(plan.DamagedDirectory, name), fs), directory, context, moved, leftInPlace);
                }
                else if (name != LogDirectoryLayout.LostAndFound && !LogDirectoryLayout.IsDamagedDirectoryName(name))
                {
                    leftInPlace.Add((entry.Path, "a directory the log does not keep"));
                }

                continue;
            }

            if ((name == SegmentedLog.LockFileName && entry.Kind == FileKind.Regular) || (name == ReplicaMetadataStore.FileName && ours))
            {
                continue;
            }

            if (name is InProgressFileName or DoneFileName)
            {
                leftInPlace.Add((entry.Path, "a file the log does not keep, named like the record repair keeps"));
                continue;
            }

            destination.Take(entry.Path);
            moved.Add(name);
        }

        if (moved.Count > 0)
        {
            fs.SyncDirectory(plan.DamagedDirectory);
            fs.SyncDirectory(directory);
        }

        return moved;
    }

    private static void MoveDirectoryContent(string source, Destination destination, string directory, ToolContext context, List<string> moved, List<(string Path, string Why)> leftInPlace)
    {
        var fs = context.FileSystem;
        var count = 0;
        foreach (var entry in fs.ListEntries(source))
        {
            if (entry.Kind == FileKind.Directory)
            {
                leftInPlace.Add((entry.Path, "a directory the log does not keep"));
                continue;
            }

            destination.Take(entry.Path);
            moved.Add(Path.GetRelativePath(directory, entry.Path));
            count++;
        }

        if (count > 0)
        {
            fs.SyncDirectory(destination.Path);
            fs.SyncDirectory(source);
        }
    }

    /// <summary>A directory that files are moved into, one rename each, never over something already there.</summary>
    private sealed class Destination(string path, IFileSystem fs)
    {
        private HashSet<string>? _taken;

        public string Path { get; } = path;

        public void Take(string source)
        {
            if (_taken is null)
            {
                fs.CreateDirectoryDurably(Path);
                _taken = fs.ListEntries(Path).Select(e => System.IO.Path.GetFileName(e.Path)).ToHashSet(StringComparer.Ordinal);
            }

            var name = System.IO.Path.GetFileName(source);
            var destination = System.IO.Path.Combine(Path, name);
            if (!_taken.Add(name))
            {
                throw new IOException(
                    $"cannot move {source} aside: {destination} exists already, and repair never overwrites anything; "
                    + "move one of the two out of the log directory and run repair again");
            }

            fs.Rename(source, destination);
        }
    }

    /// <summary>Whether replica.meta is the one this repair writes (an interrupted run may have written it already).</summary>
    private static bool IsOurs(ReplicaMetadataStore store, RepairPlan plan)
    {
        try
        {
            return store.Exists && store.Load() is { Status: ReplicaStatus.Recovering } metadata && metadata.LogId == plan.LogId;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The message without the leading "PATH: " and without the cure, which repair is.</summary>
    private static string Short(string path, string message)
    {
        var text = message.StartsWith(path + ": ", StringComparison.Ordinal) ? message[(path.Length + 2)..] : message;
        return text.Replace("; " + ReplicaMetadataStore.DamageCure, string.Empty, StringComparison.Ordinal);
    }

    /// <summary>What a repair does, recorded in its marker before it changes anything.</summary>
    private sealed record RepairPlan(
        string DamagedDirectory,
        bool Resuming,
        string ClusterId,
        ulong PromisedTerm,
        string OldStatus,
        string LogId,
        long StartedMicros,
        IReadOnlyList<string> Damage)
    {
        /// <summary>The metadata the repaired replica starts from.</summary>
        public ReplicaMetadata NewMetadata() => new()
        {
            Status = ReplicaStatus.Recovering,
            PromisedTerm = PromisedTerm,
            // It may have voted in its promised term before the damage: "?" votes for no one in it.
            VotedFor = PromisedTerm > 0 ? InfoCommand.UnknownVote : string.Empty,
            LogId = LogId,
            InitializedMicros = StartedMicros,
            ClusterId = ClusterId,
        };

        public string ToMarker(string directory)
        {
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"# {Program.Name} repair of {directory}: while this file is named {InProgressFileName}, the repair is unfinished;\n");
            text.Append(CultureInfo.InvariantCulture, $"# run '{Program.Name} repair --path={directory}' again to finish it. Renamed {DoneFileName} once done.\n");
            text.Append(CultureInfo.InvariantCulture, $"started={LogDirectory.FormatMicros(StartedMicros)}\n");
            text.Append(CultureInfo.InvariantCulture, $"started_micros={StartedMicros}\n");
            text.Append(CultureInfo.InvariantCulture, $"old_status={OldStatus}\n");
            text.Append(CultureInfo.InvariantCulture, $"cluster_id={ClusterId}\n");
            text.Append(CultureInfo.InvariantCulture, $"promised_term={PromisedTerm}\n");
            text.Append(CultureInfo.InvariantCulture, $"log_id={LogId}\n");
            foreach (var damage in Damage)
            {
                text.Append(CultureInfo.InvariantCulture, $"damage={damage.ReplaceLineEndings(" ")}\n");
            }

            return text.ToString();
        }

        /// <exception cref="InvalidDataException">The marker lacks a value or holds a bad one.</exception>
        public static RepairPlan FromMarker(string damagedDirectory, byte[] bytes, string path)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            var damage = new List<string>();
            foreach (var line in Encoding.UTF8.GetString(bytes).Split('\n'))
            {
                var equals = line.IndexOf('=', StringComparison.Ordinal);
                if (line.StartsWith('#') || equals <= 0)
                {
                    continue;
                }

                var (key, value) = (line[..equals], line[(equals + 1)..]);
                if (key == "damage")
                {
                    damage.Add(value);
                }
                else
                {
                    values[key] = value;
                }
            }

            string Required(string key) => values.TryGetValue(key, out var value) && value.Length > 0
                ? value
                : throw new InvalidDataException(
                    $"{path}: the record of an interrupted repair has no {key}; it is damaged. Move its directory out of the log directory "
                    + $"(keep it: it holds the replica's old files) and run '{Program.Name} repair' again");

            var clusterId = Required("cluster_id");
            var logId = Required("log_id");
            if (!ulong.TryParse(Required("promised_term"), NumberStyles.None, CultureInfo.InvariantCulture, out var term)
                || !long.TryParse(Required("started_micros"), NumberStyles.None, CultureInfo.InvariantCulture, out var started))
            {
                throw new InvalidDataException($"{path}: the record of an interrupted repair holds a bad number; it is damaged. Move its directory out of the log directory and run '{Program.Name} repair' again");
            }

            return new RepairPlan(damagedDirectory, Resuming: true, clusterId, term, values.GetValueOrDefault("old_status", "unknown"), logId, started, damage);
        }
    }
}
