using System.Globalization;
using Aurora.Client;
using Aurora.Client.Api;
using Aurora.Client.Commands;
using Aurora.CommandLine;
using Aurora.Scheduler.Protos;

namespace Aurora.Admin;

/// <summary>Host maintenance: <c>host_deactivate</c>, <c>host_drain</c>, <c>sla_host_drain</c>, <c>host_activate</c>, <c>host_status</c>.</summary>
internal static class MaintenanceVerbs
{
    private static readonly FlagSpec Hosts = new("hosts", "the hosts, comma-separated", "HOST[,HOST...]");
    private static readonly FlagSpec Filename = new("filename", "a file with one host per line (# comments allowed)", "FILE");
    private static readonly FlagSpec DefaultPercentage = new("default_percentage", "the percentage of a job's tasks that must stay RUNNING, for jobs without their own sla_policy (0 < P <= 100)", "P");
    private static readonly FlagSpec DefaultCount = new("default_count", "the number of a job's tasks that must stay RUNNING, for jobs without their own sla_policy (at least 1)", "N");
    private static readonly FlagSpec DefaultDuration = new("default_duration", "how long those tasks must have been RUNNING (30m, 2h, 1d, or seconds)", "DURATION");
    private static readonly FlagSpec ForceDrainTimeout = new("force_drain_timeout", "after this long, the tasks still on the hosts are drained regardless of SLA (30m, 2h, 1d, or seconds)", "DURATION");

    public static IReadOnlyList<Verb> All { get; } =
    [
        Change("host_deactivate", MaintenanceAction.Deactivate, "put hosts in maintenance (SCHEDULED): no new tasks prefer them"),
        Change("host_drain", MaintenanceAction.Drain, "drain hosts: their tasks are moved away, then the hosts are DRAINED"),
        new Verb("sla_host_drain", "CLUSTER", "drain hosts as their jobs' SLA allows, and the rest after --force_drain_timeout", 1, 1,
            [Hosts, Filename, DefaultPercentage, DefaultCount, DefaultDuration, ForceDrainTimeout], SlaDrainAsync,
            "Give the hosts with --hosts or --filename, not both, and the default SLA with --default_percentage or --default_count, not both.\n"
            + "A task leaves a host only while its job keeps its SLA (the job's own sla_policy, else the default), at most one task per job per round.\n"
            + "example: aurora_admin sla_host_drain devcluster --hosts=agent1,agent2 --default_percentage=95 --default_duration=30m --force_drain_timeout=2h"),
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

    private static async Task<int> SlaDrainAsync(CommandContext context, ParsedFlags arguments)
    {
        var cluster = arguments.Positionals[0];
        var hosts = ReadHosts(arguments, required: true)!;
        var policy = DefaultSlaPolicy(arguments);
        var timeoutSecs = Seconds(arguments, "force_drain_timeout");
        var result = await context.Client(cluster).SlaDrainHostsAsync(hosts, policy, timeoutSecs, context.Cancellation).ConfigureAwait(false);
        var sla = policy.KindCase == SlaPolicy.KindOneofCase.Percentage
            ? string.Create(CultureInfo.InvariantCulture, $"{policy.Percentage.Percentage}% of each job RUNNING for {Amounts.FormatDuration(TimeSpan.FromSeconds(policy.Percentage.DurationSecs))}")
            : string.Create(CultureInfo.InvariantCulture, $"{policy.Count.Count} tasks of each job RUNNING for {Amounts.FormatDuration(TimeSpan.FromSeconds(policy.Count.DurationSecs))}");
        context.Output.Done($"SLA-aware drain started for {string.Join(", ", hosts)} (default SLA {sla}; forced after {Amounts.FormatDuration(TimeSpan.FromSeconds(timeoutSecs))})", result);
        return ExitCodes.Ok;
    }

    /// <summary>The default policy of <c>--default_percentage</c> or <c>--default_count</c>, with <c>--default_duration</c>.</summary>
    internal static SlaPolicy DefaultSlaPolicy(ParsedFlags arguments)
    {
        var percentageText = arguments.GetString("default_percentage");
        var countText = arguments.GetString("default_count");
        if (percentageText is not null && countText is not null)
        {
            throw new UsageException("give the default SLA with --default_percentage or --default_count, not both");
        }

        if (percentageText is null && countText is null)
        {
            throw new UsageException("give the default SLA with --default_percentage=P or --default_count=N");
        }

        var durationSecs = Seconds(arguments, "default_duration");
        if (percentageText is not null)
        {
            return double.TryParse(percentageText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var percentage) && percentage > 0 && percentage <= 100
                ? new SlaPolicy { Percentage = new PercentageSlaPolicy { Percentage = percentage, DurationSecs = durationSecs } }
                : throw new UsageException($"--default_percentage must be a number greater than 0 and at most 100, got '{percentageText}'");
        }

        return long.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count >= 1
            ? new SlaPolicy { Count = new CountSlaPolicy { Count = count, DurationSecs = durationSecs } }
            : throw new UsageException($"--default_count must be a whole number of at least 1, got '{countText}'");
    }

    /// <summary>A duration flag in whole seconds, as the scheduler takes it (at most <see cref="int.MaxValue"/>).</summary>
    internal static long Seconds(ParsedFlags arguments, string flag)
    {
        var text = arguments.GetString(flag) ?? throw new UsageException($"missing flag --{flag}=DURATION (30m, 2h, 1d, or seconds)");
        return Amounts.TryParseDuration(text, TimeSpan.FromSeconds(1), out var duration) && duration.Ticks % TimeSpan.TicksPerSecond == 0 && duration.TotalSeconds <= int.MaxValue
            ? (long)duration.TotalSeconds
            : throw new UsageException($"--{flag} must be a duration in whole seconds such as 30m, 2h, 1d or 90, got '{text}'");
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
