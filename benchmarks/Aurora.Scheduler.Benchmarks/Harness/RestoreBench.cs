using System.Diagnostics;
using System.Text.Json;
using Aurora.Scheduler.Benchmarks.Generation;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.State;
using Aurora.Storage.Backups;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.Scheduler.Benchmarks.Harness;

/// <summary>
/// <c>restore</c>: how long an operator waits. <c>aurora-log state --at</c> (dist/bin, a process
/// per run) on the generated log, from its first entry and from a snapshot half-way; <c>aurora-log
/// recover</c> of a backup of the generated state into an empty directory; and the staged recovery
/// commit the server runs (<see cref="CommitRecovery"/> through a <see cref="SchedulerStore"/>, in
/// process: the HTTP request around it is left out). Each result is checked against the generated
/// state's hash.
/// </summary>
internal static class RestoreBench
{
    private const double GoalStateSeconds = 2;
    private const double GoalRecoverSeconds = 10;

    public static async Task RunAsync(Workload workload, int reps, string directory, Report report, CancellationToken cancellationToken)
    {
        var bin = DistBin.Find(null);
        var tool = Path.Combine(bin, DistBin.LogTool);
        var state = workload.State;
        var hash = SchedulerState.FormatHash(state.StateHash());
        var last = (ulong)workload.Entries.Count;
        var events = workload.Counts.Events;

        // The generated log as a replica's directory, without snapshots: --at replays from the first entry.
        var audit = Path.Combine(directory, "audit");
        workload.CopyToReplica(audit);
        var fromFirst = Timings.BestOf(reps, () => Expect(Run(tool, "state", $"--path={audit}", $"--at={last}", "--json"), hash, "state --at (from the first entry)"), cancellationToken);

        // A snapshot half-way, as a scheduler would have taken one: --at replays the rest.
        var half = last / 2;
        var auditSnapshots = new SnapshotStore(new SnapshotOptions { Directory = audit });
        using (var log = SegmentedLog.Open(new LogOptions { Directory = audit, ReadOnly = true }))
        {
            var halfState = StateReplayer.Replay(log, null, ReplayTarget.AtPosition(half)).State;
            auditSnapshots.Write(half, log.TermAt(half), SchedulerState.SnapshotBlobType, halfState.Capture().Encode());
        }

        var fromHalf = Timings.BestOf(reps, () => Expect(Run(tool, "state", $"--path={audit}", $"--at={last}", "--json"), hash, "state --at (from a snapshot)"), cancellationToken);

        // A backup of the whole generated state.
        var snapshots = new SnapshotStore(new SnapshotOptions { Directory = Path.Combine(directory, "backed-up") });
        var blob = state.Capture().Encode();
        snapshots.Write(last, LogWriter.Term, SchedulerState.SnapshotBlobType, blob);
        var backups = new BackupManager(new BackupOptions { BackupDirectory = Path.Combine(directory, "backups"), ClusterName = "bench" });
        var backup = backups.Save(snapshots.LoadNewest().Newest!);
        var recovered = new List<string>();
        var recover = Timings.BestOf(reps, () =>
        {
            var target = Path.Combine(directory, $"recovered-{recovered.Count + 1}");
            recovered.Add(target);
            Run(tool, "recover", $"--backup={backup.Path}", $"--path={target}", "--json");
        }, cancellationToken);

        // Each result is checked apart from recover's own check, and outside the time it is judged by.
        foreach (var target in recovered)
        {
            Expect(Run(tool, "state", $"--path={target}", "--json"), hash, "the recovered replica");
        }

        // The staged recovery commit, as the server's POST /recovery/commit runs it.
        var commits = new List<double>();
        for (var rep = 0; rep <= reps; rep++)
        {
            var target = Path.Combine(directory, $"committed-{rep}");
            Directory.CreateDirectory(target);
            new ReplicaMetadataStore(PhysicalFileSystem.Instance, target).Save(ReplicaMetadataStore.NewVoting(DateTimeOffset.UtcNow));
            await using var store = await SchedulerStore.OpenAsync(new SchedulerStoreOptions { Directory = target }, cancellationToken: cancellationToken);
            var staged = SchedulerState.FromSnapshot(blob);
            var watch = Stopwatch.StartNew();
            await store.ExecuteAsync(new CommitRecovery(Path.GetFileName(backup.Path), last, staged.ToSnapshot()), "admin", cancellationToken);
            var seconds = watch.Elapsed.TotalSeconds;
            if (store.Read(s => SchedulerState.FormatHash(s.StateHash())) != hash)
            {
                throw new InvalidOperationException("the committed recovery is not the backed-up state");
            }

            if (rep > 0)
            {
                commits.Add(seconds);
            }
        }

        report.Line($"---- restore: a log of {last} entries and {events} events, a backup of {state.TaskCount} tasks ({blob.Length / 1048576.0:F1} MiB); aurora-log from {bin}; best and median of {reps} after a warm-up ----");
        report.Line($"  {"what",-66} {"best_s",7} {"median_s",8}");
        report.Line($"  {"aurora-log state --at=LAST, no snapshot (replays every entry)",-66} {fromFirst.Best().Wall,7:F2} {fromFirst.Median(),8:F2}");
        report.Line($"  {$"aurora-log state --at=LAST, snapshot at {half} (replays the rest)",-66} {fromHalf.Best().Wall,7:F2} {fromHalf.Median(),8:F2}");
        report.Line($"  {"aurora-log recover --backup (each checked by state, untimed)",-66} {recover.Best().Wall,7:F2} {recover.Median(),8:F2}");
        report.Line($"  {"staged recovery commit (CommitRecovery through SchedulerStore)",-66} {commits.Min(),7:F2} {Stats.Median(commits),8:F2}");
        report.Line($"  goal: aurora-log state --at on a log of {events} events < {GoalStateSeconds:F0} s, from the first entry: {fromFirst.Median():F2} s (median) {report.Goal(fromFirst.Median() < GoalStateSeconds)}");
        report.Line($"  goal: aurora-log recover of a backup of {state.TaskCount} tasks < {GoalRecoverSeconds:F0} s: {recover.Median():F2} s (median) {report.Goal(recover.Median() < GoalRecoverSeconds)}");
        report.Line($"  goal: staged recovery commit of {state.TaskCount} tasks < {GoalRecoverSeconds:F0} s: {Stats.Median(commits):F2} s (median) {report.Goal(Stats.Median(commits) < GoalRecoverSeconds)}");
    }

    /// <summary>Runs the tool; returns its standard output, or throws with its standard error when it fails.</summary>
    private static string Run(string tool, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(tool, args) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException($"{tool} did not start");
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0
            ? output
            : throw new InvalidOperationException($"{Path.GetFileName(tool)} {string.Join(' ', args)} exited with {process.ExitCode}: {error.Result}");
    }

    private static void Expect(string json, string hash, string what)
    {
        using var document = JsonDocument.Parse(json);
        var found = document.RootElement.GetProperty("stateHash").GetString();
        if (found != hash)
        {
            throw new InvalidOperationException($"{what} has state hash {found}, not the generated state's {hash}");
        }
    }
}
