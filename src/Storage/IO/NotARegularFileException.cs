namespace Aurora.Storage.IO;

/// <summary>
/// The storage engine was asked to open something that is not a regular file: a FIFO, a socket, a
/// device, a directory, or a symbolic link where none belongs. It refuses at once instead of
/// reading it (a FIFO would block the open forever, a device would yield endless bytes).
/// </summary>
/// <remarks>
/// Thrown by <see cref="IFileSystem.OpenFile"/> after the open itself, from the kind of the opened
/// descriptor (fstat), so nothing can swap the file in between. An <see cref="IOException"/>, so
/// every caller that treats I/O errors as fatal (the scheduler at start-up) stops with this message.
/// </remarks>
public sealed class NotARegularFileException : IOException
{
    public NotARegularFileException(string path, FileKind kind)
        : base($"{path} is {Problem(kind)}")
    {
        Path = path;
        Kind = kind;
    }

    public string Path { get; }

    public FileKind Kind { get; }

    /// <summary>What is wrong and what to do, without the file's name: "a FIFO (named pipe), not a regular file; remove it or move it away".</summary>
    public static string Problem(FileKind kind) =>
        $"{FileKinds.Describe(kind)}, not a regular file; remove it or move it away";
}
