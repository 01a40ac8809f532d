namespace Aurora.Storage.Snapshots;

/// <summary>
/// A snapshot or backup file whose format version this build cannot read: written by a newer
/// Aurora.NET (or its version field is damaged). Nothing past the version field is interpreted.
/// </summary>
public sealed class UnknownSnapshotFormatVersionException : SnapshotFormatException
{
    public UnknownSnapshotFormatVersionException(string path, string kind, uint version, uint supportedVersion)
        : base(path, $"unknown {kind} format version {version} (this build reads version {supportedVersion}); it was written by a newer Aurora.NET, or the file is damaged")
    {
        Version = version;
        SupportedVersion = supportedVersion;
    }

    public uint Version { get; }

    public uint SupportedVersion { get; }
}
