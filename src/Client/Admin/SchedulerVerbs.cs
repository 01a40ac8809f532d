using System.Globalization;
using Aurora.Client;
using Aurora.Client.Api;
using Aurora.Client.Commands;
using Aurora.CommandLine;

namespace Aurora.Admin;

/// <summary><c>get_scheduler</c>.</summary>
internal static class SchedulerVerbs
{
    public static IReadOnlyList<Verb> All { get; } =
    [
        new Verb("get_scheduler", "CLUSTER", "show the leading scheduler and the state of the replica that answers", 1, 1, [AdminCli.Json], GetAsync,
            "--json prints the scheduler's view: {\"cluster\", \"leader\", \"leading\", \"replica\": {...}}."),
    ];

    private static async Task<int> GetAsync(CommandContext context, ParsedFlags arguments)
    {
        var cluster = arguments.Positionals[0];
        var client = context.Client(cluster);
        var view = await client.GetSchedulerAsync(context.Cancellation).ConfigureAwait(false);
        if (arguments.GetSwitch("json"))
        {
            context.Output.Json(view);
            return ExitCodes.Ok;
        }

        var replica = Views.Child(view, "replica");
        var leading = Views.Bool(view, "leading");

        // A leader names no other leader: the replica that answered is the one.
        var leader = Views.String(view, "leader") ?? (leading == true ? client.BaseUri.ToString().TrimEnd('/') : null);
        string? Number(string field) => Views.Long(replica, field)?.ToString(CultureInfo.InvariantCulture);
        context.Output.Properties(
        [
            ("Cluster", Views.String(view, "cluster") ?? cluster),
            ("Leading scheduler", leader),
            ("Asked", client.BaseUri.ToString().TrimEnd('/')),
            ("Asked replica leads", leading is { } leads ? (leads ? "yes" : "no") : null),
            ("Version", Views.String(view, "version")),
            ("Replica status", Views.String(replica, "status")),
            ("Term", Number("term")),
            ("Appended position", Number("appendedPosition")),
            ("Committed position", Number("committedPosition")),
            ("Applied position", Number("appliedPosition")),
            ("Quorum size", Number("quorumSize")),
        ]);
        return ExitCodes.Ok;
    }
}
