namespace Aurora.Testing;

/// <summary>Waiting for real processes to get somewhere: polls a condition until it holds, or fails saying what it waited for and what it saw.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan DefaultPoll = TimeSpan.FromMilliseconds(200);

    /// <param name="poll">How often to look; short where the condition holds only briefly (a state a task passes through).</param>
    public static async Task HoldsAsync(string what, Func<Task<bool>> condition, TimeSpan? timeout = null, Func<string>? describe = null, TimeSpan? poll = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        using var cancel = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (!await condition().ConfigureAwait(false))
        {
            if (cancel.IsCancellationRequested)
            {
                throw new TimeoutException($"timed out after {timeout ?? DefaultTimeout} waiting for {what}{(describe is null ? string.Empty : ":\n" + describe())}");
            }

            await Task.Delay(poll ?? DefaultPoll, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public static Task HoldsAsync(string what, Func<bool> condition, TimeSpan? timeout = null, Func<string>? describe = null, TimeSpan? poll = null) =>
        HoldsAsync(what, () => Task.FromResult(condition()), timeout, describe, poll);
}
