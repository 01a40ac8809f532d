using Aurora.Replication.Membership;

namespace Aurora.Replication.Tests.Membership;

/// <summary>
/// A valid set of replication flags for one test: a secret file of its own (mode 600) in a temp
/// directory, replicas named replica1..N.example.com:8083, this replica replica1.
/// </summary>
internal sealed class StartUpFlags : IDisposable
{
    public const string SelfHost = "replica1.example.com";
    public const int Port = 8083;

    private readonly TempDirectory _directory = new();

    public StartUpFlags()
    {
        SecretPath = _directory.Sub("secret");
        File.WriteAllBytes(SecretPath, Secret);
        SetMode(SecretPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public static byte[] Secret { get; } = "0123456789abcdef-the-shared-secret"u8.ToArray();

    public string SecretPath { get; }

    public TempDirectory Directory => _directory;

    /// <summary>chmod; the tests run on Linux, where the secret's mode is checked.</summary>
    public static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    /// <summary>"replica1.example.com:8083,...,replicaN.example.com:8083".</summary>
    public static string Replicas(int count) =>
        string.Join(",", Enumerable.Range(1, count).Select(i => $"replica{i}.example.com:{Port}"));

    /// <summary>Every required flag for <paramref name="replicas"/> replicas, then <paramref name="overrides"/> (null removes a flag).</summary>
    public Dictionary<string, string?> Flags(int replicas = 3, params (string Name, string? Value)[] overrides)
    {
        var flags = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            [ReplicationFlags.Replicas] = Replicas(replicas),
            [ReplicationFlags.ReplicationPort] = "8083",
            [ReplicationFlags.Hostname] = SelfHost,
            [ReplicationFlags.SecretFile] = SecretPath,
            [ReplicationFlags.ClusterName] = "devcluster",
        };
        foreach (var (name, value) in overrides)
        {
            if (value is null)
            {
                flags.Remove(name);
            }
            else
            {
                flags[name] = value;
            }
        }

        return flags;
    }

    /// <summary>Builds from <see cref="Flags"/> and returns the single problem, failing if there is not exactly one.</summary>
    public string OnlyProblem(int replicas = 3, params (string Name, string? Value)[] overrides)
    {
        var result = ReplicationOptions.Build(Flags(replicas, overrides));
        Assert.False(result.Succeeded);
        return Assert.Single(result.Problems);
    }

    public void Dispose() => _directory.Dispose();
}
