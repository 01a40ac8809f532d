using System.Globalization;
using System.Text.Json;

namespace Aurora.Client;

/// <summary>
/// The clusters the clients know, read from clusters.json files in Aurora's search order:
/// <c>$AURORA_CONFIG_ROOT/clusters.json</c>, <c>/etc/aurora/clusters.json</c>,
/// <c>~/.aurora/clusters.json</c>. A cluster defined in several files is taken from the first.
/// When no file defines <c>devcluster</c>, a built-in one at <c>http://127.0.0.1:8081</c> (what
/// <c>aurora-scheduler -dev</c> serves) is used.
/// </summary>
/// <remarks>Immutable once loaded.</remarks>
public sealed class Clusters
{
    public const string DevClusterName = "devcluster";
    public const string DevClusterUri = "http://127.0.0.1:8081";
    public const string BuiltIn = "built-in";
    public const int DefaultZkPort = 2181;

    // Aurora's documented fields (docs/reference/client-cluster-configuration.md); the ones this
    // client does not use yet are accepted so that an Aurora clusters.json works unchanged.
    private static readonly HashSet<string> IgnoredFields = new(StringComparer.Ordinal)
    {
        "slave_root", "slave_run_directory", "docker_registry",
    };

    private static readonly string KnownFields =
        "name, scheduler_uri, zk, zk_port, scheduler_zk_path, auth_mechanism, proxy_url, slave_root, slave_run_directory, docker_registry";

    private readonly Dictionary<string, Cluster> _byName;

    private Clusters(Dictionary<string, Cluster> byName, IReadOnlyList<string> searched)
    {
        _byName = byName;
        Searched = searched;
    }

    /// <summary>Every known cluster, by name.</summary>
    public IReadOnlyList<Cluster> All => [.. _byName.Values.OrderBy(c => c.Name, StringComparer.Ordinal)];

    /// <summary>The files looked at, in order, whether they exist or not.</summary>
    public IReadOnlyList<string> Searched { get; }

    public static IReadOnlyList<string> SearchPath(ClientEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var paths = new List<string>();
        if (environment.Variable("AURORA_CONFIG_ROOT") is { } root)
        {
            paths.Add(Path.Combine(root, "clusters.json"));
        }

        paths.Add(Path.Combine(environment.SystemConfigDirectory, "clusters.json"));
        paths.Add(Path.Combine(environment.HomeDirectory, ".aurora", "clusters.json"));
        return paths;
    }

    /// <summary>Reads every clusters.json on the search path; a file that exists but is invalid is an error naming it.</summary>
    public static Clusters Load(ClientEnvironment environment)
    {
        var searched = SearchPath(environment);
        var byName = new Dictionary<string, Cluster>(StringComparer.Ordinal);
        foreach (var path in searched)
        {
            if (!File.Exists(path))
            {
                continue;
            }

            string text;
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ClientException(ExitCodes.InvalidConfiguration, $"cannot read {path}: {e.Message}", e);
            }

            foreach (var cluster in Parse(text, path))
            {
                byName.TryAdd(cluster.Name, cluster);
            }
        }

        byName.TryAdd(DevClusterName, DevCluster);
        return new Clusters(byName, searched);
    }

    /// <summary>The cluster <c>aurora-scheduler -dev</c> serves, used when no file defines <c>devcluster</c>.</summary>
    public static Cluster DevCluster { get; } =
        new(DevClusterName, new Uri(DevClusterUri), null, DefaultZkPort, null, AuthMechanism.Unauthenticated, null, BuiltIn);

    public Cluster Get(string name)
    {
        if (_byName.TryGetValue(name, out var cluster))
        {
            return cluster;
        }

        throw new ClientException(
            ExitCodes.InvalidParameter,
            $"unknown cluster '{name}': known clusters are {string.Join(", ", _byName.Keys.Order(StringComparer.Ordinal))} (from {string.Join(", ", Searched)} and the built-in devcluster)");
    }

    /// <summary>Parses one clusters.json; <paramref name="source"/> names the file in errors.</summary>
    public static IReadOnlyList<Cluster> Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw Invalid(source, $"it is not valid JSON: {e.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw Invalid(source, "it must be a JSON list of cluster objects, e.g. [{\"name\": \"devcluster\", \"scheduler_uri\": \"http://127.0.0.1:8081\"}]");
            }

            var clusters = new List<Cluster>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            var index = 0;
            foreach (var element in document.RootElement.EnumerateArray())
            {
                var cluster = ParseCluster(element, source, index);
                if (!names.Add(cluster.Name))
                {
                    throw Invalid(source, $"cluster '{cluster.Name}' is defined more than once");
                }

                clusters.Add(cluster);
                index++;
            }

            return clusters;
        }
    }

    private static Cluster ParseCluster(JsonElement element, string source, int index)
    {
        var where = $"entry {index}";
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(source, $"{where} must be an object with at least \"name\"");
        }

        string? name = null, schedulerUri = null, zk = null, zkPath = null, auth = null, proxy = null;
        var zkPort = DefaultZkPort;
        foreach (var property in element.EnumerateObject())
        {
            if (property.Name == "name")
            {
                name = String(property, source, where);
                where = $"cluster '{name}'";
            }
        }

        if (string.IsNullOrWhiteSpace(name))
        {
            throw Invalid(source, $"{where} has no \"name\"");
        }

        foreach (var property in element.EnumerateObject())
        {
            switch (property.Name)
            {
                case "name":
                    break;
                case "scheduler_uri":
                    schedulerUri = String(property, source, where);
                    break;
                case "zk":
                    zk = String(property, source, where);
                    break;
                case "zk_port":
                    zkPort = Port(property, source, where);
                    break;
                case "scheduler_zk_path":
                    zkPath = String(property, source, where);
                    break;
                case "auth_mechanism":
                    auth = String(property, source, where);
                    break;
                case "proxy_url":
                    proxy = String(property, source, where);
                    break;
                case var ignored when IgnoredFields.Contains(ignored):
                    break;
                default:
                    throw Invalid(source, $"{where} has unknown field \"{property.Name}\" (known fields: {KnownFields})");
            }
        }

        return new Cluster(
            name,
            schedulerUri is null ? null : SchedulerUri(schedulerUri, source, where),
            zk,
            zkPort,
            zkPath,
            Auth(auth, source, where),
            proxy,
            source);
    }

    private static string? String(JsonProperty property, string source, string where) => property.Value.ValueKind switch
    {
        JsonValueKind.String => property.Value.GetString(),
        JsonValueKind.Null => null,
        _ => throw Invalid(source, $"{where}: \"{property.Name}\" must be a string, got {property.Value.GetRawText()}"),
    };

    private static int Port(JsonProperty property, string source, string where)
    {
        var value = property.Value;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var port) && port is > 0 and < 65536)
        {
            return port;
        }

        if (value.ValueKind == JsonValueKind.String
            && int.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out port)
            && port is > 0 and < 65536)
        {
            return port;
        }

        throw Invalid(source, $"{where}: \"zk_port\" must be a port number (1-65535), got {value.GetRawText()}");
    }

    private static Uri SchedulerUri(string text, string source, string where)
    {
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        throw Invalid(source, $"{where}: \"scheduler_uri\" must be an http:// or https:// URI, got '{text}'");
    }

    private static AuthMechanism Auth(string? text, string source, string where) => text?.ToUpperInvariant() switch
    {
        null or "UNAUTHENTICATED" => AuthMechanism.Unauthenticated,
        "BASIC" => AuthMechanism.Basic,
        "KERBEROS" => throw Invalid(source, $"{where}: auth_mechanism KERBEROS is not supported by this client; use BASIC (with ~/.netrc) or UNAUTHENTICATED"),
        _ => throw Invalid(source, $"{where}: auth_mechanism must be UNAUTHENTICATED or BASIC, got '{text}'"),
    };

    private static ClientException Invalid(string source, string problem) =>
        new(ExitCodes.InvalidConfiguration, $"invalid clusters file {source}: {problem}");
}
