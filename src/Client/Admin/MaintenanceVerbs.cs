using Aurora.Client;
using Aurora.Client.Api;
using Aurora.Client.Commands;
using Aurora.CommandLine;

namespace Aurora.Admin;

/// <summary>Host maintenance: <c>host_deactivate</c>, <c>host_drain</c>, <c>host_activate</c>, <c>host_status</c>.</summary>
internal static class MaintenanceVerbs
{
    private static readonly FlagSpec Hosts = new("hosts", "the hosts, comma-separated", "HOST[,HOST...]");
    private static readonly FlagSpec Filename = new("filename", "a file with one host per line (# comments allowed)", "FILE");

    public static IReadOnlyList<Verb> All { get; } =
    [
        Change("host_deactivate", MaintenanceAction.Deactivate, "put hosts in maintenance (SCHEDULED): no new tasks prefer them"),
        Change("host_drain", MaintenanceAction.Drain, "drain hosts: their tasks are moved away, then the hosts are DRAINED"),
        Change("host_activate", MaintenanceAction.Activate, "take hosts out of maintenance (NONE)"),
        new Verb("host_status", "CLUSTER", "show the maintenance mode of hosts (every host in maintenance without --hosts)", 1, 1,
            [Hosts, Filename, AdminCli.Json], StatusAsync,
            "--json prints {\"cluster\", \"hosts\": [{\"host\", \"mode\"}]}."),
    ];

    private static Verb Change(string name, MaintenanceAction action, string summary) =>
        new(name, "CLUSTER", summary, 1, 1, [Hosts, Filename], (context, arguments) => ChangeAsync(context, arguments, action),
            $"Give the hosts with --hosts or --filename, not both.\nexample: aurora_admin {name} devcluster --hosts=agent1,agent2");

    private static async Task<int> ChangeAsync(CommandContext context, ParsedFlags arguments, MaintenanceAction action)
    {
        var cluster = arguments.Positionals[0];
        var hosts = ReadHosts(arguments, required: true)!;
        var result = await context.Client(cluster).ChangeMaintenanceAsync(action, hosts, context.Cancellation).ConfigureAwait(false);
        var what = action switch
        {
            MaintenanceAction.Deactivate => "Maintenance scheduled for",
            MaintenanceAction.Drain => "Drain started for",
            _ => "Maintenance ended for",
        };
        context.Output.Done($"{what} {string.Join(", ", hosts)}", result);
        return ExitCodes.Ok;
    }

    private static async Task<int> StatusAsync(CommandContext context, ParsedFlags arguments)
    {
        var cluster = arguments.Positionals[0];
        var hosts = ReadHosts(arguments, required: false);
        var statuses = await context.Client(cluster).GetMaintenanceAsync(hosts, context.Cancellation).ConfigureAwait(false);
        if (arguments.GetSwitch("json"))
        {
            context.Output.Json(new System.Text.Json.Nodes.JsonObject
            {
                ["cluster"] = cluster,
                ["hosts"] = new System.Text.Json.Nodes.JsonArray([.. statuses.Select(s => s.DeepClone())]),
            });
            return ExitCodes.Ok;
        }

        if (statuses.Count == 0)
        {
            context.Output.Note(hosts is null ? "no host is in maintenance" : "the scheduler knows none of these hosts");
            return ExitCodes.Ok;
        }

        context.Output.Table(
            ["HOST", "MODE"],
            statuses.OrderBy(s => Views.String(s, "host"), StringComparer.Ordinal)
                .Select(s => (IReadOnlyList<string?>)[Views.String(s, "host"), Views.EnumName(Views.String(s, "mode"), "MAINTENANCE_MODE_")]));
        return ExitCodes.Ok;
    }

    /// <summary>The hosts of <c>--hosts</c> or <c>--filename</c>; null when neither is given and none are required.</summary>
    internal static IReadOnlyList<string>? ReadHosts(ParsedFlags arguments, bool required)
    {
        var list = arguments.GetString("hosts");
        var file = arguments.GetString("filename");
        if (list is not null && file is not null)
        {
            throw new UsageException("give the hosts with --hosts or --filename, not both");
        }

        IEnumerable<string> hosts;
        string source;
        if (list is not null)
        {
            hosts = list.Split(',');
            source = "--hosts";
        }
        else if (file is not null)
        {
            try
            {
                hosts = File.ReadAllLines(file).Select(l => l.Split('#')[0]);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--filename: cannot read {file}: {e.Message}");
            }

            source = file;
        }
        else if (required)
        {
            throw new UsageException("give the hosts with --hosts=HOST[,HOST...] or --filename=FILE");
        }
        else
        {
            return null;
        }

        var result = hosts.Select(h => h.Trim()).Where(h => h.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        if (result.Count == 0)
        {
            throw new UsageException($"no hosts found in {source}");
        }

        var bad = result.FirstOrDefault(h => h.Any(char.IsWhiteSpace) || h.Contains('/', StringComparison.Ordinal));
        return bad is null ? result : throw new UsageException($"bad host name '{bad}' in {source}");
    }
}
