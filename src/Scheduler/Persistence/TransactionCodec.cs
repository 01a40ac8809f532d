using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Storage.Protos;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Scheduler.Persistence;

/// <summary>Scheduler transactions in and out of storage log entries.</summary>
public static class TransactionCodec
{
    /// <summary>The payload type of every scheduler log entry; a newer, incompatible schema gets a new name.</summary>
    public static readonly string TypeUrl = "type.googleapis.com/" + Transaction.Descriptor.FullName;

    public static LogEntry Encode(Transaction transaction, string principal, long timestampMicros, ulong term) => new()
    {
        Term = term,
        TimestampMicros = timestampMicros,
        Principal = principal,
        Payload = Any.Pack(transaction),
    };

    public static TransactionInfo Info(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return new TransactionInfo(entry.Position, entry.TimestampMicros, entry.Principal);
    }

    /// <summary>The entry's transaction.</summary>
    /// <exception cref="UnknownPayloadException">The entry holds something other than a scheduler transaction.</exception>
    public static Transaction Decode(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Payload is null || entry.Payload.TypeUrl != TypeUrl)
        {
            throw new UnknownPayloadException(entry.Position, entry.Payload?.TypeUrl ?? "(none)");
        }

        try
        {
            return Transaction.Parser.ParseFrom(entry.Payload.Value);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new EventApplyException(entry.Position, $"the transaction does not decode: {e.Message}");
        }
    }

    /// <summary>
    /// True for the entry a replicated leader appends when its term starts (no payload): it
    /// carries no transaction and changes no state, but it takes a position.
    /// </summary>
    public static bool IsTermStart(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return entry.Payload is null;
    }

    /// <summary>
    /// Decodes and applies one committed entry (replay, and the benchmarks that measure it; the
    /// store's apply loop decodes before it takes its write lock, then applies through the same
    /// <see cref="SchedulerState.Apply"/>); returns the transaction applied, or null for a term-start entry.
    /// </summary>
    public static Transaction? ApplyTo(SchedulerState state, LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (IsTermStart(entry))
        {
            return null;
        }

        var transaction = Decode(entry);
        state.Apply(Info(entry), transaction);
        return transaction;
    }
}
