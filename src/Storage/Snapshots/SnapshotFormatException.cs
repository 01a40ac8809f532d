namespace Aurora.Storage.Snapshots;

/// <summary>
/// Why a snapshot or backup file cannot be used: bad magic, a checksum mismatch, a truncated file.
/// The message names the file and the problem.
/// </summary>
/// <remarks>
/// The public <c>Read</c> methods throw <see cref="InvalidDataException"/> (which is sealed), with
/// this exception as its <see cref="Exception.InnerException"/>, so callers can catch one type and
/// still tell an unknown format version (<see cref="UnknownSnapshotFormatVersionException"/>) from damage.
/// </remarks>
public class SnapshotFormatException : IOException
{
    public SnapshotFormatException(string path, string problem)
        : base($"{path}: {problem}")
    {
        Path = path;
        Problem = problem;
    }

    public string Path { get; }

    /// <summary>What is wrong with the file, without its name.</summary>
    public string Problem { get; }

    /// <summary>The exception the public read methods throw for this problem.</summary>
    internal InvalidDataException ToInvalidData() => new(Message, this);
}
