using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Aurora.Client.Api;

/// <summary>
/// The scheduler's HTTP JSON API (docs/api.md) for one cluster: one typed method per endpoint.
/// Views come back as <see cref="JsonObject"/>s as the scheduler sent them, so fields this client
/// does not know yet still reach <c>--json</c> output; <see cref="Views"/> reads them.
/// </summary>
/// <remarks>
/// Every request carries <c>X-Aurora-User</c> and, for a cluster with <c>auth_mechanism: BASIC</c>,
/// the credentials <c>~/.netrc</c> holds for the scheduler's host. Redirects (<c>307</c>/<c>308</c>,
/// a follower pointing at the leader) are followed for every method, re-sending the body. Errors
/// become <see cref="ApiException"/>s; an unreachable scheduler and a timeout become
/// <see cref="ClientException"/>s with <see cref="ExitCodes.NetworkError"/> and
/// <see cref="ExitCodes.Timeout"/>. Safe for concurrent calls; dispose when done.
/// </remarks>
public sealed partial class SchedulerClient : IDisposable
{
    private const int MaxRedirects = 5;

    private readonly HttpClient _http;
    private readonly Uri _baseUri;
    private readonly ClientEnvironment _environment;
    private readonly Lazy<Netrc> _netrc;

    public SchedulerClient(Cluster cluster, ClientEnvironment environment, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(environment);
        Cluster = cluster;
        _environment = environment;
        var uri = cluster.RequireSchedulerUri().ToString();
        _baseUri = new Uri(uri.EndsWith('/') ? uri : uri + "/");
        _netrc = new Lazy<Netrc>(() => Netrc.Load(Netrc.DefaultPath(environment)));
        _http = new HttpClient(handler ?? new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }, disposeHandler: true)
        {
            // Our own timeout, per request, so that it can be told apart from Ctrl-C.
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
    }

    public Cluster Cluster { get; }

    /// <summary>The scheduler's base URI, with a trailing slash.</summary>
    public Uri BaseUri => _baseUri;

    public void Dispose() => _http.Dispose();

    internal Task<JsonNode?> GetAsync(string pathAndQuery, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, pathAndQuery, null, cancellationToken);

    internal Task<JsonNode?> PostAsync(string path, JsonNode? body, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, path, body, cancellationToken);

    internal Task<JsonNode?> PutAsync(string path, JsonNode? body, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, path, body, cancellationToken);

    internal Task<JsonNode?> DeleteAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, path, null, cancellationToken);

    /// <summary>Sends one API request, following redirects, and returns the JSON answer (null when empty).</summary>
    internal async Task<JsonNode?> SendAsync(HttpMethod method, string pathAndQuery, JsonNode? body, CancellationToken cancellationToken)
    {
        var bodyBytes = body is null ? null : Encoding.UTF8.GetBytes(body.ToJsonString());
        var uri = new Uri(_baseUri, pathAndQuery);
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(method, uri);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            request.Headers.UserAgent.Add(new ProductInfoHeaderValue("aurora-client", "0.1.0"));
            request.Headers.Add("X-Aurora-User", _environment.UserName);
            if (Credentials(uri) is { } credentials)
            {
                var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credentials.Login}:{credentials.Password}"));
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", token);
            }

            if (bodyBytes is not null)
            {
                request.Content = new ByteArrayContent(bodyBytes);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            }
            else if (method != HttpMethod.Get && method != HttpMethod.Delete)
            {
                request.Content = new ByteArrayContent([]);
            }

            using var response = await SendOnceAsync(request, uri, cancellationToken).ConfigureAwait(false);
            if (IsRedirect(response.StatusCode, method) && response.Headers.Location is { } location)
            {
                if (hop >= MaxRedirects)
                {
                    throw new ClientException(
                        ExitCodes.NetworkError,
                        $"the scheduler of cluster {Cluster.Name} redirected {method} {pathAndQuery} more than {MaxRedirects} times (last to {location}); is a leader elected?");
                }

                uri = location.IsAbsoluteUri ? location : new Uri(uri, location);
                continue;
            }

            var text = await ReadBodyAsync(response, uri, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw Error(response, text, method, uri);
            }

            if (string.IsNullOrWhiteSpace(text))
            {
                return null;
            }

            try
            {
                return JsonNode.Parse(text);
            }
            catch (JsonException e)
            {
                throw new ClientException(
                    ExitCodes.ApiError,
                    $"the scheduler of cluster {Cluster.Name} answered {method} {uri.AbsolutePath} with something that is not JSON ({e.Message}): {Excerpt(text)}",
                    e);
            }
        }
    }

    private async Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, Uri uri, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_environment.RequestTimeout);
        try
        {
            return await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ClientException(
                ExitCodes.Timeout,
                $"the scheduler of cluster {Cluster.Name} at {Origin(uri)} did not answer {request.Method} {uri.AbsolutePath} within {_environment.RequestTimeout.TotalSeconds:0.#}s",
                e);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(uri, e);
        }
    }

    private async Task<string> ReadBodyAsync(HttpResponseMessage response, Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(uri, e);
        }
    }

    private ClientException Unreachable(Uri uri, HttpRequestException e)
    {
        var reason = e.InnerException is SocketException socket ? socket.Message : e.Message;
        return new ClientException(
            ExitCodes.NetworkError,
            $"cannot reach the scheduler of cluster {Cluster.Name} at {Origin(uri)}: {reason}",
            e);
    }

    private static bool IsRedirect(HttpStatusCode status, HttpMethod method) => status switch
    {
        HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect => true,
        HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther => method == HttpMethod.Get,
        _ => false,
    };

    /// <summary>
    /// BASIC credentials for the host a request goes to. A redirect to another replica of the same
    /// cluster uses that host's entry when <c>.netrc</c> has one, else the cluster's own.
    /// </summary>
    private NetrcCredentials? Credentials(Uri uri)
    {
        if (Cluster.AuthMechanism != AuthMechanism.Basic)
        {
            return null;
        }

        return _netrc.Value.Find(uri.Host) ?? _netrc.Value.Find(_baseUri.Host);
    }

    private ApiException Error(HttpResponseMessage response, string text, HttpMethod method, Uri uri)
    {
        var status = (int)response.StatusCode;
        string? code = null, message = null;
        try
        {
            if (JsonNode.Parse(text) is JsonObject root && root["error"] is JsonObject error)
            {
                code = error["code"]?.GetValue<string>();
                message = error["message"]?.GetValue<string>();
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            // Not our error format (a proxy's HTML page, say): described below from the status.
        }

        code ??= status switch
        {
            401 => "AUTH_REQUIRED",
            403 => "PERMISSION_DENIED",
            404 => "NOT_FOUND",
            503 => "STORAGE_NOT_READY",
            _ => $"HTTP_{status}",
        };
        message ??= $"HTTP {status} {response.ReasonPhrase} from {method} {uri}" + (string.IsNullOrWhiteSpace(text) ? string.Empty : $": {Excerpt(text)}");
        return new ApiException(code, message, Hint(code, status, uri), status);
    }

    private string Hint(string code, int status, Uri uri)
    {
        if (code != "AUTH_REQUIRED" && status != 401)
        {
            return string.Empty;
        }

        var path = Netrc.DefaultPath(_environment);
        if (Cluster.AuthMechanism != AuthMechanism.Basic)
        {
            return $" (cluster {Cluster.Name} in {Cluster.Source} has no \"auth_mechanism\": \"BASIC\"; set it and put \"machine {uri.Host} login USER password PASSWORD\" in {path})";
        }

        return Credentials(uri) is null
            ? $" ({path} has no entry for machine {uri.Host}: add \"machine {uri.Host} login USER password PASSWORD\")"
            : $" (the scheduler refused the login for machine {uri.Host} from {path})";
    }

    private static string Origin(Uri uri) => uri.GetLeftPart(UriPartial.Authority);

    private static string Excerpt(string text)
    {
        var flat = text.ReplaceLineEndings(" ").Trim();
        return flat.Length <= 200 ? flat : flat[..200] + "...";
    }

    /// <summary><c>?a=1&amp;b=2</c> from the pairs whose value is not null; empty when none.</summary>
    internal static string Query(params (string Name, string? Value)[] pairs)
    {
        var present = pairs.Where(p => p.Value is not null).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return present.Count == 0 ? string.Empty : "?" + string.Join('&', present);
    }

    internal static string Segment(string value) => Uri.EscapeDataString(value);
}
