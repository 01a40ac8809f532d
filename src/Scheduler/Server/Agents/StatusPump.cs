using System.Threading.Channels;
using Aurora.Scheduler.Commands;

namespace Aurora.Scheduler.Server.Agents;

/// <summary>
/// The status path's group commit: heartbeats that carry news queue their reports here, and one
/// loop writes everything queued so far as a single <see cref="ApplyAgentReports"/> transaction,
/// so a thousand agents reporting at once cost one fsync rather than a thousand.
/// </summary>
internal sealed class StatusPump : IAsyncDisposable
{
    /// <summary>Reports per transaction at most, keeping entries well under the log's entry size.</summary>
    private const int MaxBatch = 500;

    private readonly Channel<(AgentReport Report, TaskCompletionSource Done)> _queue =
        Channel.CreateUnbounded<(AgentReport, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Func<SchedulerCommand, Task> _commit;
    private readonly Task _loop;

    /// <param name="commit">Executes a command through the scheduler's write path.</param>
    public StatusPump(Func<SchedulerCommand, Task> commit)
    {
        _commit = commit;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Completes once the report is in the log and applied (or faults with why it is not).</summary>
    public Task SubmitAsync(AgentReport report)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((report, done)))
        {
            done.SetException(new ObjectDisposedException(nameof(StatusPump)));
        }

        return done.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var batch = new List<(AgentReport Report, TaskCompletionSource Done)>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                await _commit(new ApplyAgentReports(batch.Select(b => b.Report).ToList())).ConfigureAwait(false);
                batch.ForEach(b => b.Done.TrySetResult());
            }
#pragma warning disable CA1031 // Every waiter learns of the failure; the loop must go on for the next batch.
            catch (Exception e)
#pragma warning restore CA1031
            {
                batch.ForEach(b => b.Done.TrySetException(e));
            }
        }
    }
}
