using Aurora.Agent.Executor;

namespace Aurora.Agent.Node;

/// <summary>
/// Deletes the sandboxes of tasks the scheduler has recorded as finished once they are older than
/// <c>-gc_delay</c>, as the Mesos agent's garbage collector does: at start, then at a quarter of the
/// delay (at most hourly), so a sandbox goes at most that much later than its delay.
/// </summary>
internal sealed class SandboxCollector : IAsyncDisposable
{
    private static readonly TimeSpan LongestInterval = TimeSpan.FromHours(1);

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public SandboxCollector(ITaskExecutor executor, TimeSpan gcDelay, TimeProvider time, ILogger logger)
    {
        var interval = TimeSpan.FromTicks(Math.Clamp(gcDelay.Ticks / 4, TimeSpan.TicksPerSecond, LongestInterval.Ticks));
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var collected = executor.CollectSandboxes(time.GetUtcNow() - gcDelay);
                    if (collected.Count > 0)
                    {
                        NodeMessages.SandboxesCollected(logger, collected.Count, gcDelay);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The work dir is unreadable for now; the next round tries again.
                    NodeMessages.ExecutorFailed(logger, e, "collect the sandboxes of", "(any)");
                }

                try
                {
                    await Task.Delay(interval, time, _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }
}
