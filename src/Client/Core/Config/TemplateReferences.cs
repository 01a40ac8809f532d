using System.Text.RegularExpressions;
using Aurora.Scheduler.Model;

namespace Aurora.Client.Config;

/// <summary>
/// Pystachio's <c>{{...}}</c> references. Aurora.NET interpolates none of them in the client; the
/// ones Aurora binds only on the agent (<c>thermos.ports[NAME]</c>, <c>thermos.task_id</c>,
/// <c>mesos.instance</c>, <c>mesos.hostname</c>) are kept for the agent to fill in, and any other
/// is an error, as Aurora's "Config contains unbound variables". As in Aurora, the ports a task
/// asks for are the names its <c>thermos.ports[NAME]</c> references use.
/// </summary>
internal static partial class TemplateReferences
{
    private static readonly string[] RuntimeReferences = ["thermos.task_id", "mesos.instance", "mesos.hostname"];

    /// <summary>The port names referenced anywhere under <paramref name="node"/>, in order of first use.</summary>
    public static List<string> CollectPorts(string source, string path, ConfigNode node)
    {
        var ports = new List<string>();
        Walk(source, path, node, ports);
        return ports;
    }

    private static void Walk(string source, string path, ConfigNode node, List<string> ports)
    {
        switch (node)
        {
            case ScalarNode { Kind: ScalarKind.String } scalar:
                foreach (Match match in Reference().Matches(scalar.Text))
                {
                    var port = Check(source, path, scalar, match.Groups[1].Value.Trim());
                    if (port is not null && !ports.Contains(port))
                    {
                        ports.Add(port);
                    }
                }

                break;
            case ListNode list:
                for (var i = 0; i < list.Items.Count; i++)
                {
                    Walk(source, FieldPath.Index(path, i), list.Items[i], ports);
                }

                break;
            case MapNode map:
                foreach (var (key, value) in map.Entries)
                {
                    Walk(source, FieldPath.Field(path, key), value, ports);
                }

                break;
        }
    }

    /// <summary>The port name when the reference is to a port; null for another run-time reference.</summary>
    private static string? Check(string source, string path, ScalarNode node, string reference)
    {
        var port = PortReference().Match(reference);
        if (port.Success)
        {
            var name = port.Groups[1].Value;
            return JobKeys.IsGoodIdentifier(name)
                ? name
                : throw Values.Fail(source, path, node, $"port name {Quoting.Quote(name)} in {{{{{reference}}}}} must be {JobKeys.IdentifierRule}");
        }

        if (reference.StartsWith("thermos.ports", StringComparison.Ordinal))
        {
            throw Values.Fail(source, path, node, $"bad port reference {{{{{reference}}}}}: write {{{{thermos.ports[NAME]}}}}");
        }

        if (RuntimeReferences.Contains(reference))
        {
            return null;
        }

        throw Values.Fail(source, path, node,
            $"{{{{{reference}}}}} is not bound: Aurora.NET does not interpolate templates in the client; only "
            + "{{thermos.ports[NAME]}}, {{thermos.task_id}}, {{mesos.instance}} and {{mesos.hostname}} are kept, for the agent to fill in");
    }

    [GeneratedRegex(@"\{\{(.*?)\}\}", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex Reference();

    [GeneratedRegex(@"\Athermos\.ports\[([^\[\]]*)\]\z", RegexOptions.CultureInvariant)]
    private static partial Regex PortReference();
}
