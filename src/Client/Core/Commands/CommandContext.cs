using Aurora.Client.Api;
using Aurora.Client.Output;

namespace Aurora.Client.Commands;

/// <summary>
/// What a running verb has: the environment, where to write, clusters.json (read on first use) and
/// one <see cref="SchedulerClient"/> per cluster it talks to.
/// </summary>
/// <remarks>One per command run; disposed by <see cref="CommandLineApp"/> when the verb returns.</remarks>
public sealed class CommandContext : IDisposable
{
    private readonly Lazy<Clusters> _clusters;
    private readonly Dictionary<string, SchedulerClient> _clients = new(StringComparer.Ordinal);

    public CommandContext(string command, ClientEnvironment environment, ConsoleOutput output, CancellationToken cancellation)
    {
        Command = command;
        Environment = environment ?? throw new ArgumentNullException(nameof(environment));
        Output = output ?? throw new ArgumentNullException(nameof(output));
        Cancellation = cancellation;
        _clusters = new Lazy<Clusters>(() => Clusters.Load(environment));
    }

    /// <summary>The command as typed, e.g. <c>aurora job create</c>, for messages.</summary>
    public string Command { get; }

    public ClientEnvironment Environment { get; }

    public ConsoleOutput Output { get; }

    public CancellationToken Cancellation { get; }

    public Clusters Clusters => _clusters.Value;

    /// <summary>The API client for <paramref name="cluster"/>; an unknown cluster is <see cref="ExitCodes.InvalidParameter"/>.</summary>
    public SchedulerClient Client(string cluster)
    {
        if (!_clients.TryGetValue(cluster, out var client))
        {
            client = new SchedulerClient(Clusters.Get(cluster), Environment);
            _clients[cluster] = client;
        }

        return client;
    }

    /// <summary>Waits one poll interval of <see cref="ClientEnvironment.PollInterval"/>.</summary>
    public Task PauseAsync() => Task.Delay(Environment.PollInterval, Environment.Time, Cancellation);

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        _clients.Clear();
    }
}
