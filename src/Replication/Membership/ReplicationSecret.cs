using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Aurora.Posix;
using Aurora.Storage.IO;

namespace Aurora.Replication.Membership;

/// <summary>
/// The secret every replica proves it knows in the handshake (<c>-replication_secret_file</c>): the
/// file's bytes exactly as they are, a trailing newline included, so every replica must be given
/// the same file.
/// </summary>
/// <remarks>
/// Immutable; safe to share between threads. <see cref="ToString"/> never shows the bytes, so the
/// secret can sit in an options record that is logged.
/// </remarks>
public sealed class ReplicationSecret
{
    /// <summary>The fewest bytes a secret may have (128 bits).</summary>
    public const int MinLength = 16;

    /// <summary>The most bytes a secret file may have: anything larger is the wrong file.</summary>
    public const int MaxLength = 64 * 1024;

    private const string Flag = ReplicationFlags.SecretFile;
    private const string HowToMakeOne = "head -c 32 /dev/urandom >";

    private readonly byte[] _bytes;

    /// <exception cref="ArgumentException">Fewer than <see cref="MinLength"/> or more than <see cref="MaxLength"/> bytes.</exception>
    public ReplicationSecret(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length is < MinLength or > MaxLength)
        {
            throw new ArgumentException($"a secret has {MinLength} to {MaxLength} bytes, not {bytes.Length}", nameof(bytes));
        }

        _bytes = bytes.ToArray();
    }

    public ReadOnlySpan<byte> Bytes => _bytes;

    public int Length => _bytes.Length;

    /// <summary>"(32 bytes, not shown)".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"({_bytes.Length} bytes, not shown)");

    /// <summary>
    /// Reads the secret from <paramref name="path"/>. Refused: nothing there, a directory, a FIFO, a
    /// socket or a device (never opened in a way that could block), a file that cannot be read, an
    /// empty file, fewer than <see cref="MinLength"/> or more than <see cref="MaxLength"/> bytes. A
    /// symbolic link is followed (secrets are often mounted that way). A file that its group or
    /// others may read or write is accepted with a warning.
    /// </summary>
    /// <param name="problem">Why the secret was refused: one line naming the flag and the file.</param>
    /// <param name="warning">When accepted, a warning about the file's mode, if any.</param>
    public static bool TryLoad(string path, IFileSystem fileSystem, [NotNullWhen(true)] out ReplicationSecret? secret, [NotNullWhen(false)] out string? problem, out string? warning)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(fileSystem);
        secret = null;
        warning = null;
        var named = $"-{Flag}={path}";
        byte[] bytes;
        try
        {
            using var file = fileSystem.OpenFile(path, FileOpenMode.ReadExisting, SymlinkPolicy.Follow);
            var length = file.Length;
            if (length > MaxLength)
            {
                problem = string.Create(CultureInfo.InvariantCulture, $"{named} holds {length} bytes, and a secret has at most {MaxLength}: is it the right file?");
                return false;
            }

            bytes = new byte[length];
            bytes = bytes[..file.ReadFully(0, bytes)];
        }
        catch (NotARegularFileException e)
        {
            problem = $"{named} is {FileKinds.Describe(e.Kind)}, not a regular file holding the secret";
            return false;
        }
        catch (FileNotFoundException)
        {
            problem = $"{named} does not exist: make it on one replica ({HowToMakeOne} {path}; chmod 600 {path}) and copy it to every other";
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            problem = $"{named} cannot be read: permission denied; the scheduler's user must be able to read it";
            return false;
        }
        catch (IOException e)
        {
            problem = $"{named} cannot be read: {e.Message}";
            return false;
        }

        if (bytes.Length < MinLength)
        {
            problem = bytes.Length == 0
                ? $"{named} is empty: it must hold at least {MinLength} random bytes, the same on every replica ({HowToMakeOne} {path})"
                : string.Create(CultureInfo.InvariantCulture, $"{named} holds only {bytes.Length} bytes: a secret must have at least {MinLength} ({HowToMakeOne} {path})");
            return false;
        }

        secret = new ReplicationSecret(bytes);
        problem = null;
        warning = ModeWarning(path, named);
        return true;
    }

    /// <summary>A warning when the file's group or others may read or write it; null otherwise, or when the mode cannot be read.</summary>
    private static string? ModeWarning(string path, string named)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        UnixFileMode mode;
        try
        {
            mode = File.GetUnixFileMode(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var readers = Who(mode, UnixFileMode.GroupRead, UnixFileMode.OtherRead);
        var writers = Who(mode, UnixFileMode.GroupWrite, UnixFileMode.OtherWrite);
        if (readers is null && writers is null)
        {
            return null;
        }

        var access = string.Join(" and ", new[] { readers is null ? null : $"read by {readers}", writers is null ? null : $"written by {writers}" }.OfType<string>());
        var octal = Convert.ToString((int)mode & 0x1FF, 8);
        return $"{named} can be {access} (mode {octal}): whoever reads the secret can join this cluster's replication; chmod 600 {path}";
    }

    private static string? Who(UnixFileMode mode, UnixFileMode group, UnixFileMode others) =>
        (mode.HasFlag(group), mode.HasFlag(others)) switch
        {
            (true, true) => "its group and others",
            (true, false) => "its group",
            (false, true) => "others",
            _ => null,
        };
}
