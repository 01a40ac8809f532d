namespace Aurora.Storage.Log;

/// <summary>
/// The log hit an error after which no write can be trusted (a failed fdatasync): it is poisoned
/// and every later call fails with this exception, whose inner exception is the original cause.
/// </summary>
public sealed class LogFailedException(string message, Exception cause) : IOException(message, cause);
