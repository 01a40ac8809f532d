using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.State;

/// <summary>
/// The log holds an event kind this version does not know, written by a newer scheduler. Replaying
/// past it would silently lose state, so replay stops here.
/// </summary>
public class UnknownEventException : EventApplyException
{
    public UnknownEventException(ulong position, Event e)
        : base(position, $"unknown event kind (field numbers {DescribeFields(e)}); it was written by a newer Aurora.NET: upgrade this binary before replaying the log")
    {
    }

    private static string DescribeFields(Event e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(e);
        var input = new Google.Protobuf.CodedInputStream(bytes);
        var fields = new List<int>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            fields.Add(Google.Protobuf.WireFormat.GetTagFieldNumber(tag));
            input.SkipLastField();
        }

        return fields.Count == 0 ? "none" : string.Join(",", fields);
    }
}
