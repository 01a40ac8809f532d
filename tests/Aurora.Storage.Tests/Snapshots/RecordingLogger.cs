using Microsoft.Extensions.Logging;

namespace Aurora.Storage.Tests;

/// <summary>An <see cref="ILogger"/> that keeps every entry, for asserting what was logged.</summary>
public sealed class RecordingLogger : ILogger
{
    private readonly Lock _lock = new();
    private readonly List<LogRecord> _records = [];

    public IReadOnlyList<LogRecord> Records
    {
        get
        {
            lock (_lock)
            {
                return [.. _records];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        lock (_lock)
        {
            _records.Add(new LogRecord(logLevel, eventId.Id, formatter(state, exception), exception));
        }
    }

    /// <summary>The messages logged with event id <paramref name="eventId"/>.</summary>
    public IReadOnlyList<string> Messages(int eventId) => Records.Where(r => r.EventId == eventId).Select(r => r.Message).ToList();
}

public sealed record LogRecord(LogLevel Level, int EventId, string Message, Exception? Exception);
