using Aurora.Client;
using Aurora.Client.Commands;
using Aurora.CommandLine;

namespace Aurora.Cli;

/// <summary>The <c>aurora</c> client: <c>aurora NOUN VERB ...</c> (docs/clients.md).</summary>
public static class AuroraCli
{
    internal static readonly FlagSpec Json = CommandLineApp.JsonFlag;

    internal static readonly CommandLineApp App = new(
        "aurora",
        "aurora: runs and updates jobs on an Aurora.NET cluster.",
        [JobCommands.Noun, UpdateCommands.Noun, CronCommands.Noun, QuotaCommands.Noun]);

    /// <summary>Runs one command line; returns the exit code (<see cref="ExitCodes"/>).</summary>
    public static Task<int> RunAsync(
        IReadOnlyList<string> args,
        TextWriter stdout,
        TextWriter stderr,
        ClientEnvironment environment,
        CancellationToken cancellationToken = default) =>
        App.RunAsync(args, stdout, stderr, environment, cancellationToken);

    /// <summary>The job's page in the web UI.</summary>
    internal static string JobLink(Cluster cluster, JobKeyArgument key) =>
        $"{cluster.WebBase}/scheduler/{key.Key.Role}/{key.Key.Environment}/{key.Key.Name}";
}
