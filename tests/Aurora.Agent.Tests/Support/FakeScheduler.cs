using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Aurora.Agent.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aurora.Agent.Tests.Support;

/// <summary>
/// A real HTTP server on a free port that implements only the heartbeat endpoint, answering as the
/// test's handler says; it records every heartbeat it receives.
/// </summary>
internal sealed class FakeScheduler : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<HeartbeatRequest> _received = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private int _held;

    private FakeScheduler(WebApplication app) => _app = app;

    public Uri BaseUri { get; private set; } = new("http://127.0.0.1/");

    public IReadOnlyList<HeartbeatRequest> Received => [.. _received];

    /// <summary>Heartbeats the handler is holding right now.</summary>
    public int Held => Volatile.Read(ref _held);

    public static HeartbeatResponse Empty(int intervalMs = 10_000) => new([], [], [], intervalMs);

    /// <param name="answer">Given the heartbeat and its number (0 for the first), writes the answer.</param>
    public static async Task<FakeScheduler> StartAsync(Func<HeartbeatRequest, int, FakeScheduler, HttpContext, Task> answer)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var scheduler = new FakeScheduler(app);
        var count = -1;
        app.MapPost(AgentApi.HeartbeatPath, async (HttpContext http) =>
        {
            var request = await JsonSerializer.DeserializeAsync<HeartbeatRequest>(http.Request.Body, AgentApi.Json, http.RequestAborted)
                ?? throw new InvalidOperationException("null heartbeat");
            scheduler._received.Enqueue(request);
            scheduler._arrived.Release();
            await answer(request, Interlocked.Increment(ref count), scheduler, http);
        });
        await app.StartAsync();
        scheduler.BaseUri = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        return scheduler;
    }

    /// <summary>Answers with <paramref name="response"/> as the scheduler would (200, JSON).</summary>
    /// <summary>A scheduler with no work for the agent: it holds each long poll and answers any other heartbeat with nothing to do.</summary>
    public static Task<FakeScheduler> StartIdleAsync() => StartAsync((request, n, s, http) => s.AnswerIdleAsync(request, http));

    /// <summary>The idle answer (<see cref="StartIdleAsync"/>), for answer functions that are idle after their first answers.</summary>
    public Task AnswerIdleAsync(HeartbeatRequest request, HttpContext http) =>
        request.WaitMs > 0 ? HoldAsync(request, http) : WriteAsync(http, Empty());

    public static Task WriteAsync(HttpContext http, HeartbeatResponse response)
    {
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(JsonSerializer.Serialize(response, AgentApi.Json), http.RequestAborted);
    }

    /// <summary>Holds the heartbeat as a scheduler with nothing to deliver does: until its wait runs out or the agent goes away.</summary>
    public async Task HoldAsync(HeartbeatRequest request, HttpContext http, TimeSpan? atMost = null)
    {
        Interlocked.Increment(ref _held);
        try
        {
            await Task.Delay(atMost ?? TimeSpan.FromMilliseconds(request.WaitMs), http.RequestAborted);
            await WriteAsync(http, Empty());
        }
        catch (OperationCanceledException)
        {
            // The agent stopped.
        }
        finally
        {
            Interlocked.Decrement(ref _held);
        }
    }

    /// <summary>Waits until a received heartbeat matches <paramref name="match"/>.</summary>
    public async Task<HeartbeatRequest> WaitForAsync(Func<HeartbeatRequest, bool> match, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            if (_received.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            try
            {
                await _arrived.WaitAsync(TimeSpan.FromMilliseconds(100), cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no matching heartbeat among {_received.Count} received");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _arrived.Dispose();
    }
}
