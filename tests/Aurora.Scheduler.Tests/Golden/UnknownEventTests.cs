using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Google.Protobuf;

namespace Aurora.Scheduler.Tests.Golden;

/// <summary>
/// An event kind written by a newer scheduler (an oneof field number this version does not know)
/// stops Apply with <see cref="UnknownEventException"/>: skipping it would silently lose state.
/// </summary>
public class UnknownEventTests
{
    private const int FutureKind = 99;

    [Fact]
    public void An_event_with_an_unknown_kind_fails_apply_loudly_and_names_the_field()
    {
        var bytes = FutureEventBytes();
        var e = Event.Parser.ParseFrom(bytes);
        var state = new SchedulerState();
        var before = state.StateHash();

        var error = Assert.Throws<UnknownEventException>(() => state.Apply(new TransactionInfo(42, 0, "newer"), e));

        Assert.Equal(Event.KindOneofCase.None, e.KindCase);
        Assert.Equal(42UL, error.Position);
        Assert.Contains($"field numbers {FutureKind}", error.Message, StringComparison.Ordinal);
        Assert.Contains("upgrade", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, state.StateHash());
    }

    [Fact]
    public void An_unknown_event_inside_a_transaction_fails_the_transaction()
    {
        // Transaction.events = 1: a known event, then the one from the future.
        var known = new Event { FrameworkIdSaved = new FrameworkIdSaved { FrameworkId = "fw-1" } }.ToByteArray();
        var bytes = Wire.Cat(Wire.Bytes(1, known), Wire.Bytes(1, FutureEventBytes()));
        var transaction = Transaction.Parser.ParseFrom(bytes);

        var error = Assert.Throws<UnknownEventException>(() => new SchedulerState().Apply(new TransactionInfo(7, 0, "newer"), transaction));

        Assert.Equal(7UL, error.Position);
        Assert.Equal(2, transaction.Events.Count);
    }

    [Fact]
    public void An_unknown_event_survives_re_encoding_byte_for_byte()
    {
        // A replica relaying or archiving entries it cannot apply must not strip what it does not understand.
        var bytes = FutureEventBytes();

        Assert.Equal(bytes, Event.Parser.ParseFrom(bytes).ToByteArray());
    }

    [Fact]
    public void An_event_with_no_kind_at_all_fails_apply_loudly()
    {
        var error = Assert.Throws<UnknownEventException>(() => new SchedulerState().Apply(new TransactionInfo(3, 0, "p"), new Event()));

        Assert.Contains("field numbers none", error.Message, StringComparison.Ordinal);
    }

    /// <summary>An Event carrying field 99 (length-delimited) written directly with CodedOutputStream.</summary>
    private static byte[] FutureEventBytes()
    {
        using var stream = new MemoryStream();
        using (var output = new CodedOutputStream(stream, leaveOpen: true))
        {
            output.WriteTag(FutureKind, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFromUtf8("a fact from the future"));
        }

        return stream.ToArray();
    }
}
