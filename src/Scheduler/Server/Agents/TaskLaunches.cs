using System.Globalization;
using Aurora.Agent.Protocol;
using Aurora.CommandLine;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Server.Agents;

/// <summary>
/// The cluster-wide Thermos logger defaults Aurora sets through <c>-thermos_executor_flags</c>;
/// only the runner's logger flags mean anything to our agents, so anything else is refused rather
/// than silently dropped.
/// </summary>
internal static class ThermosExecutorFlags
{
    /// <returns>The logger defaults the flags set, or null when they set none (agents keep their own).</returns>
    /// <exception cref="UsageException">A flag is unknown or its value malformed.</exception>
    public static LoggerSpec? Parse(string text)
    {
        string? mode = null;
        long? size = null;
        int? backups = null;
        foreach (var token in text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = token.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? token : token[..equals];
            var value = equals < 0 ? string.Empty : token[(equals + 1)..];
            switch (name)
            {
                case "--runner-logger-mode":
                    mode = value is LoggerSpec.Standard or LoggerSpec.Rotate
                        ? value
                        : throw new UsageException($"-thermos_executor_flags: --runner-logger-mode={value} must be standard or rotate");
                    break;
                case "--runner-rotate-log-size-mb":
                    size = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var mb) && mb > 0
                        ? mb
                        : throw new UsageException($"-thermos_executor_flags: --runner-rotate-log-size-mb={value} must be a positive whole number of MB");
                    break;
                case "--runner-rotate-log-backups":
                    backups = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                        ? n
                        : throw new UsageException($"-thermos_executor_flags: --runner-rotate-log-backups={value} must be a positive whole number");
                    break;
                default:
                    throw new UsageException(
                        $"-thermos_executor_flags: {name} is not understood; agents take --runner-logger-mode, --runner-rotate-log-size-mb and --runner-rotate-log-backups");
            }
        }

        // What the flags leave out stays unset, for each agent's -max_log_size and -max_log_backups to fill.
        return mode is null && size is null && backups is null
            ? null
            : new LoggerSpec(mode ?? string.Empty, size ?? 0, backups ?? 0);
    }
}

/// <summary>Turns an ASSIGNED task of the log into what its agent needs to run it.</summary>
internal static class TaskLaunches
{
    /// <summary>How long a killed task's processes get between SIGTERM and SIGKILL (Thermos's escalation wait).</summary>
    public static readonly TimeSpan KillGracePeriod = TimeSpan.FromSeconds(5);

    public static TaskLaunch From(TaskRecord task, LoggerSpec? defaultLogger, IReadOnlyList<ContainerMount> globalMounts)
    {
        ArgumentNullException.ThrowIfNull(task);
        var config = task.Config;
        return new TaskLaunch(
            task.TaskId,
            config.Job.Role,
            config.Job.Environment,
            config.Job.Name,
            task.InstanceId,
            config.Resources?.NumCpus ?? 0,
            config.Resources?.RamMb ?? 0,
            config.Resources?.DiskMb ?? 0,
            task.Ports.ToDictionary(p => p.Name, p => p.Port, StringComparer.Ordinal),
            config.Processes.Select(Process).ToList(),
            config.ProcessOrder.Select(order => (IReadOnlyList<string>)order.Order.ToList()).ToList(),
            config.FinalizationWaitSecs,
            HealthCheck(config.HealthCheck),
            Container(config.Container),
            defaultLogger,
            globalMounts.Select(m => new MountSpec(m.HostPath, m.ContainerPath, m.ReadOnly)).ToList());
    }

    private static ProcessSpec Process(Protos.Process process) => new(
        process.Name,
        process.Cmdline,
        process.MaxFailures,
        process.Daemon,
        process.Ephemeral,
        process.MinDurationSecs,
        process.Final,
        process.Logger is { } logger && (!string.IsNullOrEmpty(logger.Mode) || logger.RotateLogSizeMb > 0 || logger.RotateLogBackups > 0)
            ? new LoggerSpec(logger.Mode, logger.RotateLogSizeMb, logger.RotateLogBackups)
            : null);

    private static HealthCheckSpec? HealthCheck(HealthCheck? check) => check?.KindCase switch
    {
        Protos.HealthCheck.KindOneofCase.Http => new HealthCheckSpec(
            HealthCheckSpec.Http, check.Http.Endpoint, check.Http.ExpectedResponse, check.Http.ExpectedResponseCode, null,
            check.InitialIntervalSecs, check.IntervalSecs, check.TimeoutSecs, check.MaxConsecutiveFailures, check.MinConsecutiveSuccesses),
        Protos.HealthCheck.KindOneofCase.Shell => new HealthCheckSpec(
            HealthCheckSpec.Shell, null, null, 0, check.Shell.ShellCommand,
            check.InitialIntervalSecs, check.IntervalSecs, check.TimeoutSecs, check.MaxConsecutiveFailures, check.MinConsecutiveSuccesses),
        _ => null,
    };

    private static ContainerSpec? Container(Container? container) => container?.KindCase switch
    {
        Protos.Container.KindOneofCase.Docker => new ContainerSpec(
            ContainerSpec.Docker,
            container.Docker.Image,
            [],
            container.Docker.Parameters.ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal)),

        // A Mesos container without an image is the plain process sandbox every task gets.
        Protos.Container.KindOneofCase.Mesos when container.Mesos.Image is { } image => new ContainerSpec(
            ContainerSpec.Mesos,
            image.KindCase == Image.KindOneofCase.Docker ? $"{image.Docker.Name}:{image.Docker.Tag}" : $"{image.Appc.Name} {image.Appc.ImageId}",
            container.Mesos.Volumes.Select(v => new MountSpec(v.HostPath, v.ContainerPath, v.Mode == VolumeMode.Ro)).ToList(),
            new Dictionary<string, string>(StringComparer.Ordinal)),
        _ => null,
    };
}
