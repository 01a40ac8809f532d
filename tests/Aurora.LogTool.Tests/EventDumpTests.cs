using System.Text.Json;

namespace Aurora.LogTool.Tests;

/// <summary><c>aurora-log dump</c> on real scheduler logs: one line per event, readable, and filterable.</summary>
public class EventDumpTests
{
    /// <summary>The position of each line, text or JSON.</summary>
    private static ulong[] Positions(ToolResult result)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        return [.. result.OutLines.Select(l => l.StartsWith('{')
            ? JsonDocument.Parse(l).RootElement.GetProperty("position").GetUInt64()
            : ulong.Parse(l["position=".Length..l.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture))];
    }

    private static ulong[] Distinct(ToolResult result) => [.. Positions(result).Distinct()];

    private static async Task<(TempDirectory Dir, SchedulerLog Log, Story Story)> StoryAsync()
    {
        var dir = new TempDirectory();
        var log = SchedulerLog.Create(dir.Path);
        var story = await Story.WriteAsync(log);
        return (dir, log, story);
    }

    [Fact]
    public async Task Dump_prints_one_readable_line_per_event_with_position_time_principal_type_and_fields()
    {
        var (dir, log, story) = await StoryAsync();
        using var _ = dir;
        using var __ = log;

        var result = Tool.Run("dump", $"--path={dir.Path}");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.OutLines;
        Assert.Equal(
            "position=1 time=2026-01-01T00:01:00.000000Z principal=root event=QuotaSet role=www-data cpu=10 ram=10240MB disk=20480MB",
            lines[0]);
        Assert.Equal(
            "position=2 time=2026-01-01T00:02:00.000000Z principal=alice event=JobCreated job=www-data/prod/hello instances=2 cpu=1 ram=128MB disk=256MB tier=preferred production=true",
            lines[1]);
        Assert.StartsWith(
            "position=2 time=2026-01-01T00:02:00.000000Z principal=alice event=TasksCreated job=www-data/prod/hello cpu=1 ram=128MB disk=256MB tier=preferred production=true "
            + $"tasks=\"{story.HelloTask0} (instance 0, PENDING",
            lines[2],
            StringComparison.Ordinal);
        Assert.Contains(
            $"position=8 time=2026-01-01T00:08:00.000000Z principal=scheduler event=TaskStateChanged task={story.HelloTask0} RUNNING -> FAILED message=\"exit code 1\" host=host-0",
            lines);
        Assert.Contains($"position=5 time=2026-01-01T00:05:00.000000Z principal=scheduler event=TaskAssigned task={story.HelloTask0} host=host-0 agent=agent-0", lines);
        Assert.Contains(
            "position=10 time=2026-01-01T00:10:00.000000Z principal=alice event=CronJobScheduled job=www-data/prod/nightly cron=\"*/5 * * * *\" collision=CANCEL_NEW instances=1 cpu=1 ram=128MB disk=256MB tier=preemptible",
            lines);
        Assert.Contains("position=11 time=2026-01-01T00:11:00.000000Z principal=root event=HostMaintenanceChanged host=host-9 mode=SCHEDULED", lines);
        Assert.Single(lines, l => l.StartsWith("position=12 ", StringComparison.Ordinal) && l.Contains(" event=JobUpdateStarted job=www-data/prod/hello update=", StringComparison.Ordinal)
            && l.Contains(" user=alice status=ROLLING_FORWARD instances=0-1 cpu=1 ram=256MB disk=256MB tier=preferred production=true message=\"more memory\"", StringComparison.Ordinal));
        Assert.Equal(Enumerable.Range(1, 12).Select(p => (ulong)p), Distinct(result));
        Assert.DoesNotContain(lines, l => l.Contains("fields=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dump_verbose_adds_each_events_whole_content_as_json()
    {
        var (dir, log, _) = await StoryAsync();
        using var d = dir;
        using var l = log;

        var result = Tool.Run("dump", $"--path={dir.Path}", "--verbose", "--from=2", "--to=2");

        Assert.True(result.ExitCode == 0, result.ToString());
        var jobCreated = result.OutLines[0];
        var json = JsonSerializer.Deserialize<string>(jobCreated[(jobCreated.IndexOf(" fields=", StringComparison.Ordinal) + " fields=".Length)..])!;
        using var fields = JsonDocument.Parse(json);
        Assert.Equal("echo hello; sleep 60", fields.RootElement.GetProperty("config").GetProperty("task").GetProperty("processes")[0].GetProperty("cmdline").GetString());
    }

    [Fact]
    public async Task Dump_json_prints_one_object_per_event_with_the_events_protobuf_json_as_fields()
    {
        var (dir, log, story) = await StoryAsync();
        using var d = dir;
        using var l = log;

        var result = Tool.Run("dump", $"--path={dir.Path}", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var objects = result.OutLines.Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList();
        Assert.All(objects, o => Assert.Equal(["position", "time", "principal", "event", "fields"], o.EnumerateObject().Select(p => p.Name)));
        var failed = Assert.Single(objects, o => o.GetProperty("event").GetString() == "TaskStateChanged" && o.GetProperty("fields").GetProperty("to").GetString() == "FAILED");
        Assert.Equal(8UL, failed.GetProperty("position").GetUInt64());
        Assert.Equal("2026-01-01T00:08:00.000000Z", failed.GetProperty("time").GetString());
        Assert.Equal("scheduler", failed.GetProperty("principal").GetString());
        var fields = failed.GetProperty("fields");
        Assert.Equal(story.HelloTask0, fields.GetProperty("taskId").GetString());
        Assert.Equal("RUNNING", fields.GetProperty("from").GetString());
        Assert.Equal("exit code 1", fields.GetProperty("message").GetString());
        Assert.Equal("host-0", fields.GetProperty("host").GetString());

        var created = objects.First(o => o.GetProperty("event").GetString() == "JobCreated");
        var config = created.GetProperty("fields").GetProperty("config");
        Assert.Equal("www-data", config.GetProperty("key").GetProperty("role").GetString());
        Assert.Equal("hello", config.GetProperty("key").GetProperty("name").GetString());
        Assert.Equal(2, config.GetProperty("instanceCount").GetInt32());
        Assert.Equal("alice", created.GetProperty("principal").GetString());

        var quota = objects[0];
        Assert.Equal("QuotaSet", quota.GetProperty("event").GetString());
        Assert.Equal(10, quota.GetProperty("fields").GetProperty("quota").GetProperty("numCpus").GetDouble());
    }

    [Fact]
    public async Task Dump_job_selects_the_events_that_concern_the_job_through_its_key_its_update_or_its_tasks()
    {
        var (dir, log, story) = await StoryAsync();
        using var d = dir;
        using var l = log;

        var hello = Tool.Run("dump", $"--path={dir.Path}", "--job=www-data/prod/hello");
        var helloWorld = Tool.Run("dump", $"--path={dir.Path}", "--job", "www-data/prod/hello-world");

        Assert.True(hello.ExitCode == 0, hello.ToString());
        // hello's task ids start with "www-data-prod-hello-", as hello-world's do: only the
        // TasksCreated events tell them apart.
        Assert.Equal([2UL, 5, 6, 7, 8, 12], Distinct(hello));
        Assert.DoesNotContain(hello.OutLines, line => line.Contains(story.HelloWorldTask0, StringComparison.Ordinal));
        Assert.Equal([3UL, 9], Distinct(helloWorld));
        Assert.All(helloWorld.OutLines, line => Assert.True(
            line.Contains(" job=www-data/prod/hello-world ", StringComparison.Ordinal) || line.Contains($" task={story.HelloWorldTask0} ", StringComparison.Ordinal), line));
    }

    [Fact]
    public async Task Dump_role_selects_the_roles_jobs_tasks_updates_and_quota()
    {
        var (dir, log, _) = await StoryAsync();
        using var d = dir;
        using var l = log;

        var ops = Tool.Run("dump", $"--path={dir.Path}", "--role=ops");
        var www = Tool.Run("dump", $"--path={dir.Path}", "-role=www-data");
        var nobody = Tool.Run("dump", $"--path={dir.Path}", "--role=nobody");

        Assert.Equal([4UL], Distinct(ops));
        Assert.Equal([1UL, 2, 3, 5, 6, 7, 8, 9, 10, 12], Distinct(www));
        Assert.True(nobody.ExitCode == 0 && nobody.Out.Length == 0, nobody.ToString());
    }

    [Fact]
    public async Task Dump_principal_selects_the_entries_a_principal_wrote()
    {
        var (dir, log, _) = await StoryAsync();
        using var d = dir;
        using var l = log;

        Assert.Equal([4UL], Distinct(Tool.Run("dump", $"--path={dir.Path}", "--principal=bob")));
        Assert.Equal([5UL, 6, 7, 8, 9], Distinct(Tool.Run("dump", $"--path={dir.Path}", "--principal=scheduler")));
        Assert.Equal([1UL, 11], Distinct(Tool.Run("dump", $"--path={dir.Path}", "--principal", "root")));
    }

    [Fact]
    public async Task Dump_since_and_until_select_an_inclusive_time_range_given_as_times_or_dates()
    {
        var (dir, log, _) = await StoryAsync();
        using var d = dir;
        using var l = log;

        Assert.Equal([5UL, 6, 7], Distinct(Tool.Run("dump", $"--path={dir.Path}", $"--since={Story.Iso(5)}", $"--until={Story.Iso(7)}")));
        Assert.Equal([11UL, 12], Distinct(Tool.Run("dump", $"--path={dir.Path}", "--since=2026-01-01T00:10:30Z")));
        Assert.Equal([1UL, 2], Distinct(Tool.Run("dump", $"--path={dir.Path}", "--until=2026-01-01T01:02:30+01:00")));
        Assert.Equal(12, Distinct(Tool.Run("dump", $"--path={dir.Path}", "--since=2026-01-01")).Length);
        Assert.Empty(Tool.Run("dump", $"--path={dir.Path}", "--until=2026-01-01").OutLines);
        Assert.Empty(Tool.Run("dump", $"--path={dir.Path}", "--since=2026-01-02").OutLines);
    }

    [Fact]
    public async Task Dump_filters_combine_with_each_other_and_with_from_and_to()
    {
        var (dir, log, _) = await StoryAsync();
        using var d = dir;
        using var l = log;

        Assert.Equal([6UL, 7], Distinct(Tool.Run("dump", $"--path={dir.Path}", "--job=www-data/prod/hello", "--principal=scheduler", "--from=6", "--to=7")));
        Assert.Equal([2UL, 12], Distinct(Tool.Run("dump", $"--path={dir.Path}", "--job=www-data/prod/hello", "--principal=alice")));
        Assert.Equal([3UL], Distinct(Tool.Run("dump", $"--path={dir.Path}", "--role=www-data", "--principal=alice", $"--since={Story.Iso(3)}", $"--until={Story.Iso(9)}")));
        Assert.Equal([8UL], Distinct(Tool.Run("dump", $"--path={dir.Path}", "--role=www-data", $"--since={Story.Iso(8)}", "--to=8", "--json")));
        Assert.Empty(Tool.Run("dump", $"--path={dir.Path}", "--job=ops/test/db", "--principal=alice").OutLines);
    }

    [Fact]
    public async Task Dump_job_from_a_later_position_knows_tasks_created_before_it()
    {
        var (dir, log, story) = await StoryAsync();
        using var d = dir;
        using var l = log;

        var result = Tool.Run("dump", $"--path={dir.Path}", "--job=www-data/prod/hello-world", "--from=4");

        Assert.True(result.ExitCode == 0 && result.Error.Length == 0, result.ToString());
        Assert.Equal([9UL], Distinct(result));
        Assert.Contains($"task={story.HelloWorldTask0}", result.OutLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dump_job_on_a_truncated_log_learns_older_tasks_from_the_snapshot()
    {
        using var dir = new TempDirectory();
        var log = SchedulerLog.Create(dir.Sub("original"));
        var story = await Story.WriteAsync(log);
        var snapshot = await story.WriteSnapshotAndTailAsync(log);
        log.Dispose();
        var firstRetained = await Resegment.CopyAndTruncateAsync(dir.Sub("original"), dir.Sub("truncated"), snapshot.Position + 1);
        Assert.True(firstRetained > 3, $"the test needs hello-world's TasksCreated (position 3) truncated; first retained is {firstRetained}");

        // From the first retained position, before the snapshot: the tasks come from the oldest later snapshot.
        var fromFirst = Tool.Run("dump", $"--path={dir.Sub("truncated")}", "--job=www-data/prod/hello-world");
        // After the snapshot: from the state just before --from, rebuilt from the snapshot and the log.
        var afterSnapshot = Tool.Run("dump", $"--path={dir.Sub("truncated")}", "--job=www-data/prod/hello-world", "--from=15");

        Assert.True(fromFirst.ExitCode == 0 && fromFirst.Error.Length == 0, fromFirst.ToString());
        Assert.Equal(new ulong[] { 9, 14, 15 }.Where(p => p >= firstRetained), Distinct(fromFirst));
        Assert.Contains(fromFirst.OutLines, line => line.StartsWith("position=14 ", StringComparison.Ordinal)
            && line.Contains($"event=TaskStateChanged task={story.HelloWorldTask0} ASSIGNED -> KILLING", StringComparison.Ordinal));
        Assert.Contains("event=JobKilled job=www-data/prod/hello-world instances=0 message=\"not needed\"", fromFirst.Out, StringComparison.Ordinal);
        Assert.True(afterSnapshot.ExitCode == 0 && afterSnapshot.Error.Length == 0, afterSnapshot.ToString());
        Assert.Equal(
            $"position=15 time=2026-01-01T00:15:00.000000Z principal=scheduler event=TaskStateChanged task={story.HelloWorldTask0} KILLING -> KILLED message=killed host=host-0",
            Assert.Single(afterSnapshot.OutLines));
    }

    [Fact]
    public async Task Dump_job_warns_when_no_snapshot_or_log_tells_the_jobs_of_older_tasks()
    {
        using var dir = new TempDirectory();
        var log = SchedulerLog.Create(dir.Sub("original"));
        var story = await Story.WriteAsync(log);
        var snapshot = await story.WriteSnapshotAndTailAsync(log);
        log.Dispose();
        var firstRetained = await Resegment.CopyAndTruncateAsync(dir.Sub("original"), dir.Sub("truncated"), snapshot.Position + 1);
        File.Delete(snapshot.Path.Replace(dir.Sub("original"), dir.Sub("truncated"), StringComparison.Ordinal));

        var result = Tool.Run("dump", $"--path={dir.Sub("truncated")}", "--job=www-data/prod/hello-world", "--from=15");

        Assert.Equal(0, result.ExitCode);
        var warning = Assert.Single(result.ErrorLines);
        Assert.StartsWith($"aurora-log: warning: cannot tell the jobs of tasks created before position 15 (Cannot rebuild that point: the log before position {firstRetained} was truncated", warning, StringComparison.Ordinal);
        Assert.EndsWith("--job and --role leave out events that name only such tasks", warning, StringComparison.Ordinal);
        Assert.Empty(result.OutLines);
    }

    [Fact]
    public async Task Dump_shows_the_snapshot_marker_with_the_hash_of_the_state_it_saved()
    {
        using var dir = new TempDirectory();
        using var log = SchedulerLog.Create(dir.Path);
        var story = await Story.WriteAsync(log);
        await story.WriteSnapshotAndTailAsync(log);

        var result = Tool.Run("dump", $"--path={dir.Path}", "--from=13", "--to=13");

        Assert.Equal(
            $"position=13 time=2026-01-01T00:13:00.000000Z principal=scheduler event=SnapshotCommitted snapshot_position=12 state_hash={story.Hashes[12]}",
            Assert.Single(result.OutLines));
    }

    [Fact]
    public async Task Dump_prints_entries_that_are_not_scheduler_transactions_opaquely_and_job_filters_leave_them_out()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 3);

        var all = Tool.Run("dump", $"--path={dir.Path}", "--principal=alice");
        var byJob = Tool.Run("dump", $"--path={dir.Path}", "--job=a/b/c");

        Assert.Equal([2UL], Positions(all));
        Assert.StartsWith($"position=2 term=1 time=2024-05-17T12:30:47.000000Z principal=alice type={TestLog.TypeUrl} content=200 bytes base64:", all.OutLines[0], StringComparison.Ordinal);
        Assert.True(byJob.ExitCode == 0 && byJob.Out.Length == 0, byJob.ToString());
    }
}
