namespace Aurora.Testing.Linearizability;

/// <summary>
/// One client operation of a history: what the client asked (<see cref="Input"/>), when it asked
/// (<see cref="CallTime"/>), what it was told (<see cref="Output"/>) and when (<see cref="ReturnTime"/>).
/// </summary>
/// <remarks>
/// <para>
/// Times are any monotonic clock shared by every client of the history (simulated ticks, or
/// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> in a real-process test); only their order
/// matters. An operation called at the very instant another returned counts as concurrent with it.
/// </para>
/// <para>
/// An operation whose outcome is unknown (the client timed out, the leader it spoke to crashed) has
/// a null <see cref="Output"/>: <see cref="Completed"/> is false, its <see cref="ReturnTime"/> is
/// ignored, and it is checked as if it returned at +infinity, so it may or may not have taken effect,
/// at any moment after its call. A completed operation therefore always has a non-null output: use a
/// reference type or a <see cref="Nullable{T}"/> for <typeparamref name="TOutput"/> (an acknowledgement
/// with nothing in it is still an object). <see cref="Operation.Unknown{TInput, TOutput}"/> builds one.
/// </para>
/// <para>
/// <see cref="ClientId"/> is only reported; real-time order alone constrains the check (a client's
/// operations do not overlap each other if it waits for each, and then their times say so).
/// </para>
/// </remarks>
public sealed record Operation<TInput, TOutput>(int ClientId, TInput Input, long CallTime, TOutput? Output, long ReturnTime)
{
    /// <summary>False when the outcome is unknown: the operation may or may not have taken effect.</summary>
    public bool Completed => Output is not null;

    public override string ToString() =>
        $"client {ClientId}: {Input} -> {(Completed ? Output!.ToString() : "?")} [{CallTime}, {(Completed ? ReturnTime.ToString(System.Globalization.CultureInfo.InvariantCulture) : "?")})";
}

/// <summary>Builders for <see cref="Operation{TInput, TOutput}"/>.</summary>
public static class Operation
{
    /// <summary>An operation that returned <paramref name="output"/> at <paramref name="returnTime"/>.</summary>
    public static Operation<TInput, TOutput> Completed<TInput, TOutput>(int clientId, TInput input, long callTime, TOutput output, long returnTime)
        where TOutput : notnull =>
        new(clientId, input, callTime, output, returnTime);

    /// <summary>An operation whose outcome is unknown: it may have taken effect at any moment after <paramref name="callTime"/>, or never.</summary>
    public static Operation<TInput, TOutput> Unknown<TInput, TOutput>(int clientId, TInput input, long callTime) =>
        new(clientId, input, callTime, default, long.MaxValue);
}
