using System.Runtime.InteropServices;
using System.Text;

namespace Aurora.Agent.Node;

/// <summary>Why a sandbox request was refused: a bad path or parameter (400), or a missing task or file (404).</summary>
internal sealed class SandboxRequestException(string message, bool notFound) : Exception(message)
{
    public bool NotFound { get; } = notFound;
}

/// <summary>One entry of a sandbox directory listing.</summary>
/// <param name="Path">Relative to the sandbox root, with '/' separators.</param>
/// <param name="Mtime">Seconds since the epoch, as Mesos's files/browse.</param>
internal sealed record SandboxEntry(string Name, string Path, long Size, long Mtime, bool IsDirectory);

/// <summary>
/// Reading a task's sandbox on behalf of HTTP clients, never outside it: relative paths only, no
/// <c>..</c>, and the real path (every symbolic link resolved) must lie under the sandbox's real path.
/// </summary>
internal static partial class SandboxFiles
{
    public const int MaxReadBytes = 1 << 20;
    public const int MaxTailLines = 10_000;

    /// <summary>The most a tail reads backwards looking for line ends.</summary>
    private const int MaxTailBytes = 4 << 20;

    /// <summary>The real path of <paramref name="relative"/> inside <paramref name="sandbox"/>; the sandbox itself for an empty path.</summary>
    /// <exception cref="SandboxRequestException">The path leaves the sandbox or does not exist.</exception>
    public static string Resolve(string sandbox, string? relative)
    {
        relative ??= string.Empty;
        if (relative.Contains('\0', StringComparison.Ordinal))
        {
            throw new SandboxRequestException("path must not contain NUL characters", notFound: false);
        }

        if (Path.IsPathRooted(relative) || relative.StartsWith('/') || relative.StartsWith('\\'))
        {
            throw new SandboxRequestException($"path '{relative}' is absolute; give a path relative to the sandbox", notFound: false);
        }

        if (relative.Split('/', '\\').Any(segment => segment == ".."))
        {
            throw new SandboxRequestException($"path '{relative}' contains '..'; paths must stay inside the sandbox", notFound: false);
        }

        var root = RealPath(sandbox) ?? throw new SandboxRequestException("the task's sandbox does not exist (yet)", notFound: true);
        var candidate = Path.Combine(sandbox, relative);
        var real = RealPath(candidate) ?? throw new SandboxRequestException($"no file or directory '{relative}' in the sandbox", notFound: true);
        if (real != root && !real.StartsWith(root.EndsWith('/') ? root : root + "/", StringComparison.Ordinal))
        {
            throw new SandboxRequestException($"path '{relative}' resolves outside the sandbox (through a symbolic link)", notFound: false);
        }

        return real;
    }

    public static IReadOnlyList<SandboxEntry> List(string sandbox, string? relative)
    {
        var directory = Resolve(sandbox, relative);
        if (!Directory.Exists(directory))
        {
            throw new SandboxRequestException($"'{relative}' is a file, not a directory: use read or tail", notFound: false);
        }

        var prefix = string.IsNullOrEmpty(relative) ? string.Empty : relative.TrimEnd('/') + "/";
        return [.. new DirectoryInfo(directory).EnumerateFileSystemInfos()
            .Select(info => new SandboxEntry(
                info.Name,
                prefix + info.Name,
                info is FileInfo file ? SizeOf(file) : 0,
                new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeSeconds(),
                info is DirectoryInfo))
            .OrderBy(e => e.Name, StringComparer.Ordinal)];
    }

    /// <summary>Up to <paramref name="length"/> bytes (capped at <see cref="MaxReadBytes"/>) from <paramref name="offset"/>; empty past the end.</summary>
    public static (byte[] Data, long FileSize) Read(string sandbox, string? relative, long offset, int length)
    {
        using var stream = OpenFile(sandbox, relative);
        var size = stream.Length;
        if (offset >= size)
        {
            return ([], size);
        }

        var buffer = new byte[(int)Math.Min(Math.Min(length, MaxReadBytes), size - offset)];
        stream.Position = offset;
        stream.ReadExactly(buffer);
        return (buffer, size);
    }

    /// <summary>The last <paramref name="lines"/> lines (a final newline does not start an empty line).</summary>
    public static byte[] Tail(string sandbox, string? relative, int lines)
    {
        using var stream = OpenFile(sandbox, relative);
        var end = stream.Length;
        var start = end;
        var newlines = 0;
        var buffer = new byte[64 * 1024];

        // Walk back in chunks counting newlines; the one ending the file does not count.
        while (start > 0 && end - start < MaxTailBytes)
        {
            var chunk = (int)Math.Min(buffer.Length, start);
            stream.Position = start - chunk;
            stream.ReadExactly(buffer, 0, chunk);
            for (var i = chunk - 1; i >= 0; i--)
            {
                var position = start - chunk + i;
                if (buffer[i] != '\n' || position == end - 1)
                {
                    continue;
                }

                if (++newlines == lines)
                {
                    return ReadRange(stream, position + 1, end);
                }
            }

            start -= chunk;
        }

        return ReadRange(stream, start, end);
    }

    private static byte[] ReadRange(FileStream stream, long from, long to)
    {
        var data = new byte[to - from];
        stream.Position = from;
        stream.ReadExactly(data);
        return data;
    }

    private static FileStream OpenFile(string sandbox, string? relative)
    {
        if (string.IsNullOrEmpty(relative))
        {
            throw new SandboxRequestException("path is required: the file to read, relative to the sandbox", notFound: false);
        }

        var path = Resolve(sandbox, relative);
        if (Directory.Exists(path))
        {
            throw new SandboxRequestException($"'{relative}' is a directory: use browse", notFound: false);
        }

        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
    }

    private static long SizeOf(FileInfo file)
    {
        try
        {
            return file.Length;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>realpath(3): the path with every symbolic link, '.' and '..' resolved; null when it does not exist.</summary>
    private static string? RealPath(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return Path.Exists(path) ? Path.GetFullPath(path) : null;
        }

        var resolved = Realpath(path, 0);
        if (resolved == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint Realpath(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);
}

/// <summary>The HTML index of a task's sandbox: plain links, no script.</summary>
internal static class SandboxIndex
{
    public static string Render(string taskId, string? relative, IReadOnlyList<SandboxEntry> entries)
    {
        static string Html(string text) => System.Net.WebUtility.HtmlEncode(text);
        static string Query(string text) => Uri.EscapeDataString(text);
        var task = Query(taskId);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>")
            .Append(Html(taskId)).Append("</title></head><body>\n<h1>Sandbox of ").Append(Html(taskId)).Append("</h1>\n<p>/")
            .Append(Html(relative ?? string.Empty)).Append("</p>\n<table>\n<tr><th>name</th><th>size</th><th>modified (UTC)</th><th></th></tr>\n");
        if (!string.IsNullOrEmpty(relative))
        {
            var parent = relative.TrimEnd('/');
            parent = parent.Contains('/', StringComparison.Ordinal) ? parent[..parent.LastIndexOf('/')] : string.Empty;
            html.Append("<tr><td><a href=\"/tasks/").Append(task).Append("?path=").Append(Query(parent)).Append("\">..</a></td><td></td><td></td><td></td></tr>\n");
        }

        foreach (var entry in entries)
        {
            var path = Query(entry.Path);
            var modified = DateTimeOffset.FromUnixTimeSeconds(entry.Mtime).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
            html.Append("<tr><td>");
            if (entry.IsDirectory)
            {
                html.Append("<a href=\"/tasks/").Append(task).Append("?path=").Append(path).Append("\">").Append(Html(entry.Name)).Append("/</a></td><td></td>");
            }
            else
            {
                html.Append("<a href=\"/tasks/").Append(task).Append("/read?path=").Append(path).Append("\">").Append(Html(entry.Name)).Append("</a></td><td>")
                    .Append(entry.Size.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append("</td>");
            }

            html.Append("<td>").Append(modified).Append("</td><td>");
            if (!entry.IsDirectory)
            {
                html.Append("<a href=\"/tasks/").Append(task).Append("/tail?path=").Append(path).Append("\">tail</a>");
            }

            html.Append("</td></tr>\n");
        }

        html.Append("</table>\n</body></html>\n");
        return html.ToString();
    }
}
