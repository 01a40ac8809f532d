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
/// <param name="Usage">What it used as last measured (with isolation on); omitted otherwise.</param>
internal sealed record TaskStateView(string TaskId, AgentTaskState State, string Message, long TimestampMs, string Sandbox, IReadOnlyList<TaskTransition> History, TaskUsage? Usage = null);

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
/// agent's state, and a task's sandbox browsed, read, tailed or shown as an HTML index. Every path
/// goes through <see cref="SandboxFiles"/>: only regular files are read, nothing blocks, nothing
/// outside the sandbox is served.
/// </summary>
/// <remarks>
/// Every error is an answer <c>{"error": {"code", "message"}}</c>: 400 <c>INVALID_REQUEST</c> for a
/// missing, repeated or malformed parameter, 400 <c>BAD_PATH</c> for a path that is malformed or
/// leads out of the sandbox, 400 <c>NOT_A_FILE</c> / <c>NOT_A_DIRECTORY</c> / <c>HARD_LINKED</c>
/// naming what the path is, 403 <c>PERMISSION_DENIED</c>, 404 <c>NOT_FOUND</c>, and 500
/// <c>IO_ERROR</c> only for an I/O error of the disk; any other path is 404 <c>NOT_FOUND</c> naming the endpoints. Anything else a request throws is logged
/// (event 4111) and answered 500 <c>INTERNAL_ERROR</c>, never with a stack trace. With
/// <c>aurora-scheduler -dev</c> these handlers run on the scheduler's thread pool, which is why
/// none of them may block.
/// </remarks>
internal static class SandboxServer
{
    public static void Map(WebApplication app, Func<AgentStateView> state, ITaskExecutor executor)
    {
        var logger = app.Services.GetService(typeof(ILoggerFactory)) is ILoggerFactory loggers ? loggers.CreateLogger("Aurora.Agent.Http") : null;
        app.Use(async (http, next) =>
        {
            // What a sandbox holds is served as text: a browser must not take it for HTML.
            http.Response.Headers.XContentTypeOptions = "nosniff";
            try
            {
                await next(http).ConfigureAwait(false);
            }
            catch (SandboxRequestException e) when (!http.Response.HasStarted)
            {
                await ErrorAsync(http, e.Status, e.Code, e.Message).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (!http.Response.HasStarted)
            {
                await ErrorAsync(http, e.StatusCode, SandboxRequestException.InvalidRequest, e.Message).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                // The client went away.
            }
            catch (Exception e) when (!http.Response.HasStarted)
            {
                if (logger is not null)
                {
                    NodeMessages.RequestFailed(logger, e, http.Request.Method, SandboxFiles.Shown(http.Request.Path.Value));
                }

                var (status, code, message) = e switch
                {
                    UnauthorizedAccessException => (403, SandboxRequestException.PermissionDenied, e.Message),
                    IOException => (500, "IO_ERROR", e.Message),
                    _ => (500, "INTERNAL_ERROR", $"the agent failed on this request ({e.GetType().Name}); its log has the details (event 4111)"),
                };
                await ErrorAsync(http, status, code, message).ConfigureAwait(false);
            }
        });

        app.MapGet("/health", () => Results.Text("OK\n", "text/plain"));
        app.MapGet("/state", () => Results.Text(JsonSerializer.Serialize(state(), AgentApi.Json), "application/json"));
        app.MapGet("/tasks/{taskId}", (HttpContext http, string taskId) =>
        {
            var path = Parameter(http, "path");
            var entries = SandboxFiles.List(SandboxOf(executor, taskId), path);
            return Results.Text(SandboxIndex.Render(taskId, path, entries), "text/html; charset=utf-8");
        });
        app.MapGet("/tasks/{taskId}/browse", (HttpContext http, string taskId) =>
        {
            var path = Parameter(http, "path");
            return Results.Text(JsonSerializer.Serialize(SandboxFiles.List(SandboxOf(executor, taskId), path), AgentApi.Json), "application/json");
        });
        app.MapGet("/tasks/{taskId}/read", (HttpContext http, string taskId) =>
        {
            var path = Parameter(http, "path");
            var from = Whole(Parameter(http, "offset"), "offset", 0, 0, long.MaxValue);
            var count = (int)Whole(Parameter(http, "length"), "length", SandboxFiles.MaxReadBytes, 0, int.MaxValue);
            var (data, size) = SandboxFiles.Read(SandboxOf(executor, taskId), path, from, count);
            http.Response.Headers["X-File-Size"] = size.ToString(CultureInfo.InvariantCulture);
            return Results.Bytes(data, "text/plain; charset=utf-8");
        });
        app.MapGet("/tasks/{taskId}/tail", (HttpContext http, string taskId) =>
        {
            var path = Parameter(http, "path");
            var count = (int)Whole(Parameter(http, "lines"), "lines", 100, 1, SandboxFiles.MaxTailLines);
            return Results.Bytes(SandboxFiles.Tail(SandboxOf(executor, taskId), path, count), "text/plain; charset=utf-8");
        });
        app.MapFallback((HttpContext http) =>
        {
            throw SandboxRequestException.Missing(
                $"no endpoint {http.Request.Method} {SandboxFiles.Shown(http.Request.Path.Value)}; the agent serves GET /health, /state, /tasks/{{id}}, /tasks/{{id}}/browse, /tasks/{{id}}/read and /tasks/{{id}}/tail");
        });
    }

    private static string SandboxOf(ITaskExecutor executor, string taskId) =>
        executor.SandboxOf(taskId) ?? throw SandboxRequestException.Missing($"no task {SandboxFiles.Shown(taskId)} on this agent");

    /// <summary>The query parameter's value, null when absent; given twice, the request is invalid (which one was meant?).</summary>
    private static string? Parameter(HttpContext http, string name)
    {
        var values = http.Request.Query[name];
        return values.Count switch
        {
            0 => null,
            1 => values[0],
            _ => throw SandboxRequestException.Invalid($"{name} is given {values.Count} times; give it once"),
        };
    }

    private static long Whole(string? text, string name, long fallback, long min, long max)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw SandboxRequestException.Invalid($"{name} must be a whole number from {min} to {max}, got '{SandboxFiles.Shown(text)}'");
    }

    private static async Task ErrorAsync(HttpContext http, int status, string code, string message)
    {
        http.Response.Clear();
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        var body = JsonSerializer.Serialize(new { error = new { code, message } }, AgentApi.Json);
        await http.Response.WriteAsync(body, Encoding.UTF8).ConfigureAwait(false);
    }
}
