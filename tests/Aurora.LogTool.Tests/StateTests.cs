using System.Text.Json;
using Aurora.Scheduler.State;

namespace Aurora.LogTool.Tests;

/// <summary><c>aurora-log state</c>: the scheduler's state rebuilt at a point of the log, equal to the store's own.</summary>
public class StateTests
{
    private static JsonElement StateJson(params string[] args)
    {
        var result = Tool.Run(["state", .. args, "--json"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        return json.RootElement.Clone();
    }

    [Fact]
    public async Task State_at_the_latest_position_shows_roles_jobs_quotas_locks_maintenance_and_the_stores_hash()
    {
        using var dir = new TempDirectory();
        using var log = SchedulerLog.Create(dir.Path);
        var story = await Story.WriteAsync(log);

        var result = Tool.Run("state", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lockLine = result.OutLines.Single(l => l.StartsWith("  www-data/prod/hello  update=", StringComparison.Ordinal));
        Assert.Equal(
            $"""
            Log directory:  {dir.Path}
            Status:         VOTING
            Position:       12 (2026-01-01T00:12:00.000000Z)
            Rebuilt from:   the log alone, 12 entries (16 events) replayed
            State hash:     {log.Hash}
            Framework id:   none
            Roles:          ops, www-data
            Jobs:           4
              ops/test/db  PENDING=1
              www-data/prod/hello  PENDING=1 THROTTLED=1 FAILED=1
              www-data/prod/hello-world  ASSIGNED=1
              www-data/prod/nightly  cron="*/5 * * * *" collision=CANCEL_NEW  no tasks
            Quotas:         2
              ops  quota: cpu=0 ram=0MB disk=0MB | prod shared: cpu=0 ram=0MB disk=0MB | prod dedicated: cpu=0 ram=0MB disk=0MB | non-prod shared: cpu=0.5 ram=128MB disk=256MB | non-prod dedicated: cpu=0 ram=0MB disk=0MB
              www-data  quota: cpu=10 ram=10240MB disk=20480MB | prod shared: cpu=3 ram=640MB disk=768MB | prod dedicated: cpu=0 ram=0MB disk=0MB | non-prod shared: cpu=1 ram=128MB disk=256MB | non-prod dedicated: cpu=0 ram=0MB disk=0MB
            Locks:          1 (active updates)
            {lockLine}
            Maintenance:    1 host(s)
              host-9  SCHEDULED

            """,
            result.Out);
        Assert.Matches(@"^  www-data/prod/hello  update=[0-9a-f-]{36} status=ROLLING_FORWARD user=alice since=2026-01-01T00:12:00\.000000Z$", lockLine);
        Assert.Equal(story.Hashes[12], log.Hash);
    }

    [Fact]
    public async Task State_json_holds_the_same_content_as_one_document()
    {
        using var dir = new TempDirectory();
        using var log = SchedulerLog.Create(dir.Path);
        await Story.WriteAsync(log);

        var state = StateJson($"--path={dir.Path}");

        Assert.Equal(12UL, state.GetProperty("position").GetUInt64());
        Assert.Equal("2026-01-01T00:12:00.000000Z", state.GetProperty("time").GetString());
        Assert.Equal(JsonValueKind.Null, state.GetProperty("snapshot").ValueKind);
        Assert.Equal(log.Hash, state.GetProperty("stateHash").GetString());
        Assert.Equal(["ops", "www-data"], state.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        var jobs = state.GetProperty("jobs").EnumerateArray().ToList();
        Assert.Equal(["ops/test/db", "www-data/prod/hello", "www-data/prod/hello-world", "www-data/prod/nightly"], jobs.Select(j => j.GetProperty("job").GetString()));
        Assert.Equal(["PENDING", "THROTTLED", "FAILED"], jobs[1].GetProperty("tasks").EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, jobs[1].GetProperty("tasks").GetProperty("PENDING").GetInt32());
        Assert.Equal(1, jobs[1].GetProperty("tasks").GetProperty("FAILED").GetInt32());
        Assert.Equal("*/5 * * * *", jobs[3].GetProperty("cron").GetProperty("schedule").GetString());
        Assert.Equal(JsonValueKind.Null, jobs[0].GetProperty("cron").ValueKind);
        var www = state.GetProperty("quotas").EnumerateArray().Single(q => q.GetProperty("role").GetString() == "www-data");
        Assert.Equal(10, www.GetProperty("quota").GetProperty("cpus").GetDouble());
        Assert.Equal(3, www.GetProperty("prodShared").GetProperty("cpus").GetDouble());
        Assert.Equal(640, www.GetProperty("prodShared").GetProperty("ramMb").GetInt64());
        Assert.Equal(1, www.GetProperty("nonProdShared").GetProperty("cpus").GetDouble());
        var held = Assert.Single(state.GetProperty("locks").EnumerateArray());
        Assert.Equal("www-data/prod/hello", held.GetProperty("job").GetString());
        Assert.Equal("ROLLING_FORWARD", held.GetProperty("status").GetString());
        Assert.Equal("alice", held.GetProperty("user").GetString());
        var host = Assert.Single(state.GetProperty("maintenance").EnumerateArray());
        Assert.Equal("host-9", host.GetProperty("host").GetString());
        Assert.Equal("SCHEDULED", host.GetProperty("mode").GetString());
    }

    [Fact]
    public async Task State_at_each_position_has_the_hash_the_store_had_there()
    {
        using var dir = new TempDirectory();
        using var log = SchedulerLog.Create(dir.Path);
        var story = await Story.WriteAsync(log);

        foreach (var (position, hash) in story.Hashes)
        {
            var state = StateJson($"--path={dir.Path}", $"--at={position}");
            Assert.Equal(position, state.GetProperty("position").GetUInt64());
            Assert.True(hash == state.GetProperty("stateHash").GetString(), $"state hash differs at position {position}");
        }
    }

    [Fact]
    public async Task State_at_a_time_includes_every_entry_written_at_or_before_it()
    {
        using var dir = new TempDirectory();
        using var log = SchedulerLog.Create(dir.Path);
        var story = await Story.WriteAsync(log);

        var exact = StateJson($"--path={dir.Path}", $"--at={Story.Iso(6)}");
        var between = StateJson($"--path={dir.Path}", "--at=2026-01-01T00:06:30Z");
        var offset = StateJson($"--path={dir.Path}", "--at=2026-01-01T01:04:00+01:00");
        var before = StateJson($"--path={dir.Path}", "--at=2026-01-01");

        Assert.Equal(6UL, exact.GetProperty("position").GetUInt64());
        Assert.Equal(story.Hashes[6], exact.GetProperty("stateHash").GetString());
        Assert.Equal(6UL, between.GetProperty("position").GetUInt64());
        Assert.Equal(4UL, offset.GetProperty("position").GetUInt64());
        Assert.Equal(0UL, before.GetProperty("position").GetUInt64());
        Assert.Equal(SchedulerState.FormatHash(new SchedulerState().StateHash()), before.GetProperty("stateHash").GetString());
    }

    [Fact]
    public async Task State_combines_the_newest_usable_snapshot_with_the_tail()
    {
        using var dir = new TempDirectory();
        using var log = SchedulerLog.Create(dir.Path);
        var story = await Story.WriteAsync(log);
        await story.WriteSnapshotAndTailAsync(log);

        var latest = StateJson($"--path={dir.Path}");
        var at14 = StateJson($"--path={dir.Path}", "--at=14");
        var atTime = StateJson($"--path={dir.Path}", $"--at={Story.Iso(15)}");
        var beforeSnapshot = StateJson($"--path={dir.Path}", "--at=7");
        var text = Tool.Run("state", $"--path={dir.Path}");

        Assert.Equal(16UL, latest.GetProperty("position").GetUInt64());
        Assert.Equal(12UL, latest.GetProperty("snapshot").GetProperty("position").GetUInt64());
        Assert.Equal(4, latest.GetProperty("entriesReplayed").GetInt64());
        Assert.Equal(log.Hash, latest.GetProperty("stateHash").GetString());
        Assert.Equal(12UL, at14.GetProperty("snapshot").GetProperty("position").GetUInt64());
        Assert.Equal(story.Hashes[14], at14.GetProperty("stateHash").GetString());
        Assert.Equal(story.Hashes[15], atTime.GetProperty("stateHash").GetString());
        Assert.Equal(JsonValueKind.Null, beforeSnapshot.GetProperty("snapshot").ValueKind);
        Assert.Equal(story.Hashes[7], beforeSnapshot.GetProperty("stateHash").GetString());
        Assert.Contains(
            "Rebuilt from:   snapshot-00000000000000000012.snap (position 12, taken 2026-01-01T00:13:00.000000Z) + 4 entries (5 events) replayed",
            text.OutLines);
    }

    [Fact]
    public async Task State_on_a_truncated_log_rebuilds_from_the_snapshot_and_refuses_points_before_it()
    {
        using var dir = new TempDirectory();
        var log = SchedulerLog.Create(dir.Sub("original"));
        var story = await Story.WriteAsync(log);
        var snapshot = await story.WriteSnapshotAndTailAsync(log);
        var hash = log.Hash;
        log.Dispose();
        var firstRetained = await Resegment.CopyAndTruncateAsync(dir.Sub("original"), dir.Sub("truncated"), snapshot.Position + 1);
        Assert.True(firstRetained > 2, $"the test needs a truncated log; first retained is {firstRetained}");

        var latest = StateJson($"--path={dir.Sub("truncated")}");
        var atSnapshot = StateJson($"--path={dir.Sub("truncated")}", "--at=12");
        var tooOld = Tool.Run("state", $"--path={dir.Sub("truncated")}", "--at=1");

        Assert.Equal(hash, latest.GetProperty("stateHash").GetString());
        Assert.Equal(story.Hashes[12], atSnapshot.GetProperty("stateHash").GetString());
        Assert.Equal("2026-01-01T00:12:00.000000Z", atSnapshot.GetProperty("time").GetString());
        Tool.AssertOneLineError(tooOld, 1, $"Cannot rebuild that point: the log before position {firstRetained} was truncated and no retained snapshot covers position 1");
    }

    [Fact]
    public async Task State_beyond_the_end_of_the_log_fails_in_one_line()
    {
        using var dir = new TempDirectory();
        using var log = SchedulerLog.Create(dir.Path);
        await Story.WriteAsync(log);

        var result = Tool.Run("state", $"--path={dir.Path}", "--at=13");

        Tool.AssertOneLineError(result, 1, "Cannot rebuild that point: position 13 is beyond the end of the log (12).");
    }

    [Fact]
    public void State_of_an_initialized_empty_log_is_the_empty_state()
    {
        using var dir = new TempDirectory();
        Assert.Equal(0, Tool.Run("initialize", $"--path={dir.Path}").ExitCode);

        var text = Tool.Run("state", $"--path={dir.Path}");
        var json = StateJson($"--path={dir.Path}");

        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("Position:       0 (nothing applied: the state is empty)", text.OutLines);
        Assert.Contains("Jobs:           0", text.OutLines);
        Assert.Equal(0UL, json.GetProperty("position").GetUInt64());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("time").ValueKind);
        Assert.Equal(SchedulerState.FormatHash(new SchedulerState().StateHash()), json.GetProperty("stateHash").GetString());
        Assert.Empty(json.GetProperty("jobs").EnumerateArray());
    }

    [Fact]
    public void State_of_an_uninitialized_replica_is_the_empty_state_and_says_EMPTY()
    {
        using var dir = new TempDirectory();

        var json = StateJson($"--path={dir.Path}");

        Assert.Equal("EMPTY", json.GetProperty("status").GetString());
        Assert.Equal(0UL, json.GetProperty("position").GetUInt64());
        Assert.Empty(json.GetProperty("roles").EnumerateArray());
    }

    [Fact]
    public async Task State_of_a_log_that_is_not_the_schedulers_fails_in_one_line()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 2);

        var result = Tool.Run("state", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 1, $"Cannot apply the event at log position 1: the payload type '{TestLog.TypeUrl}' is not");
    }
}
