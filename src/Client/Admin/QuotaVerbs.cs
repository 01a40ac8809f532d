using System.Globalization;
using Aurora.Client;
using Aurora.Client.Api;
using Aurora.Client.Commands;
using Aurora.CommandLine;
using Aurora.Scheduler.Model;

namespace Aurora.Admin;

/// <summary><c>set_quota</c> and <c>increase_quota</c>.</summary>
internal static class QuotaVerbs
{
    private const string Details =
        "RAM and DISK take units as in Aurora: 512MB, 2GB, 1TB (binary multiples); a bare number is megabytes.\n"
        + "example: aurora_admin set_quota devcluster www-data 4 8GB 16GB";

    public static IReadOnlyList<Verb> All { get; } =
    [
        new Verb("set_quota", "CLUSTER ROLE CPU RAM DISK", "set a role's quota", 5, 5, [], SetAsync, Details),
        new Verb("increase_quota", "CLUSTER ROLE CPU RAM DISK", "add to a role's quota", 5, 5, [], IncreaseAsync, Details),
    ];

    /// <summary>The quota a command line asks for; a <see cref="UsageException"/> naming the bad amount.</summary>
    internal static (string Role, double Cpu, long RamMb, long DiskMb) Parse(IReadOnlyList<string> arguments)
    {
        var role = arguments[1];
        if (!JobKeys.IsGoodIdentifier(role))
        {
            throw new UsageException($"bad role '{role}': it must be {JobKeys.IdentifierRule}");
        }

        if (!double.TryParse(arguments[2], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var cpu) || !double.IsFinite(cpu))
        {
            throw new UsageException($"CPU must be a non-negative number of cores such as 4 or 0.5, got '{arguments[2]}'");
        }

        return (role, cpu, Megabytes(arguments[3], "RAM"), Megabytes(arguments[4], "DISK"));
    }

    /// <summary>A size in whole megabytes; a bare number is megabytes, as Aurora's <c>parse_data</c>.</summary>
    internal static long Megabytes(string text, string what)
    {
        const long Mb = 1L << 20;
        if (!Amounts.TryParseBytes(text, Mb, out var bytes))
        {
            throw new UsageException($"{what} must be a size such as 512MB, 2GB or a number of megabytes, got '{text}'");
        }

        if (bytes % Mb != 0)
        {
            throw new UsageException($"{what} must be a whole number of megabytes, got '{text}' ({bytes} bytes)");
        }

        return bytes / Mb;
    }

    private static async Task<int> SetAsync(CommandContext context, ParsedFlags arguments)
    {
        var cluster = arguments.Positionals[0];
        var (role, cpu, ram, disk) = Parse(arguments.Positionals);
        var result = await context.Client(cluster).SetQuotaAsync(role, cpu, ram, disk, context.Cancellation).ConfigureAwait(false);
        context.Output.Done($"Quota of role {role} in {cluster} set to {Describe(cpu, ram, disk)}", result);
        return ExitCodes.Ok;
    }

    private static async Task<int> IncreaseAsync(CommandContext context, ParsedFlags arguments)
    {
        var cluster = arguments.Positionals[0];
        var (role, cpu, ram, disk) = Parse(arguments.Positionals);
        var client = context.Client(cluster);
        var current = Views.Child(await client.GetQuotaAsync(role, context.Cancellation).ConfigureAwait(false), "quota");
        var oldCpu = Views.Double(current, "numCpus") ?? 0;
        var oldRam = Views.Long(current, "ramMb") ?? 0;
        var oldDisk = Views.Long(current, "diskMb") ?? 0;
        var (newCpu, newRam, newDisk) = (oldCpu + cpu, oldRam + ram, oldDisk + disk);
        var result = await client.SetQuotaAsync(role, newCpu, newRam, newDisk, context.Cancellation).ConfigureAwait(false);
        context.Output.Done($"Quota of role {role} in {cluster} increased from {Describe(oldCpu, oldRam, oldDisk)} to {Describe(newCpu, newRam, newDisk)}", result);
        return ExitCodes.Ok;
    }

    internal static string Describe(double cpu, long ramMb, long diskMb) =>
        string.Create(CultureInfo.InvariantCulture, $"{cpu:0.###} CPU, {Amounts.FormatBytes(ramMb << 20)} RAM, {Amounts.FormatBytes(diskMb << 20)} disk");
}
