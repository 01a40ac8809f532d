using System.Globalization;
using System.Text.Json.Nodes;
using Aurora.Client;
using Aurora.Client.Api;
using Aurora.Client.Commands;
using Aurora.CommandLine;
using Aurora.Scheduler.Model;

namespace Aurora.Cli;

/// <summary><c>aurora quota ...</c>.</summary>
internal static class QuotaCommands
{
    public static Noun Noun { get; } = new("quota", "see a role's resource quota", [
        new Verb("get", "CLUSTER/ROLE", "show a role's quota and what its jobs consume", 1, 1, [AuroraCli.Json], GetAsync,
            "--json prints the scheduler's view: {\"role\", \"quota\": {\"numCpus\", \"ramMb\", \"diskMb\"}, \"prodSharedConsumption\", ...}."),
    ]);

    private static readonly (string Field, string Label)[] Pools =
    [
        ("quota", "quota"),
        ("prodSharedConsumption", "production, shared"),
        ("prodDedicatedConsumption", "production, dedicated"),
        ("nonProdSharedConsumption", "non-production, shared"),
        ("nonProdDedicatedConsumption", "non-production, dedicated"),
    ];

    private static async Task<int> GetAsync(CommandContext context, ParsedFlags arguments)
    {
        var text = arguments.Positionals[0];
        var parts = text.Split('/');
        if (parts.Length != 2 || parts[0].Length == 0 || !JobKeys.IsGoodIdentifier(parts[1]))
        {
            throw new UsageException($"bad role '{text}': expected CLUSTER/ROLE");
        }

        var view = await context.Client(parts[0]).GetQuotaAsync(parts[1], context.Cancellation).ConfigureAwait(false);
        if (arguments.GetSwitch("json"))
        {
            context.Output.Json(view);
            return ExitCodes.Ok;
        }

        context.Output.Line($"Quota of role {parts[1]} in {parts[0]}:");
        context.Output.Table(
            ["", "CPU", "RAM", "DISK"],
            Pools.Where(p => view[p.Field] is JsonObject).Select(p => Row(p.Label, Views.Child(view, p.Field))));
        return ExitCodes.Ok;
    }

    private static IReadOnlyList<string?> Row(string label, JsonObject? resources) =>
    [
        label,
        (Views.Double(resources, "numCpus") ?? 0).ToString("0.###", CultureInfo.InvariantCulture),
        Megabytes(Views.Long(resources, "ramMb") ?? 0),
        Megabytes(Views.Long(resources, "diskMb") ?? 0),
    ];

    private static string Megabytes(long megabytes) => megabytes == 0 ? "0" : Amounts.FormatBytes(megabytes << 20);
}
