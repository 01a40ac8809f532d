using Aurora.Client;
using Aurora.Client.Commands;
using Aurora.CommandLine;

namespace Aurora.Admin;

/// <summary>The <c>aurora_admin</c> client: <c>aurora_admin VERB ...</c> (docs/clients.md).</summary>
public static class AdminCli
{
    internal static readonly FlagSpec Json = CommandLineApp.JsonFlag;

    internal static readonly CommandLineApp App = new(
        "aurora_admin",
        "aurora_admin: the operator's client for an Aurora.NET cluster (quota, tasks, backups and recovery, maintenance).",
        [.. QuotaVerbs.All, .. QueryVerb.All, .. RecoveryVerbs.All, .. MaintenanceVerbs.All, .. SchedulerVerbs.All]);

    /// <summary>Runs one command line; returns the exit code (<see cref="ExitCodes"/>).</summary>
    public static Task<int> RunAsync(
        IReadOnlyList<string> args,
        TextWriter stdout,
        TextWriter stderr,
        ClientEnvironment environment,
        CancellationToken cancellationToken = default) =>
        App.RunAsync(args, stdout, stderr, environment, cancellationToken);
}
