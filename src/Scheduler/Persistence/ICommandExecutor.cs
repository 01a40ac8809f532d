using Aurora.Scheduler.Commands;

namespace Aurora.Scheduler.Persistence;

/// <summary>
/// Where a scheduler command is decided, committed and applied. In the server every writer (the
/// HTTP API, agents, the cluster loop, cron and housekeeping) goes through one: the runtime, which
/// counts commands and stops serving when the store fails. <see cref="SchedulerStore"/> is the
/// bare store, for tools and tests.
/// </summary>
public interface ICommandExecutor
{
    /// <summary>Decides the command and, when it changes state, commits and applies its events.</summary>
    /// <exception cref="CommandRejectedException">The command was refused; nothing was written.</exception>
    Task<Committed> CommitAsync(SchedulerCommand command, string principal, CancellationToken cancellationToken = default);
}
