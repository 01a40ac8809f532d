using Aurora.CommandLine;

namespace Aurora.Client.Commands;

/// <summary>Runs one verb; returns its exit code or throws a <see cref="ClientException"/> / <see cref="UsageException"/>.</summary>
public delegate Task<int> VerbHandler(CommandContext context, ParsedFlags arguments);

/// <summary>One command: <c>aurora job create</c>, <c>aurora_admin set_quota</c>.</summary>
/// <param name="Arguments">The positional arguments as shown in usage, e.g. <c>CLUSTER/ROLE/ENV/NAME CONFIG</c>.</param>
/// <param name="MinArguments">How many positionals are required.</param>
/// <param name="MaxArguments">How many positionals are accepted.</param>
/// <param name="Details">More help, shown by <c>-help</c> on the verb; examples welcome.</param>
public sealed record Verb(
    string Name,
    string Arguments,
    string Summary,
    int MinArguments,
    int MaxArguments,
    IReadOnlyList<FlagSpec> Flags,
    VerbHandler Run,
    string? Details = null);

/// <summary>A group of verbs: <c>aurora job</c>, <c>aurora update</c>.</summary>
public sealed record Noun(string Name, string Summary, IReadOnlyList<Verb> Verbs);
