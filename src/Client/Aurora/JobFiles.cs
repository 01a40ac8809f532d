using Aurora.Client;
using Aurora.Client.Config;
using Aurora.Scheduler.Protos;

namespace Aurora.Cli;

/// <summary>Reads the job a command names out of a job configuration file.</summary>
internal static class JobFiles
{
    /// <summary>
    /// The job <paramref name="key"/> names in <paramref name="path"/>; a missing file, an invalid one
    /// or one without that job is a <see cref="JobConfigException"/> (exit 3) with the loader's message.
    /// </summary>
    public static LoadedJob Load(JobKeyArgument key, string path)
    {
        var jobs = JobConfigLoader.LoadFile(path);
        return JobConfigLoader.Select(jobs, key.Cluster, key.Key.Role, key.Key.Environment, key.Key.Name, path);
    }

    public static bool IsCron(JobConfiguration config) => !string.IsNullOrEmpty(config.CronSchedule);
}
