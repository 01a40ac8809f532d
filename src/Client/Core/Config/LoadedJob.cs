using Aurora.Scheduler.Protos;

namespace Aurora.Client.Config;

/// <summary>
/// One job of a configuration file, mapped onto the scheduler's model: the job (for create and
/// cron schedule), the settings an update of it uses (from <c>update_config</c>), and the cluster
/// it belongs to (which is not part of the job key the scheduler knows).
/// </summary>
public sealed record LoadedJob(JobConfiguration Config, JobUpdateSettings UpdateSettings, string Cluster);
