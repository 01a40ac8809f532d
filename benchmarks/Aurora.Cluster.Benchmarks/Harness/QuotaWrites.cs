using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace Aurora.Cluster.Benchmarks.Harness;

/// <summary>
/// The write the harness measures: <c>PUT /api/quotas/{role}</c> with a fixed quota, as the admin
/// (no authentication is configured). Every write names a role no earlier write of the run used, so
/// every one is a new <c>QuotaSet</c> event the scheduler decides, appends durably (on a quorum)
/// and applies before it answers 200.
/// </summary>
internal static class QuotaWrites
{
    public static readonly byte[] Body = """{"numCpus":1,"ramMb":1024,"diskMb":1024}"""u8.ToArray();

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>The request; a new one per attempt (a request message is sent once), its body a <see cref="ByteArrayContent"/> a redirect can send again.</summary>
    public static HttpRequestMessage Request(Uri replica, string role)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, new Uri(replica, "api/quotas/" + role))
        {
            Content = new ByteArrayContent(Body) { Headers = { ContentType = Json } },
        };
        request.Headers.Add("X-Aurora-User", "admin");
        return request;
    }

    /// <summary>
    /// One HTTP/1.1 client for all workers: a pool of keep-alive connections per replica, as many as
    /// there are concurrent writers (and some).
    /// </summary>
    /// <param name="followRedirects">Follow the 307 a replica that does not lead answers with (to the leader, same method and body).</param>
    public static HttpClient Client(int maxConnectionsPerServer, bool followRedirects, TimeSpan timeout) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = maxConnectionsPerServer,
        AllowAutoRedirect = followRedirects,
        MaxAutomaticRedirections = 3,
        UseProxy = false,
        UseCookies = false,
        ConnectTimeout = TimeSpan.FromSeconds(2),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
    })
    {
        Timeout = timeout,
        DefaultRequestVersion = HttpVersion.Version11,
    };

    /// <summary>What a failed write got back, in a line: the status and the start of the body.</summary>
    public static async Task<string> DescribeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = string.Join(' ', (await response.Content.ReadAsStringAsync(cancellationToken)).Split((char[])['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var location = response.Headers.Location is { } to ? $" (Location {to})" : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"{(int)response.StatusCode} from {response.RequestMessage?.RequestUri?.Authority}{location}: {(body.Length > 300 ? body[..300] + "..." : body)}");
    }
}

/// <summary>
/// Role names for N concurrent writers: a writer takes one of N prefixes for the duration of a
/// write (<c>w{prefix}-{i}</c>, i counting up per prefix), so no two writes in flight share a
/// prefix and no name repeats while the cluster lives.
/// </summary>
internal sealed class RoleNames(int writers)
{
    private readonly ConcurrentQueue<int> _free = new(Enumerable.Range(0, writers));
    private readonly long[] _next = new long[writers];

    public Lease Take()
    {
        if (!_free.TryDequeue(out var prefix))
        {
            throw new InvalidOperationException($"more than {writers} writes in flight");
        }

        return new Lease(this, prefix, string.Create(CultureInfo.InvariantCulture, $"w{prefix}-{_next[prefix]++}"));
    }

    public readonly struct Lease(RoleNames owner, int prefix, string role) : IDisposable
    {
        public string Role => role;

        public void Dispose() => owner._free.Enqueue(prefix);
    }
}

/// <summary>Failed writes of a run (warm-up included) and the first few reasons, to explain an invalid figure.</summary>
internal sealed class FailureLog
{
    private const int ReasonsKept = 3;
    private readonly Lock _lock = new();
    private readonly List<string> _reasons = [];
    private long _count;

    public void Add(string reason)
    {
        lock (_lock)
        {
            _count++;
            if (_reasons.Count < ReasonsKept)
            {
                _reasons.Add(reason);
            }
        }
    }

    /// <summary>The failures since the last call, or null when there were none; and starts over.</summary>
    public string? Take()
    {
        lock (_lock)
        {
            var text = _count == 0 ? null : string.Create(CultureInfo.InvariantCulture, $"{_count} writes failed, the first: {string.Join(" | ", _reasons)}");
            _count = 0;
            _reasons.Clear();
            return text;
        }
    }
}
