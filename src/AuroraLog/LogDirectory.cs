using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Persistence;
using Aurora.Storage;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;

namespace Aurora.LogTool;

/// <summary>The flags and checks every command shares.</summary>
internal static class LogDirectory
{
    public static readonly FlagSpec PathFlag = new("path", "the log directory (the scheduler's -native_log_file_path)", "DIR");

    public static readonly FlagSpec JsonFlag = new("json", "print JSON instead of text");

    public static readonly FlagSpec ClusterNameFlag = new(
        "cluster_name", "the cluster's name, as the scheduler's -cluster_name: replicas refuse peers that present another", "NAME");

    /// <summary>
    /// The --cluster_name value, or null when not given. A cluster name follows the identifier rule
    /// of roles and jobs (<see cref="JobKeys.IdentifierRule"/>): it travels in every replication
    /// handshake and is compared literally, so it must be printable and unambiguous.
    /// </summary>
    public static string? ClusterName(ParsedFlags flags)
    {
        var name = flags.GetString(ClusterNameFlag.Name);
        if (name is null || JobKeys.IsGoodIdentifier(name))
        {
            return name;
        }

        var shown = name.Length <= 64 ? name : name[..61] + "...";
        throw new UsageException($"--cluster_name={shown} is not a cluster name: it must be {JobKeys.IdentifierRule}, as the scheduler's -cluster_name");
    }

    /// <summary>The --path value as a full path, checked only for being a usable path.</summary>
    public static string FullPath(ParsedFlags flags, string command)
    {
        var path = flags.RequireString(PathFlag.Name, $"{Program.Name} {command} --path=DIR");
        try
        {
            return Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new UsageException($"--path={path} is not a usable path: {e.Message}");
        }
    }

    /// <summary>The --path value, which must name an existing, readable directory.</summary>
    public static string RequireExisting(ParsedFlags flags, ToolContext context, string command) =>
        RequireExistingDirectory(FullPath(flags, command), context, "--path", "log directory");

    /// <summary>The absolute form of a path given as <paramref name="flag"/>, or a usage error naming the flag.</summary>
    public static string UsablePath(string flag, string path)
    {
        try
        {
            return Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new UsageException($"{flag}={path} is not a usable path: {e.Message}");
        }
    }

    /// <summary>The <paramref name="what"/> named by <paramref name="flag"/>, which must exist and be readable.</summary>
    public static string RequireExistingDirectory(string path, ToolContext context, string flag, string what)
    {
        var directory = UsablePath(flag, path);

        var fs = context.FileSystem;
        if (fs.FileExists(directory))
        {
            throw new UsageException($"{flag}={directory} is a file; it must be the {what}");
        }

        if (!fs.DirectoryExists(directory))
        {
            throw new UsageException($"{what} {directory} does not exist; check {flag}");
        }

        // An unreadable directory would otherwise look like an empty, uninitialized one.
        try
        {
            _ = fs.ListEntries(directory);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UnauthorizedAccessException($"cannot read {what} {directory}: {e.Message}", e);
        }

        return directory;
    }

    /// <summary>The entries of the log directory that the storage engine does not keep there (<see cref="LogDirectoryLayout"/>).</summary>
    public static IReadOnlyList<UnaccountedFile> Unaccounted(string directory, ToolContext context) =>
        LogDirectoryLayout.FindUnaccounted(context.FileSystem, directory);

    /// <summary>
    /// What <c>dump</c> and <c>state</c> check before they read anything: every file in the log
    /// directory is accounted for, and the replica metadata is readable.
    /// </summary>
    /// <exception cref="UnaccountedFilesException">A file the log does not keep is there.</exception>
    /// <exception cref="InvalidDataException">replica.meta is damaged (the message says what to do).</exception>
    /// <exception cref="IOException">replica.meta cannot be read, or is not a regular file.</exception>
    public static ReplicaMetadata RequireSound(string directory, ToolContext context)
    {
        var unaccounted = Unaccounted(directory, context);
        if (unaccounted.Count > 0)
        {
            throw new UnaccountedFilesException(directory, unaccounted);
        }

        return new ReplicaMetadataStore(context.FileSystem, directory).Load();
    }

    public static LogOptions ReadOnlyLog(string directory, ToolContext context) =>
        new() { Directory = directory, ReadOnly = true, FileSystem = context.FileSystem, Time = context.Time };

    public static SnapshotStore Snapshots(string directory, ToolContext context) =>
        new(new SnapshotOptions { Directory = directory, FileSystem = context.FileSystem, Time = context.Time });

    /// <summary>How the tools replay: decoding on a second thread when the machine has a second core.</summary>
    public static ReplayDecoding Decoding => Environment.ProcessorCount > 1 ? ReplayDecoding.Ahead : ReplayDecoding.InLine;

    /// <summary>ISO-8601 UTC with microseconds, the log's own resolution.</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static string FormatMicros(long micros) =>
        FormatTime(DateTimeOffset.UnixEpoch.AddTicks(micros * TimeSpan.TicksPerMicrosecond));

    /// <summary>"123456 bytes (120.6 KiB)".</summary>
    public static string FormatBytes(long bytes)
    {
        string[] units = ["KiB", "MiB", "GiB", "TiB"];
        var text = bytes.ToString(CultureInfo.InvariantCulture) + " bytes";
        if (bytes < 1024)
        {
            return text;
        }

        var value = (double)bytes;
        var unit = -1;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return $"{text} ({value.ToString("0.0", CultureInfo.InvariantCulture)} {units[unit]})";
    }

    /// <summary>Writes one JSON document with <paramref name="write"/> and returns it as text.</summary>
    public static string Json(Action<Utf8JsonWriter> write, bool indented)
    {
        var buffer = new ArrayBufferWriter<byte>();
        // Relaxed escaping keeps paths and principals readable; quotes and control characters are still escaped.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            write(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
