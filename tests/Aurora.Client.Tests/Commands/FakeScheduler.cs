using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aurora.Client.Tests.Commands;

/// <summary>One request the fake scheduler received.</summary>
internal sealed record ReceivedRequest(string Method, string Path, string Query, string Body, IReadOnlyDictionary<string, string> Headers)
{
    public JsonObject Json => JsonNode.Parse(Body)!.AsObject();

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>A canned answer.</summary>
/// <param name="Delay">How long to wait before answering (until the client gives up, for timeout tests).</param>
internal sealed record CannedResponse(int Status, string? Body, IReadOnlyDictionary<string, string>? Headers = null, TimeSpan Delay = default);

/// <summary>
/// An HTTP server on a free loopback port that records every request and answers from canned
/// responses per method and path. Several responses for one route are given in turn, the last one
/// repeating (for polling commands). A request with no canned response gets a 599 that names it,
/// so a test fails on it rather than hanging.
/// </summary>
internal sealed class FakeScheduler : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<CannedResponse>> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ReceivedRequest> _requests = new();
    private readonly ConcurrentDictionary<string, Func<ReceivedRequest, CannedResponse>> _handlers = new(StringComparer.Ordinal);

    private FakeScheduler(WebApplication app)
    {
        _app = app;
    }

    public Uri Uri { get; private set; } = null!;

    public IReadOnlyList<ReceivedRequest> Requests => [.. _requests];

    public static async Task<FakeScheduler> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var fake = new FakeScheduler(app);
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        fake.Uri = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return fake;
    }

    /// <summary>Answers <paramref name="method"/> on <paramref name="path"/> (no query) with <paramref name="json"/>.</summary>
    public FakeScheduler On(string method, string path, string? json, int status = 200, IReadOnlyDictionary<string, string>? headers = null, TimeSpan delay = default)
    {
        _routes.GetOrAdd($"{method} {path}", _ => new ConcurrentQueue<CannedResponse>()).Enqueue(new CannedResponse(status, json, headers, delay));
        return this;
    }

    /// <summary>
    /// Answers <paramref name="method"/> on <paramref name="path"/> by calling <paramref name="handler"/>
    /// for each request (a stateful simulation); takes precedence over canned responses for the route.
    /// </summary>
    public FakeScheduler Handle(string method, string path, Func<ReceivedRequest, CannedResponse> handler)
    {
        _handlers[$"{method} {path}"] = handler;
        return this;
    }

    public FakeScheduler OnError(string method, string path, int status, string code, string message) =>
        On(method, path, new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } }.ToJsonString(), status);

    /// <summary>The requests to one route, in order.</summary>
    public IReadOnlyList<ReceivedRequest> To(string method, string path) =>
        [.. _requests.Where(r => r.Method == method && r.Path == path)];

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var request = new ReceivedRequest(context.Request.Method, context.Request.Path.Value ?? "/", context.Request.QueryString.Value ?? string.Empty, body, headers);
        _requests.Enqueue(request);

        CannedResponse? response = null;
        if (_handlers.TryGetValue($"{request.Method} {request.Path}", out var handler))
        {
            response = handler(request);
        }
        else if (_routes.TryGetValue($"{request.Method} {request.Path}", out var queue))
        {
            // The last response stays for every later request.
            if (queue.Count > 1)
            {
                queue.TryDequeue(out response);
            }
            else
            {
                queue.TryPeek(out response);
            }
        }

        response ??= new CannedResponse(599, $$$"""{"error": {"code": "FAKE", "message": "no canned response for {{{request.Method}}} {{{request.Path}}}"}}""");
        if (response.Delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(response.Delay, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        context.Response.StatusCode = response.Status;
        foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }

        if (response.Body is not null)
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(response.Body);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
