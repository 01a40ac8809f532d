using System.Globalization;
using System.Text.RegularExpressions;
using Aurora.Agent.Protocol;

namespace Aurora.Agent.Executor;

/// <summary>
/// Binds the Thermos template variables the client leaves for the executor ({{thermos.ports[http]}},
/// {{thermos.task_id}}, {{mesos.instance}}, ...). An unknown variable is an error naming it, never a
/// silent blank: a command run with a hole in it fails later and far less clearly.
/// </summary>
internal sealed partial class CommandTemplate
{
    private readonly TaskLaunch _launch;
    private readonly Dictionary<string, string> _values;

    public CommandTemplate(TaskLaunch launch, string hostname, string user)
    {
        _launch = launch;
        var instance = launch.InstanceId.ToString(CultureInfo.InvariantCulture);
        _values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["thermos.task_id"] = launch.TaskId,
            ["thermos.user"] = user,
            ["mesos.instance"] = instance,
            ["mesos.hostname"] = hostname,
            ["mesos.role"] = launch.Role,
            ["role"] = launch.Role,
            ["environment"] = launch.Environment,
            ["mesos.environment"] = launch.Environment,
            ["job"] = launch.JobName,
            ["mesos.job"] = launch.JobName,
        };
    }

    /// <summary>The names this template binds besides <c>thermos.ports[NAME]</c>.</summary>
    public IEnumerable<string> KnownNames => _values.Keys;

    /// <summary>Binds every variable in <paramref name="text"/>; <paramref name="error"/> names the first that cannot be bound.</summary>
    public bool TryBind(string text, string where, out string bound, out string? error)
    {
        string? firstError = null;
        bound = Variable().Replace(text, match =>
        {
            var name = match.Groups["name"].Value;
            if (Resolve(name, out var value, out var problem))
            {
                return value;
            }

            firstError ??= $"{where} uses {match.Value}, {problem}";
            return match.Value;
        });
        error = firstError;
        return error is null;
    }

    private bool Resolve(string name, out string value, out string problem)
    {
        problem = "";
        var port = PortVariable().Match(name);
        if (port.Success)
        {
            var portName = port.Groups["port"].Value;
            if (_launch.Ports.TryGetValue(portName, out var number))
            {
                value = number.ToString(CultureInfo.InvariantCulture);
                return true;
            }

            value = "";
            problem = _launch.Ports.Count == 0
                ? $"but the task has no ports (asked for port '{portName}')"
                : $"but the task has no port named '{portName}' (it has {string.Join(", ", _launch.Ports.Keys.Order(StringComparer.Ordinal))})";
            return false;
        }

        if (_values.TryGetValue(name, out var known))
        {
            value = known;
            return true;
        }

        value = "";
        problem = $"an unknown template variable (the executor binds thermos.ports[NAME], {string.Join(", ", _values.Keys)})";
        return false;
    }

    [GeneratedRegex(@"\{\{\s*(?<name>[^{}]*?)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Variable();

    [GeneratedRegex(@"^thermos\.ports\[\s*['""]?(?<port>[^\]'""]+?)['""]?\s*\]$", RegexOptions.CultureInvariant)]
    private static partial Regex PortVariable();
}
