using System.Text.Json.Nodes;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Server.Tests.Support;

namespace Aurora.Scheduler.Server.Tests;

/// <summary>Aurora's backup and staged recovery, end to end through the API, and a restart from the result.</summary>
public sealed class RecoveryWorkflowTests
{
    [Fact]
    public async Task A_staged_and_edited_backup_becomes_the_cluster_state_through_the_log()
    {
        using var directory = new TempDirectory();
        string recoveredHash;
        await using (var server = await ServerHarness.StartAsync(directory.Path))
        {
            Assert.Equal(200, (await server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job("kept", instances: 2)) })).Status);
            var (backedUp, backup) = await server.PostAsync("/api/backups");
            Assert.Equal(200, backedUp);
            var backupId = backup!["id"]!.GetValue<string>();
            Assert.Equal("test", backup["cluster"]!.GetValue<string>());

            // Changes after the backup, which the recovery must undo.
            Assert.Equal(200, (await server.PostAsync("/api/jobs", new JsonObject { ["config"] = ServerHarness.Proto(ServerHarness.Job("later")) })).Status);

            var (_, listed) = await server.GetAsync("/api/backups");
            Assert.Equal(backupId, listed!["backups"]!.AsArray()[^1]!["id"]!.GetValue<string>());

            var (staged, stagedBody) = await server.PostAsync("/api/recovery/stage", new JsonObject { ["backupId"] = backupId });
            Assert.Equal(200, staged);
            Assert.Equal(2, stagedBody!["taskCount"]!.GetValue<int>());

            var (_, tasks) = await server.GetAsync("/api/recovery/tasks?instances=1");
            var doomed = Assert.Single(tasks!["tasks"]!.AsArray())!["taskId"]!.GetValue<string>();
            Assert.Equal(400, (await server.PostAsync("/api/recovery/tasks/delete", new JsonObject())).Status);
            var (_, deleted) = await server.PostAsync("/api/recovery/tasks/delete", new JsonObject { ["taskIds"] = new JsonArray(doomed) });
            Assert.Equal(1, deleted!["deleted"]!.GetValue<int>());

            // The live state is untouched until the commit.
            Assert.Equal(200, (await server.GetAsync("/api/jobs/www-data/prod/later")).Status);

            var (committed, commit) = await server.SendAsync(HttpMethod.Post, "/api/recovery/commit", user: "carol");
            Assert.Equal(200, committed);
            Assert.Equal(backupId, commit!["backupId"]!.GetValue<string>());
            Assert.False((await server.GetAsync("/api/recovery")).Body!["staged"]!.GetValue<bool>());

            Assert.Equal(404, (await server.GetAsync("/api/jobs/www-data/prod/later")).Status);
            var (_, kept) = await server.GetAsync("/api/jobs/www-data/prod/kept");
            Assert.Equal([0], kept!["tasks"]!.AsArray().Select(t => t!["instance"]!.GetValue<int>()));

            var entry = server.Server.Runtime.Store.Log.Read(1).Last(e => e.Principal == "carol");
            var transaction = TransactionCodec.Decode(entry);
            var recovered = Assert.Single(transaction.Events).RecoveryCommitted;
            Assert.Equal(backupId, recovered.BackupId);
            Assert.Equal(backup["position"]!.GetValue<ulong>(), recovered.BackupPosition);
            recoveredHash = (await server.GetAsync("/state")).Body!["stateHash"]!.GetValue<string>();
        }

        await using var restarted = await ServerHarness.StartAsync(directory.Path);
        Assert.Equal(recoveredHash, (await restarted.GetAsync("/state")).Body!["stateHash"]!.GetValue<string>());
    }

    [Fact]
    public async Task Recovery_calls_without_a_staged_backup_or_with_a_bad_id_say_so()
    {
        await using var server = await ServerHarness.StartAsync();
        var (status, body) = await server.PostAsync("/api/backups");
        Assert.Equal(400, status);
        Assert.Contains("Nothing to back up yet", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        (status, body) = await server.PostAsync("/api/recovery/commit");
        Assert.Equal(404, status);
        Assert.Contains("scheduler_stage_recovery", body!["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);

        (status, _) = await server.GetAsync("/api/recovery/tasks");
        Assert.Equal(404, status);

        (status, body) = await server.PostAsync("/api/recovery/stage", new JsonObject { ["backupId"] = "../../etc/passwd" });
        Assert.Equal(400, status);

        (status, _) = await server.PostAsync("/api/recovery/stage", new JsonObject { ["backupId"] = "scheduler-backup-2020-01-01-00-00-00-00000000000000000001.bak" });
        Assert.Equal(404, status);

        (status, body) = await server.PostAsync("/api/recovery/unload");
        Assert.Equal(200, status);
        Assert.Equal("No recovery was staged.", body!["message"]!.GetValue<string>());
    }
}
