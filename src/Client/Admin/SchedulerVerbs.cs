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
        new Verb("get_scheduler", "CLUSTER", "show the leading scheduler, the state of the replica that answers and, asked of the leader, every replica's progress", 1, 1, [AdminCli.Json], GetAsync,
            "--json prints the scheduler's view: {\"cluster\", \"leader\", \"leading\", \"replica\": {...}, \"replicas\": [...]}."),
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

        // Every replica as the answering one knows them: the leader knows each follower's progress.
        var replicas = Views.List(view, "replicas");
        if (replicas.Count > 1)
        {
            context.Output.Line(string.Empty);
            context.Output.Table(
                ["REPLICA", "STATUS", "LEADER", "TERM", "APPENDED", "COMMITTED", "APPLIED", "SNAPSHOT", "MATCH", "LAG"],
                replicas.Select(r => (IReadOnlyList<string?>)
                [
                    Views.String(r, "id") + (Views.Bool(r, "self") == true ? " (asked)" : string.Empty),
                    Views.String(r, "status"),
                    Views.Bool(r, "leader") == true ? "yes" : string.Empty,
                    .. new[] { "term", "appendedPosition", "committedPosition", "appliedPosition", "lastSnapshotPosition", "matchPosition", "lag" }
                        .Select(field => Views.Long(r, field)?.ToString(CultureInfo.InvariantCulture)),
                ]));
        }

        return ExitCodes.Ok;
    }
}
