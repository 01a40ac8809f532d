using System.Globalization;

namespace Aurora.Testing.Linearizability;

/// <summary>An operation on a replicated log: <see cref="LogAppend{TValue}"/> or <see cref="LogRead{TValue}"/>.</summary>
public abstract record LogInput<TValue>
    where TValue : notnull;

/// <summary>Append <see cref="Value"/> to the log; it returns the position at which the value was committed.</summary>
public sealed record LogAppend<TValue>(TValue Value) : LogInput<TValue>
    where TValue : notnull
{
    public override string ToString() => $"Append({Value})";
}

/// <summary>Read the committed log; it returns every value in position order.</summary>
public sealed record LogRead<TValue> : LogInput<TValue>
    where TValue : notnull
{
    public override string ToString() => "Read";
}

/// <summary>What a log operation returned: <see cref="LogAppended{TValue}"/> or <see cref="LogReadResult{TValue}"/>.</summary>
public abstract record LogOutput<TValue>
    where TValue : notnull;

/// <summary>An append's value was committed at <see cref="Position"/>.</summary>
public sealed record LogAppended<TValue>(ulong Position) : LogOutput<TValue>
    where TValue : notnull
{
    public override string ToString() => $"position {Position.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// A read's view of the committed log: its values in position order, from the first position to the
/// last the reader knew committed. Compared by reference: one instance per read.
/// </summary>
public sealed record LogReadResult<TValue>(IReadOnlyList<TValue> Values) : LogOutput<TValue>
    where TValue : notnull
{
    public override string ToString() => LogText.Values(Values.Select(v => v.ToString() ?? "null").ToList());
}

/// <summary>How reports show logs: short ones whole, long ones by their ends.</summary>
internal static class LogText
{
    private const int Head = 3;
    private const int Tail = 8;

    public static string Values(IReadOnlyList<string> values) =>
        values.Count <= Head + Tail + 1
            ? $"{Count(values.Count)} [{string.Join(", ", values)}]"
            : $"{Count(values.Count)} [{string.Join(", ", values.Take(Head))}, ..., {string.Join(", ", values.Skip(values.Count - Tail))}]";

    public static string Count(int values) => values == 1 ? "1 value" : $"{values} values";
}
