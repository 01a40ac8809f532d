namespace Aurora.Client;

/// <summary>
/// The scheduler answered with an error (docs/api.md "Errors"): its stable <see cref="Code"/>
/// (<c>NOT_FOUND</c>, <c>AUTH_REQUIRED</c>, ...), its message for people and the HTTP status.
/// <see cref="Exception.Message"/> is <c>CODE: message</c> plus, for authentication errors, what
/// to put where.
/// </summary>
public sealed class ApiException(string code, string serverMessage, string hint, int httpStatus)
    : ClientException(ExitCodeFor(code, httpStatus), $"{code}: {serverMessage}{hint}")
{
    public string Code { get; } = code;

    /// <summary>The scheduler's message, as it sent it.</summary>
    public string ServerMessage { get; } = serverMessage;

    public int HttpStatus { get; } = httpStatus;

    public static int ExitCodeFor(string code, int httpStatus) => (code, httpStatus) switch
    {
        ("AUTH_REQUIRED" or "PERMISSION_DENIED", _) or (_, 401 or 403) => ExitCodes.PermissionViolation,
        ("NOT_FOUND", _) or (_, 404) => ExitCodes.InvalidParameter,
        ("STORAGE_NOT_READY", _) or (_, 502 or 503 or 504) => ExitCodes.NetworkError,
        _ => ExitCodes.ApiError,
    };
}
