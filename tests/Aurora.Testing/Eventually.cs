namespace Aurora.Testing;

/// <summary>Waiting for real processes to get somewhere: polls a condition until it holds, or fails saying what it waited for and what it saw.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static async Task HoldsAsync(string what, Func<Task<bool>> condition, TimeSpan? timeout = null, Func<string>? describe = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        using var cancel = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (!await condition().ConfigureAwait(false))
        {
            if (cancel.IsCancellationRequested)
            {
                throw new TimeoutException($"timed out after {timeout ?? DefaultTimeout} waiting for {what}{(describe is null ? string.Empty : ":\n" + describe())}");
            }

            await Task.Delay(200, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public static Task HoldsAsync(string what, Func<bool> condition, TimeSpan? timeout = null, Func<string>? describe = null) =>
        HoldsAsync(what, () => Task.FromResult(condition()), timeout, describe);
}
