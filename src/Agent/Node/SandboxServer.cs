using System.Globalization;
using System.Text;
using System.Text.Json;
using Aurora.Agent.Executor;
using Aurora.Agent.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Aurora.Agent.Node;

/// <summary>A task as <c>GET /state</c> shows it.</summary>
internal sealed record TaskStateView(string TaskId, AgentTaskState State, string Message, long TimestampMs, string Sandbox, IReadOnlyList<TaskTransition> History);

/// <summary>What <c>GET /state</c> answers.</summary>
internal sealed record AgentStateView(
    string AgentId,
    string Hostname,
    string SandboxUrl,
    string Scheduler,
    ResourceSet Resources,
    ResourceSet? RevocableResources,
    IReadOnlyList<AgentAttribute> Attributes,
    bool ContainerEngine,
    long HeartbeatsAnswered,
    IReadOnlyList<TaskStateView> Tasks);

/// <summary>
/// The sandbox HTTP server's endpoints (Mesos's observer and files API, read-only): health, the
/// agent's state, and a task's sandbox browsed, read, tailed or shown as an HTML index. Every path is
/// checked by <see cref="SandboxFiles"/>: a path that would leave the sandbox is a 400 naming why.
/// </summary>
internal static class SandboxServer
{
    public static void Map(WebApplication app, Func<AgentStateView> state, ITaskExecutor executor)
    {
        var logger = app.Services.GetService(typeof(ILoggerFactory)) is ILoggerFactory loggers ? loggers.CreateLogger("Aurora.Agent.Http") : null;
        app.Use(async (http, next) =>
        {
            try
            {
                await next(http).ConfigureAwait(false);
            }
            catch (SandboxRequestException e) when (!http.Response.HasStarted)
            {
                await ErrorAsync(http, e.NotFound ? 404 : 400, e.NotFound ? "NOT_FOUND" : "BAD_PATH", e.Message).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException && !http.Response.HasStarted)
            {
                if (logger is not null)
                {
                    NodeMessages.RequestFailed(logger, e, http.Request.Method, http.Request.Path);
                }

                await ErrorAsync(http, 500, "IO_ERROR", e.Message).ConfigureAwait(false);
            }
        });

        app.MapGet("/health", () => Results.Text("OK\n", "text/plain"));
        app.MapGet("/state", () => Results.Text(JsonSerializer.Serialize(state(), AgentApi.Json), "application/json"));
        app.MapGet("/tasks/{taskId}", (string taskId, string? path) =>
        {
            var entries = SandboxFiles.List(SandboxOf(executor, taskId), path);
            return Results.Text(SandboxIndex.Render(taskId, path, entries), "text/html; charset=utf-8");
        });
        app.MapGet("/tasks/{taskId}/browse", (string taskId, string? path) =>
            Results.Text(JsonSerializer.Serialize(SandboxFiles.List(SandboxOf(executor, taskId), path), AgentApi.Json), "application/json"));
        app.MapGet("/tasks/{taskId}/read", (HttpContext http, string taskId, string? path, string? offset, string? length) =>
        {
            var from = Whole(offset, "offset", 0, 0, long.MaxValue);
            var count = (int)Whole(length, "length", SandboxFiles.MaxReadBytes, 0, int.MaxValue);
            var (data, size) = SandboxFiles.Read(SandboxOf(executor, taskId), path, from, count);
            http.Response.Headers["X-File-Size"] = size.ToString(CultureInfo.InvariantCulture);
            return Results.Bytes(data, "text/plain; charset=utf-8");
        });
        app.MapGet("/tasks/{taskId}/tail", (string taskId, string? path, string? lines) =>
        {
            var count = (int)Whole(lines, "lines", 100, 1, SandboxFiles.MaxTailLines);
            return Results.Bytes(SandboxFiles.Tail(SandboxOf(executor, taskId), path, count), "text/plain; charset=utf-8");
        });
    }

    private static string SandboxOf(ITaskExecutor executor, string taskId) =>
        executor.SandboxOf(taskId) ?? throw new SandboxRequestException($"no task {taskId} on this agent", notFound: true);

    private static long Whole(string? text, string name, long fallback, long min, long max)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new SandboxRequestException($"{name} must be a whole number from {min} to {max}, got '{text}'", notFound: false);
    }

    private static async Task ErrorAsync(HttpContext http, int status, string code, string message)
    {
        http.Response.Clear();
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        var body = JsonSerializer.Serialize(new { error = new { code, message } }, AgentApi.Json);
        await http.Response.WriteAsync(body, Encoding.UTF8).ConfigureAwait(false);
    }
}
