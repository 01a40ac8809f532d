using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Tests.Support;

/// <summary>Valid job configurations to start from; tests change what they are about.</summary>
public static class Configs
{
    public static JobKey Key(string role = "www-data", string environment = "prod", string name = "hello") =>
        JobKeys.Create(role, environment, name);

    public static TaskConfig Task(JobKey? job = null, bool service = true, string tier = "preferred", double cpus = 1, long ramMb = 128, long diskMb = 256) => new()
    {
        Job = job ?? Key(),
        IsService = service,
        Tier = tier,
        MaxTaskFailures = 1,
        Resources = new Resources { NumCpus = cpus, RamMb = ramMb, DiskMb = diskMb },
        Processes = { new Process { Name = "hello", Cmdline = "echo hello; sleep 60" } },
    };

    public static JobConfiguration Job(JobKey? key = null, int instances = 1, bool service = true, string tier = "preferred", double cpus = 1, long ramMb = 128, long diskMb = 256)
    {
        var jobKey = key ?? Key();
        return new JobConfiguration
        {
            Key = jobKey,
            InstanceCount = instances,
            Task = Task(jobKey, service, tier, cpus, ramMb, diskMb),
        };
    }

    public static JobConfiguration Cron(JobKey? key = null, string schedule = "*/5 * * * *", int instances = 1, CronCollisionPolicy policy = CronCollisionPolicy.KillExisting)
    {
        var config = Job(key ?? Key(name: "nightly"), instances, service: false);
        config.CronSchedule = schedule;
        config.CronCollisionPolicy = policy;
        return config;
    }

    public static Resources Quota(double cpus, long ramMb, long diskMb) => new() { NumCpus = cpus, RamMb = ramMb, DiskMb = diskMb };

    public static JobUpdateRequest Update(TaskConfig task, int instances, int batchSize = 1) => new()
    {
        Task = task,
        InstanceCount = instances,
        Settings = new JobUpdateSettings
        {
            Strategy = new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = batchSize } },
            MinWaitInInstanceRunningMs = 45000,
            RollbackOnFailure = true,
        },
    };
}
