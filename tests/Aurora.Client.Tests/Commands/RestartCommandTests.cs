using System.Globalization;
using System.Text.Json.Nodes;
using Aurora.Cli;

namespace Aurora.Client.Tests.Commands;

/// <summary>
/// <c>aurora job restart</c> as a rolling restart, against a <see cref="SimulatedJob"/>: a fake
/// scheduler that kills and reschedules restarted tasks and moves tasks along their lives one step
/// per poll, while its clock (which is also the client's) moves <see cref="SimulatedJob.Step"/>.
/// </summary>
public sealed class RestartCommandTests : FakeSchedulerTests
{
    private const string Key = "test/www-data/prod/hello";

    private SimulatedJob Start(int instances)
    {
        var job = new SimulatedJob(instances);
        job.Attach(Scheduler);
        Cli.Environment = Cli.Environment with { Time = job.Clock };
        return job;
    }

    [Fact]
    public async Task Batches_are_restarted_in_instance_order_each_after_the_previous_ran_for_watch_secs()
    {
        var job = Start(5);

        var result = await Cli.AuroraAsync("job", "restart", Key, "--batch-size=2", "--watch-secs=45");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(["0,1", "2,3", "4"], job.Restarts.Select(r => string.Join(',', r.Instances)));
        AssertEachBatchWaitedForThePrevious(job, TimeSpan.FromSeconds(45));
        Assert.All(Enumerable.Range(0, 5), i => Assert.Equal(2, job.TasksOf(i).Count));
        Assert.Contains($"Batch 1/3: restarted instance(s) 0-1 of {Key}", result.Stdout, StringComparison.Ordinal);
        Assert.Contains($"Batch 3/3: restarted instance(s) 4 of {Key}", result.Stdout, StringComparison.Ordinal);
        Assert.EndsWith($"Job {Key} restarted\n", result.Stdout.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains($"restarting {Key}, batch 2/3 (instance(s) 2-3)", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(100)]
    public async Task The_next_batch_waits_exactly_as_long_as_watch_secs_asks(int watchSecs)
    {
        var job = Start(3);

        var result = await Cli.AuroraAsync("job", "restart", Key, $"--watch-secs={watchSecs}");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(3, job.Restarts.Count);
        AssertEachBatchWaitedForThePrevious(job, TimeSpan.FromSeconds(watchSecs));
    }

    [Fact]
    public async Task Watch_is_measured_from_the_status_time_the_scheduler_reports()
    {
        var job = Start(3);
        foreach (var instance in new[] { 0, 1, 2 })
        {
            // The scheduler says the new task has been RUNNING for an hour already.
            job.Script(instance, new Life(["RUNNING"], Backdate: TimeSpan.FromHours(1)));
        }

        var result = await Cli.AuroraAsync("job", "restart", Key, "--watch-secs=45");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(3, job.Restarts.Count);

        // One poll sees each batch RUNNING long enough; one more request reads the next batch's tasks.
        Assert.Equal(2 * SimulatedJob.Step, job.Restarts[1].At - job.Restarts[0].At);
        Assert.Equal(2 * SimulatedJob.Step, job.Restarts[2].At - job.Restarts[1].At);
    }

    [Fact]
    public async Task Batch_size_larger_than_the_job_is_one_batch()
    {
        var job = Start(3);

        var result = await Cli.AuroraAsync("job", "restart", Key, "--batch-size=10");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal([0, 1, 2], Assert.Single(job.Restarts).Instances);
        Assert.Contains($"Batch 1/1: restarted instance(s) 0-2 of {Key}", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_listed_instances_are_restarted()
    {
        var job = Start(5);

        var result = await Cli.AuroraAsync("job", "restart", $"{Key}/1,3", "--batch-size=1");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(["1", "3"], job.Restarts.Select(r => string.Join(',', r.Instances)));
        Assert.All(new[] { 0, 2, 4 }, i => Assert.Single(job.TasksOf(i)));
        Assert.All(new[] { 1, 3 }, i => Assert.Equal(2, job.TasksOf(i).Count));
    }

    [Fact]
    public async Task A_listed_instance_without_an_active_task_is_refused_before_any_restart()
    {
        Start(3);

        var result = await Cli.AuroraAsync("job", "restart", $"{Key}/1,7");

        Assert.Equal(ExitCodes.InvalidParameter, result.Exit);
        Assert.Contains("no active task for instance(s) 7", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("its active instances are 0-2", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Scheduler.To("POST", "/api/jobs/www-data/prod/hello/restart"));
    }

    [Fact]
    public async Task An_instance_whose_task_is_still_pending_only_has_to_come_up()
    {
        var job = Start(2);
        job.Initial(1, new Life(["PENDING", "PENDING", "PENDING", "PENDING", "RUNNING"]));

        var result = await Cli.AuroraAsync("job", "restart", Key, "--batch-size=2", "--watch-secs=20");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Single(job.TasksOf(1));
        Assert.Equal("RUNNING", job.TasksOf(1)[0].Status);
        Assert.Equal(2, job.TasksOf(0).Count);
    }

    [Fact]
    public async Task A_failed_new_task_stops_the_restart_by_default_naming_the_instance()
    {
        var job = Start(3);
        job.Script(1, Life.Failing);

        var result = await Cli.AuroraAsync("job", "restart", Key);

        Assert.Equal(ExitCodes.CommandFailure, result.Exit);
        Assert.Equal(["0", "1"], job.Restarts.Select(r => string.Join(',', r.Instances)));
        Assert.Contains("1 instance(s) failed, more than --max-total-failures=0 allows: instance 1 (failed 1 time(s))", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("instance(s) 2 were not restarted", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain($"Job {Key} restarted", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failures_up_to_max_per_instance_failures_are_waited_through()
    {
        var job = Start(2);
        job.Script(1, Life.Failing, Life.Failing);

        var result = await Cli.AuroraAsync("job", "restart", Key, "--max-per-instance-failures=2");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(4, job.TasksOf(1).Count);
        Assert.Equal("RUNNING", job.TasksOf(1)[^1].Status);
        Assert.Contains("1 RUNNING, 2 failure(s)", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task More_failures_than_max_per_instance_failures_fail_the_instance()
    {
        var job = Start(2);
        job.Script(0, Life.Failing, Life.Failing);

        var result = await Cli.AuroraAsync("job", "restart", Key, "--max-per-instance-failures=1");

        Assert.Equal(ExitCodes.CommandFailure, result.Exit);
        Assert.Contains("instance 0 (failed 2 time(s))", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("instance(s) 1 were not restarted", result.Stderr, StringComparison.Ordinal);
        Assert.Single(job.Restarts);
    }

    [Fact]
    public async Task Max_total_failures_lets_that_many_instances_fail_and_stops_at_one_more()
    {
        var job = Start(4);
        job.Script(0, Life.Failing);
        job.Script(2, Life.Failing);

        var result = await Cli.AuroraAsync("job", "restart", Key, "--max-total-failures=1");

        Assert.Equal(ExitCodes.CommandFailure, result.Exit);
        Assert.Equal(["0", "1", "2"], job.Restarts.Select(r => string.Join(',', r.Instances)));
        Assert.Contains("2 instance(s) failed, more than --max-total-failures=1 allows: instance 0 (failed 1 time(s)), instance 2 (failed 1 time(s))", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("instance(s) 3 were not restarted", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failed_instances_within_max_total_failures_end_in_success_with_a_warning()
    {
        var job = Start(3);
        job.Script(1, Life.Failing);

        var result = await Cli.AuroraAsync("job", "restart", Key, "--max-total-failures=1");

        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(3, job.Restarts.Count);
        Assert.Contains($"Batch 2/3: restarted instance(s) none of {Key}; failed: instance 1 (failed 1 time(s))", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("warning: instance 1 (failed 1 time(s)) failed", result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"Job {Key} restarted", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_instance_not_running_within_restart_threshold_stops_the_restart()
    {
        var job = Start(3);
        job.Script(1, new Life(["PENDING"]));

        var result = await Cli.AuroraAsync("job", "restart", Key, "--restart-threshold=30");

        Assert.Equal(ExitCodes.CommandFailure, result.Exit);
        Assert.Contains("instance 1 (still PENDING) not RUNNING within --restart-threshold=30s", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("instance(s) 2 were not restarted", result.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, job.Restarts.Count);

        // It gave up at the first poll past the threshold, not before.
        var gaveUpAt = job.Clock.GetUtcNow();
        Assert.InRange(gaveUpAt - job.Restarts[1].At, TimeSpan.FromSeconds(31), TimeSpan.FromSeconds(30) + SimulatedJob.Step);
    }

    [Fact]
    public async Task A_job_that_does_not_exist_is_not_found()
    {
        Scheduler.On("GET", "/api/tasks", Canned.Tasks());
        Scheduler.OnError("GET", "/api/jobs/www-data/prod/nope", 404, "NOT_FOUND", "No job www-data/prod/nope");

        var result = await Cli.AuroraAsync("job", "restart", "test/www-data/prod/nope");

        Assert.Equal(ExitCodes.InvalidParameter, result.Exit);
        Assert.Contains("No job www-data/prod/nope", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Scheduler.To("POST", "/api/jobs/www-data/prod/nope/restart"));
    }

    [Fact]
    public async Task Ctrl_c_while_watching_stops_with_130_naming_what_was_not_restarted()
    {
        var job = Start(3);
        job.Script(0, new Life(["PENDING"]));
        using var interrupt = new CancellationTokenSource();
        job.AfterPoll = polls =>
        {
            if (polls == 4)
            {
                interrupt.Cancel();
            }
        };
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await AuroraCli.RunAsync(["job", "restart", Key, "--restart-threshold=3600"], stdout, stderr, Cli.Environment, interrupt.Token);

        Assert.Equal(ExitCodes.Interrupted, exit);
        Assert.Contains("interrupted during batch 1/3 (instances 0); instance(s) 1-2 were not restarted", stderr.ToString(), StringComparison.Ordinal);
        Assert.Single(job.Restarts);
    }

    [Theory]
    [InlineData("--batch-size=0", "--batch-size")]
    [InlineData("--batch-size=99999999999", "--batch-size")]
    [InlineData("--watch-secs=-1", "--watch-secs")]
    [InlineData("--watch-secs=soon", "--watch-secs")]
    [InlineData("--restart-threshold=0", "--restart-threshold")]
    [InlineData("--max-per-instance-failures=1.5", "--max-per-instance-failures")]
    [InlineData("--max-total-failures=x", "--max-total-failures")]
    public async Task Bad_flag_values_are_usage_errors_naming_the_flag(string flag, string name)
    {
        var result = await Cli.AuroraAsync("job", "restart", Key, flag);

        Assert.Equal(ExitCodes.Usage, result.Exit);
        Assert.Contains($"error: flag {name} must be", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(Scheduler.Requests);
    }

    // Every instance of batch k-1 had a new task RUNNING for the watch when batch k was restarted,
    // and the client moved on at the first poll that showed it (requests are Step apart: the poll,
    // then the read of batch k's tasks).
    private static void AssertEachBatchWaitedForThePrevious(SimulatedJob job, TimeSpan watch)
    {
        for (var k = 1; k < job.Restarts.Count; k++)
        {
            var previous = job.Restarts[k - 1];
            var at = job.Restarts[k].At;
            var readyAt = previous.Instances.Select(i =>
            {
                var task = job.TasksOf(i).Single(t => t.Created > previous.At && t.Status == "RUNNING");
                Assert.True(task.RunningSince + watch <= at - SimulatedJob.Step, $"batch {k + 1} restarted at {at:O} before instance {i} ran for {watch} (RUNNING since {task.RunningSince:O})");
                return task.RunningSince!.Value + watch;
            }).Max();
            Assert.True(at - readyAt < 2 * SimulatedJob.Step, $"batch {k + 1} restarted at {at:O}, long after batch {k} was ready at {readyAt:O}");
        }
    }
}

/// <summary>The statuses one task goes through, a step per poll; the last one stays (unless it ends the task).</summary>
/// <param name="Backdate">How far in the past the task reports entering its first status.</param>
internal sealed record Life(IReadOnlyList<string> Statuses, TimeSpan Backdate = default)
{
    public static Life Healthy { get; } = new(["PENDING", "ASSIGNED", "STARTING", "RUNNING"]);

    public static Life Failing { get; } = new(["PENDING", "STARTING", "RUNNING", "FAILED"]);
}

/// <summary>One task of the simulated job.</summary>
internal sealed class SimTask(string taskId, int instance, Life life, DateTimeOffset created)
{
    public string TaskId { get; } = taskId;

    public int Instance { get; } = instance;

    public Life Life { get; } = life;

    public DateTimeOffset Created { get; } = created;

    public int Step { get; set; }

    public string Status { get; set; } = life.Statuses[0];

    public DateTimeOffset StatusTime { get; set; } = created - life.Backdate;

    public DateTimeOffset? RunningSince => Status == "RUNNING" ? StatusTime : null;
}

/// <summary>A restart request the simulated scheduler received, and its clock then.</summary>
internal sealed record RestartCall(IReadOnlyList<int> Instances, DateTimeOffset At);

/// <summary>
/// A clock the simulation sets; only <see cref="GetUtcNow"/> is simulated, so the client's poll
/// pauses remain (very short) real timers.
/// </summary>
internal sealed class SimulatedClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>
/// The scheduler's side of a restart for job www-data/prod/hello, as Aurora does it: a restarted
/// active task goes RESTARTING, is KILLED at the next poll and replaced by a new task (its own
/// scripted <see cref="Life"/>, or <see cref="Life.Healthy"/>); a new task that ends is replaced too.
/// Every <c>GET /api/tasks</c> moves the clock one <see cref="Step"/> and every active task one step.
/// </summary>
internal sealed class SimulatedJob
{
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(10);

    private static readonly HashSet<string> Terminal = ["FAILED", "FINISHED", "KILLED", "LOST"];
    private readonly Lock _lock = new();
    private readonly List<SimTask> _tasks = [];
    private readonly Dictionary<int, Queue<Life>> _scripts = [];
    private readonly List<RestartCall> _restarts = [];
    private int _polls;
    private int _nextId;

    public SimulatedJob(int instances)
    {
        for (var i = 0; i < instances; i++)
        {
            _tasks.Add(new SimTask(NextId(i), i, new Life(["RUNNING"], Backdate: TimeSpan.FromDays(1)), Clock.GetUtcNow()));
        }
    }

    public SimulatedClock Clock { get; } = new(new DateTimeOffset(2026, 12, 2, 20, 0, 0, TimeSpan.Zero));

    /// <summary>Called after each poll with the number of polls so far.</summary>
    public Action<int>? AfterPoll { get; set; }

    public IReadOnlyList<RestartCall> Restarts
    {
        get
        {
            lock (_lock)
            {
                return [.. _restarts];
            }
        }
    }

    /// <summary>The lives of the instance's next new tasks, in order; <see cref="Life.Healthy"/> after them.</summary>
    public void Script(int instance, params Life[] lives)
    {
        lock (_lock)
        {
            _scripts[instance] = new Queue<Life>(lives);
        }
    }

    /// <summary>Replaces the instance's task before the restart.</summary>
    public void Initial(int instance, Life life)
    {
        lock (_lock)
        {
            _tasks.RemoveAll(t => t.Instance == instance);
            _tasks.Add(new SimTask(NextId(instance), instance, life, Clock.GetUtcNow()));
        }
    }

    public IReadOnlyList<SimTask> TasksOf(int instance)
    {
        lock (_lock)
        {
            return [.. _tasks.Where(t => t.Instance == instance)];
        }
    }

    public void Attach(FakeScheduler scheduler)
    {
        scheduler.Handle("GET", "/api/tasks", _ => Poll());
        scheduler.Handle("POST", "/api/jobs/www-data/prod/hello/restart", Restart);
    }

    private CannedResponse Poll()
    {
        string body;
        int polls;
        lock (_lock)
        {
            Clock.Advance(Step);
            var now = Clock.GetUtcNow();
            foreach (var task in _tasks.Where(t => !Terminal.Contains(t.Status)).ToList())
            {
                if (task.Status == "RESTARTING")
                {
                    Move(task, "KILLED", now);
                }
                else if (task.Step + 1 < task.Life.Statuses.Count)
                {
                    task.Step++;
                    Move(task, task.Life.Statuses[task.Step], now);
                }
            }

            body = Canned.Tasks([.. _tasks.Select(t => Canned.Task(t.Instance, t.Status, taskId: t.TaskId, statusTime: Time(t.StatusTime)))]);
            polls = ++_polls;
        }

        AfterPoll?.Invoke(polls);
        return new CannedResponse(200, body);
    }

    private CannedResponse Restart(ReceivedRequest request)
    {
        if (request.Json["instances"] is not JsonArray array)
        {
            return new CannedResponse(400, """{"error": {"code": "INVALID_REQUEST", "message": "the simulation wants the instances listed"}}""");
        }

        var instances = array.Select(i => i!.GetValue<int>()).ToList();
        lock (_lock)
        {
            var active = _tasks.Where(t => !Terminal.Contains(t.Status)).ToDictionary(t => t.Instance);
            if (instances.Any(i => !active.ContainsKey(i)))
            {
                return new CannedResponse(400, """{"error": {"code": "INVALID_REQUEST", "message": "Not all requested shards are active."}}""");
            }

            var now = Clock.GetUtcNow();
            _restarts.Add(new RestartCall(instances, now));
            foreach (var instance in instances)
            {
                // As the scheduler: a task not placed yet has nothing to restart.
                if (active[instance].Status is not ("PENDING" or "THROTTLED"))
                {
                    Move(active[instance], "RESTARTING", now);
                }
            }
        }

        return new CannedResponse(200, Canned.Write());
    }

    // Under the lock.
    private void Move(SimTask task, string status, DateTimeOffset now)
    {
        task.Status = status;
        task.StatusTime = now;
        if (Terminal.Contains(status))
        {
            var life = _scripts.TryGetValue(task.Instance, out var queue) && queue.TryDequeue(out var next) ? next : Life.Healthy;
            _tasks.Add(new SimTask(NextId(task.Instance), task.Instance, life, now));
        }
    }

    private string NextId(int instance) => string.Create(CultureInfo.InvariantCulture, $"www-data-prod-hello-{instance}-{_nextId++}");

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
