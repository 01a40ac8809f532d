using Aurora.Storage;

namespace Aurora.LogTool;

/// <summary>
/// The log directory holds files the storage engine does not account for (see
/// <see cref="LogDirectoryLayout"/>), so a command that reads the log refuses to present what it
/// read as the whole story. Exit code 1, like any other failed read.
/// </summary>
internal sealed class UnaccountedFilesException(string directory, IReadOnlyList<UnaccountedFile> files)
    : IOException(Describe(directory, files))
{
    public IReadOnlyList<UnaccountedFile> Files { get; } = files;

    /// <summary>One line naming every file, its kind and why it does not belong, and the cure.</summary>
    public static string Describe(string directory, IReadOnlyList<UnaccountedFile> files) =>
        $"cannot account for {files.Count} file(s) in {directory}: {string.Join(", ", files)}; "
        + $"move them out of the log directory ('{Program.Name} verify' checks everything)";
}
