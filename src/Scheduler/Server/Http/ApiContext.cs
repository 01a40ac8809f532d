using System.Net;
using System.Text.Json.Nodes;
using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Server.Http;

/// <summary>What a write did, for the handler's answer: the decision, its log position (0 when nothing changed) and who asked.</summary>
internal sealed record CommandOutcome(Decision Decision, ulong Position, string Principal);

/// <summary>What every API handler needs: the runtime (with its leadership), security, and the write path.</summary>
internal sealed class ApiContext(SchedulerRuntime runtime, RequestSecurity security)
{
    public SchedulerRuntime Runtime => runtime;

    public RequestSecurity Security => security;

    /// <summary>Largest body a write accepts: what fits in one log entry.</summary>
    public long MaxBodyBytes => runtime.Options.MaxEntrySize;

    /// <summary>Runs <paramref name="read"/> on the applied state.</summary>
    public T Read<T>(Func<SchedulerState, T> read) => runtime.Store.Read(read);

    /// <summary>
    /// The write path: authorizes <paramref name="permission"/>, executes the command as the caller,
    /// and answers the decision's message and log position merged into <paramref name="view"/>'s object.
    /// </summary>
    public Task<IResult> ExecuteAsync(HttpContext http, string permission, SchedulerCommand command, Func<CommandOutcome, JsonObject>? view = null) =>
        ExecuteAsync(http, permission, () => command, view);

    /// <summary>As above, with the command built only once the caller is authorized (it may reveal state).</summary>
    public async Task<IResult> ExecuteAsync(HttpContext http, string permission, Func<SchedulerCommand> buildCommand, Func<CommandOutcome, JsonObject>? view = null)
    {
        var principal = security.Authorize(http, permission);
        var command = buildCommand();
        var (decision, position) = await runtime.ExecuteAsync(command, principal, http.RequestAborted).ConfigureAwait(false);
        var answer = view?.Invoke(new CommandOutcome(decision, position, principal)) ?? [];
        answer["message"] = decision.Message ?? (decision.ChangesState ? "OK" : "Nothing to do.");
        answer["position"] = position;
        return Json(answer);
    }

    public static IResult Json(JsonNode node, HttpStatusCode status = HttpStatusCode.OK) =>
        Results.Content(node.ToJsonString(ApiJson.Options), "application/json", System.Text.Encoding.UTF8, (int)status);

    /// <summary>The error body of docs/api.md for any exception a handler let through.</summary>
    public static (HttpStatusCode Status, string Code, string Message) Classify(Exception error) => error switch
    {
        ApiException api => (api.Status, api.Code, api.Message),
        CommandRejectedException { Code: ErrorCode.NotFound } rejected => (HttpStatusCode.NotFound, "NOT_FOUND", rejected.Message),
        CommandRejectedException { Code: ErrorCode.JobUpdating } rejected => (HttpStatusCode.Conflict, "JOB_UPDATING", rejected.Message),
        CommandRejectedException rejected => (HttpStatusCode.BadRequest, "INVALID_REQUEST", rejected.Message),
        StorageNotReadyException notReady => (HttpStatusCode.ServiceUnavailable, "STORAGE_NOT_READY", notReady.Message),
        NotLeaderException notLeader => (HttpStatusCode.ServiceUnavailable, "NOT_LEADER", notLeader.Message),
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } bad => (HttpStatusCode.RequestEntityTooLarge, "TOO_LARGE", bad.Message),
        BadHttpRequestException bad => (HttpStatusCode.BadRequest, "INVALID_REQUEST", bad.Message),
        _ => (HttpStatusCode.InternalServerError, "INTERNAL", $"Internal error: {error.Message}"),
    };

    public static JsonObject ErrorBody(string code, string message) => new()
    {
        ["error"] = new JsonObject { ["code"] = code, ["message"] = message },
    };
}
