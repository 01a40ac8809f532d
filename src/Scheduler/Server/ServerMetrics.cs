using System.Globalization;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Agents;
using Aurora.Storage.Backups;

namespace Aurora.Scheduler.Server;

/// <summary>
/// Every number <c>/vars</c>, <c>/vars.json</c> and <c>/metrics</c> publish: log positions,
/// snapshots and backups, command latency, leadership, task counts by state, and the process.
/// Gauges are read at scrape time from the store, never cached.
/// </summary>
internal sealed class ServerMetrics(SchedulerRuntime runtime, TimeProvider time)
{
    private readonly DateTimeOffset _started = time.GetUtcNow();
    private readonly LatencyHistogram _commitLatency = new();
    private long _commandsCommitted;
    private long _commandsUnchanged;
    private long _commandsRejected;
    private long _httpRequests;
    private Housekeeping? _snapshots;
    private BackupScheduler? _backups;
    private CronTrigger? _cron;

    /// <summary>
    /// Every histogram, by name (without the <c>aurora_</c> prefix and <c>_seconds</c> suffix
    /// Prometheus gives it), with its help text: the command latency, and on a replica that led, its
    /// write pipeline stage by stage.
    /// </summary>
    public IReadOnlyList<(string Name, string Help, LatencyHistogram Histogram)> Histograms()
    {
        var histograms = new List<(string, string, LatencyHistogram)>
        {
            ("log_append_latency", "Time to decide a command, commit its entry on a quorum and apply it.", _commitLatency),
        };
        if (runtime.StoreIfOpen is { } store)
        {
            var timings = store.Timings;
            histograms.Add(("write_decide_latency", "Per command, from its arrival at the leader to the proposal of its entry.", timings.Decide));
            histograms.Add(("write_commit_latency", "Per proposal, from proposing it to the log reporting it committed by a quorum.", timings.Commit));
            histograms.Add(("write_apply_latency", "Per proposal, from its commit to the leader having applied it.", timings.Apply));
        }

        return histograms;
    }

    public void CommandCommitted(TimeSpan elapsed, bool changedState)
    {
        if (changedState)
        {
            Interlocked.Increment(ref _commandsCommitted);
            _commitLatency.Record(elapsed);
        }
        else
        {
            Interlocked.Increment(ref _commandsUnchanged);
        }
    }

    public void CommandRejected() => Interlocked.Increment(ref _commandsRejected);

    public void HttpRequest() => Interlocked.Increment(ref _httpRequests);

    public void WatchSnapshots(Housekeeping snapshots) => _snapshots = snapshots;

    /// <summary>The leader's backups and cron of its current term.</summary>
    public void WatchLeaderWork(BackupScheduler backups, CronTrigger cron)
    {
        _backups = backups;
        _cron = cron;
    }

    /// <summary>Every numeric metric, by name, sorted; names are Prometheus-safe.</summary>
    public SortedDictionary<string, double> Numbers()
    {
        var n = new SortedDictionary<string, double>(StringComparer.Ordinal)
        {
            ["uptime_seconds"] = Math.Round((time.GetUtcNow() - _started).TotalSeconds, 3),
            ["scheduler_lifecycle_is_leader"] = runtime.IsLeader ? 1 : 0,
            ["storage_ready"] = runtime.State == StorageState.Ready ? 1 : 0,
            ["storage_replica_empty"] = runtime.State == StorageState.Empty ? 1 : 0,
            ["native_log_quorum_size"] = runtime.Options.QuorumSize,
            ["commands_committed_total"] = Interlocked.Read(ref _commandsCommitted),
            ["commands_unchanged_total"] = Interlocked.Read(ref _commandsUnchanged),
            ["commands_rejected_total"] = Interlocked.Read(ref _commandsRejected),
            ["http_requests_total"] = Interlocked.Read(ref _httpRequests),
            ["snapshots_written_total"] = _snapshots?.Done ?? 0,
            ["snapshots_failed_total"] = _snapshots?.Failed ?? 0,
            ["scheduled_backups_written_total"] = _backups?.Taken ?? 0,
            ["scheduled_backups_failed_total"] = _backups?.Failed ?? 0,
            ["recovery_staged"] = runtime.Recovery.IsStaged ? 1 : 0,
            ["cron_jobs_triggered_total"] = _cron?.Fired ?? 0,
            ["cron_jobs_trigger_failed_total"] = _cron?.Failed ?? 0,
        };

        using (var process = System.Diagnostics.Process.GetCurrentProcess())
        {
            n["process_resident_memory_bytes"] = process.WorkingSet64;
        }

        n["process_managed_heap_bytes"] = GC.GetTotalMemory(false);
        n["process_gc_gen0_collections_total"] = GC.CollectionCount(0);
        n["process_gc_gen2_collections_total"] = GC.CollectionCount(2);

        if (runtime.StoreIfOpen is { } store && runtime.State == StorageState.Ready)
        {
            AddStore(n, store);
        }

        AddBackups(n);
        AddAgents(n, runtime.Agents);
        return n;
    }

    private void AddStore(SortedDictionary<string, double> n, SchedulerStore store)
    {
        // Named by meaning: appended (durable here), committed (held by a quorum), applied (in the state).
        var replication = store.Replication.Status;
        n["log_position_appended"] = replication.LastPosition;
        n["log_position_committed"] = replication.CommitPosition;
        n["log_position_applied"] = store.AppliedPosition;
        n["replication_term"] = replication.Term;
        n["replication_leading"] = replication.Serving ? 1 : 0;
        n["replication_members"] = runtime.Options.Replication?.Membership.Current.VoterIds.Count ?? 1;
        n["log_position_first_retained"] = store.Log.FirstRetainedPosition;
        n["log_term"] = store.Log.LastDurableTerm;
        n["log_segments"] = store.Log.Segments.Count;
        n["log_bytes"] = store.Log.Segments.Sum(s => s.FileBytes);

        var snapshots = store.Snapshots.List();
        n["snapshots_kept"] = snapshots.Count;
        if (snapshots.MaxBy(s => s.Position) is { } newest)
        {
            n["snapshot_last_position"] = newest.Position;
            n["snapshot_last_time_seconds"] = newest.CreatedAt.ToUnixTimeMilliseconds() / 1000.0;
            n["snapshot_last_size_bytes"] = newest.BlobLength;
        }

        store.Read(state =>
        {
            foreach (var status in Enum.GetValues<ScheduleStatus>())
            {
                if (status != ScheduleStatus.Unspecified)
                {
                    n[$"task_store_{TaskStatuses.Name(status)}"] = state.CountIn(status);
                }
            }

            n["task_store_total"] = state.TaskCount;
            n["jobs_total"] = state.JobKeys.Count();
            n["cron_jobs_total"] = state.CronJobs.Count;
            n["job_updates_active"] = state.ActiveUpdates.Count;
            n["quotas_total"] = state.Quotas.Count;
            n["hosts_total"] = state.Hosts.Count;
            return 0;
        });
    }

    private static void AddAgents(SortedDictionary<string, double> n, AgentServices agents)
    {
        n["agents_present"] = agents.Registry.Present().Count;
        n["agents_lost_total"] = agents.Metrics.AgentsLost;
        n["agent_heartbeats_total"] = agents.Metrics.Heartbeats;
        n["task_launches_sent_total"] = agents.Metrics.LaunchesSent;
        n["task_kills_sent_total"] = agents.Metrics.KillsSent;
        n["tasks_placed_total"] = agents.Metrics.TasksPlaced;
        n["placement_rounds_total"] = agents.Metrics.PlacementRounds;
        n["preemptions_total"] = agents.Metrics.Preemptions;
    }

    private void AddBackups(SortedDictionary<string, double> n)
    {
        IReadOnlyList<BackupInfo> backups;
        try
        {
            backups = runtime.Backups.List();
        }
        catch (IOException)
        {
            return;
        }

        n["backups_kept"] = backups.Count;
        if (backups.MaxBy(b => b.CreatedAt) is { } newest)
        {
            n["backup_last_time_seconds"] = newest.CreatedAt.ToUnixTimeMilliseconds() / 1000.0;
            n["backup_last_position"] = newest.Position;
            n["backup_last_size_bytes"] = newest.BlobLength;
        }
    }

    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
