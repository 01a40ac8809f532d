using System.Globalization;

namespace Aurora.Storage.CrashChild;

/// <summary>
/// One line the crash child writes to stdout. Every line ends in <c>end</c>, so a line cut short
/// by the kill never parses as a (wrong) acknowledgement.
/// </summary>
public abstract record ChildLine
{
    private const string Terminator = "end";

    public abstract string Format();

    public static bool TryParse(string line, out ChildLine? parsed)
    {
        parsed = null;
        var fields = line.Split(' ');
        if (fields.Length < 2 || fields[^1] != Terminator)
        {
            return false;
        }

        try
        {
            parsed = (fields[0], fields.Length) switch
            {
                ("open", 5) => new OpenedLine(ULong(fields[1]), fields[2] == "-" ? null : fields[2], long.Parse(fields[3], CultureInfo.InvariantCulture)),
                ("ack", 7) => new AckLine(ULong(fields[1]), Int(fields[2]), Int(fields[3]), long.Parse(fields[4], CultureInfo.InvariantCulture), fields[5]),
                ("sync-failing", 4) => new SyncFailingLine(Int(fields[1]), ULong(fields[2])),
                ("done", 2) => new DoneLine(),
                _ => null,
            };
        }
        catch (FormatException)
        {
            return false;
        }

        return parsed is not null;
    }

    protected static string Line(params object[] fields) =>
        string.Join(' ', fields.Select(f => Convert.ToString(f, CultureInfo.InvariantCulture)).Append(Terminator));

    private static ulong ULong(string text) => ulong.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);

    private static int Int(string text) => int.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
}

/// <summary>The log opened: what it recovered, and the torn tail it cut (file name and offset), if any.</summary>
public sealed record OpenedLine(ulong LastDurablePosition, string? TornFileName, long TornOffset) : ChildLine
{
    public override string Format() => Line("open", LastDurablePosition, TornFileName ?? "-", TornOffset);
}

/// <summary>
/// <see cref="Log.SegmentedLog.AppendAsync(Protos.LogEntry, CancellationToken)"/> returned for this
/// entry: it is acknowledged, and <paramref name="Digest"/> is <see cref="CrashWorkload.Digest"/> of it.
/// </summary>
public sealed record AckLine(ulong Position, int Round, int Writer, long Sequence, string Digest) : ChildLine
{
    public EntryIdentity Identity(int seed) => new(seed, Round, Writer, Sequence);

    public override string Format() => Line("ack", Position, Round, Writer, Sequence, Digest);
}

/// <summary>The injected fdatasync failure is about to be thrown; nothing past <paramref name="LastDurablePosition"/> may be acknowledged.</summary>
public sealed record SyncFailingLine(int SyncNumber, ulong LastDurablePosition) : ChildLine
{
    public override string Format() => Line("sync-failing", SyncNumber, LastDurablePosition);
}

/// <summary>Every writer reached its cap and the log was closed cleanly.</summary>
public sealed record DoneLine : ChildLine
{
    public override string Format() => Line("done");
}
