using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Aurora.Testing;

/// <summary>A logger factory that keeps every entry (debug and up) for assertions.</summary>
public sealed class CapturedLogs : IDisposable
{
    private readonly ConcurrentQueue<(int EventId, LogLevel Level, string Message)> _entries = new();

    public CapturedLogs() => Factory = new Loggers(this);

    public ILoggerFactory Factory { get; }

    public IReadOnlyList<(int EventId, LogLevel Level, string Message)> Entries => [.. _entries];

    public int Count(int eventId) => _entries.Count(e => e.EventId == eventId);

    public async Task WaitForAsync(int eventId, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (Count(eventId) == 0)
        {
            try
            {
                await Task.Delay(20, cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no log entry {eventId}:\n{string.Join('\n', _entries.Select(e => $"{e.EventId} {e.Message}"))}");
            }
        }
    }

    public void Dispose() => Factory.Dispose();

    /// <summary>Every category logs into the same list; providers added later are ignored.</summary>
    private sealed class Loggers(CapturedLogs logs) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new Logger(logs);

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }
    }

    private sealed class Logger(CapturedLogs logs) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            logs._entries.Enqueue((eventId.Id, logLevel, formatter(state, exception)));
    }
}
