using Aurora.Agent.Executor;
using Microsoft.Extensions.Logging;

namespace Aurora.Agent.Node;

/// <summary>The executor an agent runs unless its host injects another (tests inject fakes).</summary>
internal static class DefaultExecutor
{
    public static ITaskExecutor Create(ExecutorOptions options, ILoggerFactory loggers) =>
        new TaskExecutor(options, loggers.CreateLogger("Aurora.Agent.Executor"), TimeProvider.System);
}
