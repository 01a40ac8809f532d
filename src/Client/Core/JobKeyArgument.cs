using Aurora.CommandLine;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Client;

/// <summary>
/// A job key on the command line, <c>cluster/role/env/name</c>, optionally followed by
/// <c>/instances</c> (<c>0</c>, <c>0-3</c>, <c>0,2,5-7</c>).
/// </summary>
/// <param name="Instances">Null when the argument names no instances (the whole job).</param>
public sealed record JobKeyArgument(string Cluster, JobKey Key, IReadOnlyList<int>? Instances)
{
    /// <summary><c>cluster/role/env/name</c>, without instances.</summary>
    public string Text => $"{Cluster}/{Key.Canonical()}";

    public override string ToString() => Instances is null ? Text : $"{Text}/{InstanceRanges.Format(Instances)}";

    /// <summary>Parses <c>cluster/role/env/name</c>; instances are refused.</summary>
    public static JobKeyArgument Parse(string text) => Parse(text, allowInstances: false);

    /// <summary>Parses <c>cluster/role/env/name[/instances]</c>.</summary>
    public static JobKeyArgument ParseWithInstances(string text) => Parse(text, allowInstances: true);

    private static JobKeyArgument Parse(string text, bool allowInstances)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        var expected = allowInstances ? "cluster/role/env/name[/instances]" : "cluster/role/env/name";
        if (parts.Length != 4 && !(allowInstances && parts.Length == 5))
        {
            throw new UsageException($"bad job key '{text}': expected {expected}");
        }

        var cluster = parts[0];
        if (cluster.Length == 0 || cluster.Any(char.IsWhiteSpace))
        {
            throw new UsageException($"bad job key '{text}': expected {expected}, and the cluster name is empty");
        }

        var key = JobKeys.Create(parts[1], parts[2], parts[3]);
        if (JobKeys.Problem(key) is { } problem)
        {
            throw new UsageException($"bad job key '{text}': {problem}");
        }

        var instances = parts.Length == 5 ? InstanceRanges.Parse(parts[4], $"job key '{text}'") : null;
        return new JobKeyArgument(cluster, key, instances);
    }
}

/// <summary>
/// What <c>job status</c>, <c>job list</c> and <c>update list</c> accept: <c>cluster</c>,
/// <c>cluster/role</c>, <c>cluster/role/env</c> or <c>cluster/role/env/name</c>, where <c>*</c> in any
/// part means any. Null parts are not filtered on.
/// </summary>
public sealed record JobSpec(string Cluster, string? Role, string? Environment, string? Name)
{
    /// <summary>True when every part is given, so the spec names exactly one job.</summary>
    public bool IsSingleJob => Role is not null && Environment is not null && Name is not null;

    public JobKey? Key => IsSingleJob ? JobKeys.Create(Role!, Environment!, Name!) : null;

    public override string ToString() =>
        string.Join('/', new[] { Cluster, Role ?? "*", Environment ?? "*", Name ?? "*" }.Reverse().SkipWhile(p => p == "*").Reverse());

    /// <param name="minParts">1 for <c>cluster</c> alone, 2 when at least a role is required.</param>
    public static JobSpec Parse(string text, int minParts = 1)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split('/');
        var expected = minParts >= 2 ? "cluster/role[/env[/name]]" : "cluster[/role[/env[/name]]]";
        if (parts.Length < minParts || parts.Length > 4 || parts[0].Length == 0 || parts[0] == "*")
        {
            throw new UsageException($"bad job key '{text}': expected {expected}");
        }

        string? Part(int index, string what)
        {
            if (index >= parts.Length || parts[index] == "*")
            {
                return null;
            }

            return JobKeys.IsGoodIdentifier(parts[index])
                ? parts[index]
                : throw new UsageException($"bad job key '{text}': the {what} '{parts[index]}' must be {JobKeys.IdentifierRule} (or be * for any)");
        }

        return new JobSpec(parts[0], Part(1, "role"), Part(2, "environment"), Part(3, "name"));
    }
}
