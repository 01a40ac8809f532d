using System.Net;

namespace Aurora.Scheduler.Server.Http;

/// <summary>An API error: the HTTP status, a stable code and a message for people (docs/api.md, Errors).</summary>
internal sealed class ApiException(HttpStatusCode status, string code, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;

    public string Code { get; } = code;

    public static ApiException Invalid(string message) => new(HttpStatusCode.BadRequest, "INVALID_REQUEST", message);

    public static ApiException NotFound(string message) => new(HttpStatusCode.NotFound, "NOT_FOUND", message);
}
