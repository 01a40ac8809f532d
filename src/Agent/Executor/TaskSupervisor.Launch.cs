using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Aurora.Agent.Protocol;

namespace Aurora.Agent.Executor;

/// <summary>Checking a launch and deriving what its processes need: commands with templates bound, environment, order.</summary>
internal sealed partial class TaskSupervisor
{
    /// <summary>Fills the process tables (always, so that even an invalid task can be stopped) and returns what makes the launch unrunnable, if anything.</summary>
    private string? Prepare()
    {
        var launch = State.Launch;
        foreach (var process in launch.Processes)
        {
            _specs.TryAdd(process.Name, process);
            _predecessors.TryAdd(process.Name, []);
        }

        return Validate(launch) ?? ResolveRoleUser(launch.Role) ?? Bind(launch);
    }

    private string? Validate(TaskLaunch launch)
    {
        if (launch.Processes.Count == 0)
        {
            return "The task has no processes";
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var process in launch.Processes)
        {
            if (process.Name is "." or ".." || !UsableName().IsMatch(process.Name))
            {
                return $"Process name '{process.Name}' cannot name a log directory (use letters, digits, '.', '_', '-')";
            }

            if (!seen.Add(process.Name))
            {
                return $"Two processes are named '{process.Name}'";
            }

            if (process.MaxFailures < 0)
            {
                return $"Process '{process.Name}' has max_failures {process.MaxFailures}; it must be 0 (retry forever) or more";
            }

            if (LoggerProblem(process.Logger, $"Process '{process.Name}'") is { } loggerProblem)
            {
                return loggerProblem;
            }
        }

        return LoggerProblem(launch.DefaultLogger, "The task's default logger")
            ?? OrderProblem(launch)
            ?? ContainerProblem(launch)
            ?? HealthCheckProblem(launch);
    }

    private static string? LoggerProblem(LoggerSpec? logger, string owner) =>
        logger is null || string.IsNullOrEmpty(logger.Mode) || logger.Mode is LoggerSpec.Standard or LoggerSpec.Rotate
            ? null
            : $"{owner} has logger mode '{logger.Mode}'; expected '{LoggerSpec.Standard}' or '{LoggerSpec.Rotate}'";

    private string? OrderProblem(TaskLaunch launch)
    {
        foreach (var order in launch.ProcessOrder)
        {
            for (var i = 0; i < order.Count; i++)
            {
                if (!_specs.ContainsKey(order[i]))
                {
                    return $"An order constraint names process '{order[i]}', which the task does not have";
                }

                if (i == 0)
                {
                    continue;
                }

                var (before, after) = (order[i - 1], order[i]);
                if (_specs[before].Final && !_specs[after].Final)
                {
                    return $"Regular process '{after}' is ordered after final process '{before}'; final processes run last";
                }

                if (!_predecessors[after].Contains(before, StringComparer.Ordinal))
                {
                    _predecessors[after].Add(before);
                }
            }
        }

        // Kahn's algorithm: whatever cannot be ordered is on a cycle and would never start.
        var remaining = _predecessors.ToDictionary(p => p.Key, p => p.Value.Count, StringComparer.Ordinal);
        var ready = new Queue<string>(remaining.Where(p => p.Value == 0).Select(p => p.Key));
        while (ready.TryDequeue(out var name))
        {
            remaining.Remove(name);
            foreach (var (next, predecessors) in _predecessors)
            {
                if (predecessors.Contains(name, StringComparer.Ordinal) && remaining.ContainsKey(next) && --remaining[next] == 0)
                {
                    ready.Enqueue(next);
                }
            }
        }

        return remaining.Count == 0
            ? null
            : $"The order constraints form a cycle through {string.Join(", ", remaining.Keys.Order(StringComparer.Ordinal).Select(n => $"'{n}'"))}";
    }

    private string? ContainerProblem(TaskLaunch launch)
    {
        if (launch.Container is not { } container)
        {
            return null;
        }

        foreach (var mount in launch.GlobalMounts.Concat(container.Volumes))
        {
            if (!Path.IsPathFullyQualified(mount.HostPath) || !mount.ContainerPath.StartsWith('/'))
            {
                return $"Mount '{mount.HostPath}:{mount.ContainerPath}' must name absolute paths on both sides";
            }
        }

        var host = _context.Options.Hostname;
        return _context.Options.ContainerEngineAvailable
            ? $"Task needs a {container.Kind} container (image {container.Image}); agent {host} has a container engine, but this build of the executor cannot run containers yet"
            : $"Task needs a {container.Kind} container (image {container.Image}) but no container engine is available on agent {host}";
    }

    private static string? HealthCheckProblem(TaskLaunch launch)
    {
        if (launch.HealthCheck is not { } check)
        {
            return null;
        }

        switch (check.Kind)
        {
            case HealthCheckSpec.Http when !launch.Ports.ContainsKey(HealthChecker.HealthPort):
                var ports = launch.Ports.Count == 0 ? "no ports" : "ports " + string.Join(", ", launch.Ports.Keys.Order(StringComparer.Ordinal));
                return $"The http health check needs a port named '{HealthChecker.HealthPort}', but the task has {ports}";
            case HealthCheckSpec.Http:
                return null;
            case HealthCheckSpec.Shell when string.IsNullOrWhiteSpace(check.ShellCommand):
                return "The shell health check has no shell command";
            case HealthCheckSpec.Shell:
                return null;
            default:
                return $"Health check kind '{check.Kind}' is unknown; expected '{HealthCheckSpec.Http}' or '{HealthCheckSpec.Shell}'";
        }
    }

    /// <summary>Binds the template variables of every command and builds the processes' environment.</summary>
    private string? Bind(TaskLaunch launch)
    {
        var template = new CommandTemplate(launch, _context.Options.Hostname, RunAsName);
        foreach (var process in launch.Processes)
        {
            if (!template.TryBind(process.Cmdline, $"Process '{process.Name}'", out var command, out var error))
            {
                return error;
            }

            _commands[process.Name] = command;
        }

        if (launch.HealthCheck is { Kind: HealthCheckSpec.Shell, ShellCommand: { } shell })
        {
            if (!template.TryBind(shell, "The shell health check", out var command, out var error))
            {
                return error;
            }

            _healthCommand = command;
        }

        foreach (var (name, value) in _context.InheritedEnvironment())
        {
            _environment[name] = value;
        }

        if (_roleUser is { } user)
        {
            // As login(1) would: the role's home, whatever the agent's is.
            _environment["HOME"] = user.Home;
            _environment["USER"] = user.Name;
            _environment["LOGNAME"] = user.Name;
        }

        var instance = launch.InstanceId.ToString(CultureInfo.InvariantCulture);
        _environment["MESOS_SANDBOX"] = Sandbox;
        _environment["THERMOS_TASK_ID"] = launch.TaskId;
        _environment["AURORA_TASK_ID"] = launch.TaskId;
        _environment["AURORA_INSTANCE"] = instance;
        _environment["MESOS_INSTANCE"] = instance;
        _environment["AURORA_JOB"] = $"{launch.Role}/{launch.Environment}/{launch.JobName}";
        _environment["AURORA_ROLE"] = launch.Role;
        _environment["AURORA_ENVIRONMENT"] = launch.Environment;
        _environment["AURORA_JOB_NAME"] = launch.JobName;
        _environment["MESOS_HOSTNAME"] = _context.Options.Hostname;
        foreach (var (name, port) in launch.Ports)
        {
            var variable = VariableName(name);
            var value = port.ToString(CultureInfo.InvariantCulture);
            _environment["PORT_" + variable] = value;
            _environment["THERMOS_PORT_" + variable] = value;
        }

        return null;
    }

    /// <summary>A port name as an environment variable suffix: upper case, anything but letters and digits as '_'.</summary>
    internal static string VariableName(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_');
        }

        return builder.ToString();
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex UsableName();
}
