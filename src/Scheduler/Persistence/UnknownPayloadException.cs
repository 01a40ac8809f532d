using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Persistence;

/// <summary>A log entry whose payload is not a scheduler transaction this version understands.</summary>
public class UnknownPayloadException : EventApplyException
{
    public UnknownPayloadException(ulong position, string typeUrl)
        : base(position, $"the payload type '{typeUrl}' is not '{TransactionCodec.TypeUrl}'; the log was written by a newer or a different program")
    {
        TypeUrl = typeUrl;
    }

    public string TypeUrl { get; }
}
