using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;

namespace Aurora.LogTool.Tests;

/// <summary>Valid job configurations (the few the tool's tests need, after the scheduler tests' Configs).</summary>
internal static class Configs
{
    public static JobKey Key(string role = "www-data", string environment = "prod", string name = "hello") =>
        JobKeys.Create(role, environment, name);

    public static TaskConfig Task(JobKey job, string tier = "preferred", double cpus = 1, long ramMb = 128, long diskMb = 256) => new()
    {
        Job = job,
        IsService = true,
        Tier = tier,
        MaxTaskFailures = 1,
        Resources = new Resources { NumCpus = cpus, RamMb = ramMb, DiskMb = diskMb },
        Processes = { new Process { Name = "hello", Cmdline = "echo hello; sleep 60" } },
    };

    public static JobConfiguration Job(JobKey key, int instances = 1, string tier = "preferred", double cpus = 1, long ramMb = 128, long diskMb = 256) => new()
    {
        Key = key,
        InstanceCount = instances,
        Task = Task(key, tier, cpus, ramMb, diskMb),
    };

    public static JobConfiguration Cron(JobKey key, string schedule = "*/5 * * * *")
    {
        var config = Job(key, tier: "preemptible");
        config.Task.IsService = false;
        config.CronSchedule = schedule;
        config.CronCollisionPolicy = CronCollisionPolicy.CancelNew;
        return config;
    }

    public static Resources Quota(double cpus, long ramMb, long diskMb) => new() { NumCpus = cpus, RamMb = ramMb, DiskMb = diskMb };

    public static JobUpdateRequest Update(TaskConfig task, int instances) => new()
    {
        Task = task,
        InstanceCount = instances,
        Settings = new JobUpdateSettings
        {
            Strategy = new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = 1 } },
            MinWaitInInstanceRunningMs = 45000,
        },
    };
}

/// <summary>
/// A real scheduler log written the way the scheduler writes it: a directory initialized with
/// <c>aurora-log initialize</c>, commands executed through <see cref="SchedulerStore"/>, time from a
/// manual clock and ids from a seed, so positions, times and the state at each point are known.
/// </summary>
/// <remarks>One test thread drives it.</remarks>
internal sealed class SchedulerLog : IDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private SchedulerLog(string directory, ManualTimeProvider time, SchedulerStore store)
    {
        Directory = directory;
        Time = time;
        Store = store;
    }

    public string Directory { get; }

    public ManualTimeProvider Time { get; }

    public SchedulerStore Store { get; private set; }

    public ulong Position => Store.AppliedPosition;

    /// <summary>The store's state hash now, as <c>aurora-log state</c> prints it.</summary>
    public string Hash => SchedulerState.FormatHash(Store.StateHash());

    public static SchedulerLog Create(string directory, int seed = 1)
    {
        var init = Tool.Run("initialize", $"--path={directory}");
        Assert.True(init.ExitCode == 0, init.ToString());
        var time = new ManualTimeProvider(Start);
        return new SchedulerLog(directory, time, Open(directory, time, seed));
    }

    public void Advance(TimeSpan by) => Time.Advance(by);

    public Task<Decision> ExecuteAsync(SchedulerCommand command, string principal = "alice") => Store.ExecuteAsync(command, principal);

    /// <summary>The id of the instance's active task.</summary>
    public string TaskId(JobKey job, int instance) => Store.Read(s => s.ActiveInstances(job)[instance].TaskId);

    /// <summary>Moves the instance's active task along <paramref name="path"/> (ASSIGNED goes to <c>host-INSTANCE</c>).</summary>
    public async Task<string> DriveAsync(JobKey job, int instance, params ScheduleStatus[] path)
    {
        var taskId = TaskId(job, instance);
        foreach (var status in path)
        {
            await ExecuteAsync(
                status == ScheduleStatus.Assigned
                    ? new AssignTask(taskId, $"agent-{instance}", $"host-{instance}", [])
                    : new ChangeTaskState(taskId, status, status == ScheduleStatus.Failed ? "exit code 1" : "test", $"host-{instance}"),
                Principals.Scheduler);
        }

        return taskId;
    }

    /// <summary>Closes the store, e.g. before copying the directory.</summary>
    public void Dispose() => Store.Dispose();

    private static SchedulerStore Open(string directory, TimeProvider time, int seed) => SchedulerStore.Open(new SchedulerStoreOptions
    {
        Directory = directory,
        Time = time,
        Ids = new SeededIdGenerator(seed),
        // Small segments: each store would otherwise zero-fill two 64 MiB files.
        LogSegmentSize = 1 << 20,
        MaxEntrySize = 256 << 10,
        // A failed fsync should fail the test, not end the test host.
        OnFatalError = _ => { },
    });
}

/// <summary>
/// One known history, used by most tests. Every command is one minute after the previous one.
/// </summary>
internal sealed class Story
{
    public static readonly JobKey Hello = Configs.Key();
    public static readonly JobKey HelloWorld = Configs.Key(name: "hello-world");
    public static readonly JobKey Db = Configs.Key("ops", "test", "db");
    public static readonly JobKey Nightly = Configs.Key(name: "nightly");

    /// <summary>Position -> state hash after that position, as the store computed it.</summary>
    public Dictionary<ulong, string> Hashes { get; } = [];

    public required string HelloTask0 { get; init; }

    public required string HelloWorldTask0 { get; init; }

    public required string DbTask0 { get; init; }

    public ulong LastPosition { get; init; }

    /// <summary>
    /// Writes: 1 quota for www-data (root); 2 hello, 2 instances (alice); 3 hello-world (alice);
    /// 4 db in role ops (bob); 5..8 hello/0 ASSIGNED, STARTING, RUNNING, FAILED (scheduler; FAILED
    /// reschedules it); 9 hello-world/0 ASSIGNED (scheduler); 10 cron nightly (alice); 11 host-9 into
    /// maintenance (root); 12 an update of hello (alice), which holds hello's lock.
    /// </summary>
    public static async Task<Story> WriteAsync(SchedulerLog log, Func<ulong, Task>? afterEach = null)
    {
        var hashes = new Dictionary<ulong, string>();
        async Task Step(SchedulerCommand command, string principal)
        {
            log.Advance(TimeSpan.FromMinutes(1));
            await log.ExecuteAsync(command, principal);
            hashes[log.Position] = log.Hash;
            if (afterEach is not null)
            {
                await afterEach(log.Position);
            }
        }

        await Step(new SetQuota("www-data", Configs.Quota(10, 10240, 20480)), "root");
        await Step(new CreateJob(Configs.Job(Hello, instances: 2)), "alice");
        await Step(new CreateJob(Configs.Job(HelloWorld)), "alice");
        await Step(new CreateJob(Configs.Job(Db, tier: "preemptible", cpus: 0.5)), "bob");
        var helloTask0 = log.TaskId(Hello, 0);
        foreach (var status in new[] { ScheduleStatus.Assigned, ScheduleStatus.Starting, ScheduleStatus.Running, ScheduleStatus.Failed })
        {
            log.Advance(TimeSpan.FromMinutes(1));
            await log.DriveAsync(Hello, 0, status);
            hashes[log.Position] = log.Hash;
            if (afterEach is not null)
            {
                await afterEach(log.Position);
            }
        }

        var helloWorldTask0 = log.TaskId(HelloWorld, 0);
        log.Advance(TimeSpan.FromMinutes(1));
        await log.DriveAsync(HelloWorld, 0, ScheduleStatus.Assigned);
        hashes[log.Position] = log.Hash;
        if (afterEach is not null)
        {
            await afterEach(log.Position);
        }

        await Step(new ScheduleCronJob(Configs.Cron(Nightly)), "alice");
        await Step(new ChangeHostMaintenance(["host-9"], MaintenanceMode.Scheduled), "root");
        await Step(new StartJobUpdate(Configs.Update(Configs.Task(Hello, ramMb: 256), 2), "more memory"), "alice");

        var story = new Story
        {
            HelloTask0 = helloTask0,
            HelloWorldTask0 = helloWorldTask0,
            DbTask0 = log.TaskId(Db, 0),
            LastPosition = log.Position,
        };
        foreach (var (position, hash) in hashes)
        {
            story.Hashes[position] = hash;
        }

        Assert.Equal(12UL, story.LastPosition);
        return story;
    }

    /// <summary>
    /// After <see cref="WriteAsync"/>: a snapshot at 12 (its SnapshotCommitted marker is entry 13,
    /// one minute later), then 14 carol kills hello-world, 15 its task is KILLED (scheduler),
    /// 16 db/0 ASSIGNED (scheduler). Hashes are recorded for 13..16 as well.
    /// </summary>
    public async Task<Aurora.Storage.Snapshots.SnapshotInfo> WriteSnapshotAndTailAsync(SchedulerLog log)
    {
        log.Advance(TimeSpan.FromMinutes(1));
        var snapshot = await log.Store.TakeSnapshotAsync();
        Assert.NotNull(snapshot);
        Assert.Equal(12UL, snapshot.Position);
        Hashes[log.Position] = log.Hash;
        log.Advance(TimeSpan.FromMinutes(1));
        await log.ExecuteAsync(new KillTasks(HelloWorld, Message: "not needed"), "carol");
        Hashes[log.Position] = log.Hash;
        log.Advance(TimeSpan.FromMinutes(1));
        await log.ExecuteAsync(new ChangeTaskState(HelloWorldTask0, ScheduleStatus.Killed, "killed", "host-0"), Principals.Scheduler);
        Hashes[log.Position] = log.Hash;
        log.Advance(TimeSpan.FromMinutes(1));
        await log.DriveAsync(Db, 0, ScheduleStatus.Assigned);
        Hashes[log.Position] = log.Hash;
        Assert.Equal(16UL, log.Position);
        return snapshot;
    }

    /// <summary>The time of the entry at <paramref name="position"/>: position minutes after the start.</summary>
    public static DateTimeOffset TimeOf(ulong position) => SchedulerLog.Start.AddMinutes(position);

    public static string Iso(ulong position) => TimeOf(position).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Copies of a scheduler log with small segments, so a snapshot really truncates what precedes it.</summary>
internal static class Resegment
{
    /// <summary>
    /// Copies the replica at <paramref name="source"/> (closed) to <paramref name="target"/> with
    /// segments of <paramref name="segmentSize"/> bytes, snapshots and metadata included, then removes
    /// the segments wholly before <paramref name="keepFrom"/>. Returns the first retained position.
    /// </summary>
    public static async Task<ulong> CopyAndTruncateAsync(string source, string target, ulong keepFrom, long segmentSize = 2048)
    {
        System.IO.Directory.CreateDirectory(target);
        File.Copy(Path.Combine(source, "replica.meta"), Path.Combine(target, "replica.meta"));
        System.IO.Directory.CreateDirectory(Path.Combine(target, "snapshots"));
        foreach (var file in System.IO.Directory.GetFiles(Path.Combine(source, "snapshots")))
        {
            File.Copy(file, Path.Combine(target, "snapshots", Path.GetFileName(file)));
        }

        List<LogEntry> entries;
        using (var log = SegmentedLog.Open(new LogOptions { Directory = source, ReadOnly = true }))
        {
            entries = [.. log.Read(log.FirstRetainedPosition)];
        }

        Assert.Equal(1UL, entries[0].Position);
        using var copy = SegmentedLog.Open(new LogOptions { Directory = target, SegmentSize = segmentSize, MaxEntrySize = 1024, OnFatalError = _ => { } });
        foreach (var entry in entries)
        {
            // One at a time: a request never spans segments.
            var position = await copy.AppendAsync(new LogEntry { Term = entry.Term, TimestampMicros = entry.TimestampMicros, Principal = entry.Principal, Payload = entry.Payload });
            Assert.Equal(entry.Position, position);
        }

        return copy.TruncatePrefix(keepFrom);
    }
}
