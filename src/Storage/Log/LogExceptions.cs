namespace Aurora.Storage.Log;

/// <summary>
/// A record that fails its checksum or breaks the log's structure somewhere other than a torn tail.
/// The log refuses to open rather than skip it; replication can repair it from a peer.
/// </summary>
public sealed class LogCorruptedException : IOException
{
    public LogCorruptedException(string file, long offset, ulong? position, string problem)
        : base(Describe(file, offset, position, problem))
    {
        File = file;
        Offset = offset;
        Position = position;
        Problem = problem;
    }

    public string File { get; }

    public long Offset { get; }

    /// <summary>The position of the damaged entry, or the one expected there when the header is unreadable.</summary>
    public ulong? Position { get; }

    public string Problem { get; }

    public static string Describe(string file, long offset, ulong? position, string problem) =>
        $"corrupt log record in {file} at offset {offset}"
        + (position is { } p ? $" (position {p})" : string.Empty)
        + $": {problem}";
}
