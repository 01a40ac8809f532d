using Microsoft.Extensions.Logging;

namespace Aurora.Replication.Benchmarks.Harness;

/// <summary>
/// The replicas' warnings and errors on standard error (a lapsed lease, a dropped connection, a
/// failed append): they explain failed proposals. Information and below are dropped.
/// </summary>
internal sealed class StderrLogger(string category) : ILogger
{
    public static ILoggerFactory Factory { get; } = new Provider();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            Console.Error.WriteLine($"{logLevel} {category}: {formatter(state, exception)}{(exception is null ? string.Empty : $" ({exception.Message})")}");
        }
    }

    private sealed class Provider : ILoggerFactory
    {
        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => new StderrLogger(categoryName);

        public void Dispose()
        {
        }
    }
}
