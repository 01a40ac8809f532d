namespace Aurora.Client;

/// <summary>How the client proves who it is to a cluster's scheduler (clusters.json <c>auth_mechanism</c>).</summary>
public enum AuthMechanism
{
    /// <summary>No credentials; the scheduler records the <c>X-Aurora-User</c> header.</summary>
    Unauthenticated,

    /// <summary>HTTP BASIC with the login and password that <c>~/.netrc</c> holds for the scheduler's host.</summary>
    Basic,
}

/// <summary>One entry of clusters.json.</summary>
/// <param name="Source">The file that defined it, or <see cref="Clusters.BuiltIn"/>; errors name it.</param>
public sealed record Cluster(
    string Name,
    Uri? SchedulerUri,
    string? Zk,
    int ZkPort,
    string? SchedulerZkPath,
    AuthMechanism AuthMechanism,
    string? ProxyUrl,
    string Source)
{
    /// <summary>
    /// Where to send API requests. A cluster that only names ZooKeeper fails here, with a clear
    /// message, rather than when clusters.json is read, so other clusters in the file stay usable.
    /// </summary>
    public Uri RequireSchedulerUri()
    {
        if (SchedulerUri is not null)
        {
            return SchedulerUri;
        }

        if (Zk is not null)
        {
            throw new ClientException(
                ExitCodes.InvalidConfiguration,
                $"cluster '{Name}' ({Source}) names only ZooKeeper (zk: {Zk}): ZooKeeper discovery is not supported by this client yet; add \"scheduler_uri\": \"http://HOST:8081\" to the cluster");
        }

        throw new ClientException(
            ExitCodes.InvalidConfiguration,
            $"cluster '{Name}' ({Source}) has no scheduler_uri: add \"scheduler_uri\": \"http://HOST:8081\" to the cluster");
    }

    /// <summary>The base for links shown to people: <c>proxy_url</c> when set, else the scheduler URI.</summary>
    public string? WebBase => (ProxyUrl ?? SchedulerUri?.ToString())?.TrimEnd('/');
}
