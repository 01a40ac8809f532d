using System.Globalization;
using System.Text;
using Aurora.Agent.Executor;
using Aurora.Agent.Protocol;
using Microsoft.Win32.SafeHandles;

namespace Aurora.Agent.Node;

/// <summary>Why a sandbox request was refused: the HTTP status and the error code it answers with.</summary>
internal sealed class SandboxRequestException(int status, string code, string message) : Exception(message)
{
    /// <summary>A parameter is missing, repeated, or not a number in range.</summary>
    public const string InvalidRequest = "INVALID_REQUEST";

    /// <summary>The path is malformed or leads out of the sandbox.</summary>
    public const string BadPath = "BAD_PATH";

    /// <summary>read or tail of anything but a regular file: the message names the kind.</summary>
    public const string NotAFile = "NOT_A_FILE";

    /// <summary>browse or the index of anything but a directory: the message names the kind.</summary>
    public const string NotADirectory = "NOT_A_DIRECTORY";

    /// <summary>A regular file with more than one name: another may lie outside the sandbox.</summary>
    public const string HardLinked = "HARD_LINKED";

    public const string NotFound = "NOT_FOUND";

    public const string PermissionDenied = "PERMISSION_DENIED";

    public int Status { get; } = status;

    public string Code { get; } = code;

    public static SandboxRequestException Invalid(string message) => new(400, InvalidRequest, message);

    public static SandboxRequestException Path(string message) => new(400, BadPath, message);

    public static SandboxRequestException Missing(string message) => new(404, NotFound, message);
}

/// <summary>One entry of a sandbox directory listing.</summary>
/// <param name="Path">Relative to the sandbox root, with '/' separators.</param>
/// <param name="Size">Bytes, for a regular file; 0 for anything else.</param>
/// <param name="Mtime">Seconds since the epoch, as Mesos's files/browse.</param>
/// <param name="Kind">file, directory, symlink, fifo, socket, char_device, block_device or unknown (<see cref="FileKinds.Name"/>); a symbolic link is not followed.</param>
internal sealed record SandboxEntry(string Name, string Path, long Size, long Mtime, bool IsDirectory, string Kind);

/// <summary>
/// Reading a task's sandbox on behalf of HTTP clients: only regular files are read, nothing ever
/// blocks, and nothing outside the sandbox is ever read.
/// </summary>
/// <remarks>
/// <para>The task owns every name in its sandbox and may swap any of them at any moment, so every
/// request goes the same way (<see cref="Open"/>):</para>
/// <list type="number">
/// <item>the path is checked as text: relative, no NUL, no <c>..</c> segment;</item>
/// <item>the sandbox is opened with O_PATH|O_NOFOLLOW|O_DIRECTORY;</item>
/// <item>the path is walked from that descriptor one name at a time, each opened with
/// openat(O_PATH|O_NOFOLLOW) relative to the one before (<see cref="Resolve"/>). Nothing is looked up
/// by a full path, so there is no window between a check and an open for a swapped-in symbolic link to
/// use. A symbolic link met on the way is read through its own descriptor and its target walked the
/// same way, and never above the sandbox's root: a link may lead anywhere inside the sandbox, never out
/// of it;</item>
/// <item>O_PATH opens nothing for I/O, so a FIFO, a socket or a device node is never opened. The
/// object's kind is read from its descriptor (statx). Only a regular file with a single link is read,
/// reopened through /proc/self/fd with O_NONBLOCK (the same inode, checked); a directory is listed
/// through its descriptor, each entry looked at with statx relative to it, never opened.</item>
/// </list>
/// <para>A file with more than one link is refused: the agent reads with its own rights, and
/// another name of the file may lie anywhere on the file system, so a task (or, once tasks run as
/// other users, anyone sharing its sandbox) could otherwise make the agent serve a file it cannot
/// read itself, and hard links are not visible in a path. The task can copy such a file instead.</para>
/// <para>Stateless and thread-safe; each call holds its descriptors only while it runs.</para>
/// </remarks>
internal static class SandboxFiles
{
    public const int MaxReadBytes = 1 << 20;
    public const int MaxTailLines = 10_000;

    /// <summary>The longest path accepted (PATH_MAX).</summary>
    public const int MaxPathLength = 4096;

    /// <summary>Symbolic links followed in one path at most (the kernel's MAXSYMLINKS).</summary>
    private const int MaxSymbolicLinks = 40;

    /// <summary>The most a tail reads backwards looking for line ends.</summary>
    private const int MaxTailBytes = 4 << 20;

    /// <summary>A file or directory of the sandbox, opened with O_PATH and checked to lie inside it.</summary>
    internal sealed class Opened(PathHandle handle, FileFacts facts, string relative) : IDisposable
    {
        public PathHandle Handle { get; } = handle;

        public FileFacts Facts { get; } = facts;

        /// <summary>The path as the client gave it, for messages.</summary>
        public string Relative { get; } = relative;

        public void Dispose() => Handle.Dispose();
    }

    public static IReadOnlyList<SandboxEntry> List(string sandbox, string? relative)
    {
        using var directory = Open(sandbox, relative ?? string.Empty);
        if (directory.Facts.Kind != FileKind.Directory)
        {
            var hint = directory.Facts.Kind == FileKind.Regular ? ": use read or tail" : string.Empty;
            throw new SandboxRequestException(400, SandboxRequestException.NotADirectory, $"'{Shown(relative)}' is {FileKinds.Describe(directory.Facts.Kind)}, not a directory{hint}");
        }

        var prefix = string.IsNullOrEmpty(relative) ? string.Empty : relative.TrimEnd('/') + "/";
        var entries = new List<SandboxEntry>();
        foreach (var path in Directory.EnumerateFileSystemEntries(directory.Handle.ContentsPath))
        {
            var name = System.IO.Path.GetFileName(path);

            // Gone since it was listed, or a name that is not valid UTF-8 (it cannot be asked for again): shown, as unknown.
            FileFacts? facts;
            try
            {
                facts = UntrustedFiles.StatAt(directory.Handle, name);
            }
            catch (UntrustedFileException)
            {
                facts = null;
            }

            var kind = facts?.Kind ?? FileKind.Unknown;
            entries.Add(new SandboxEntry(
                name,
                prefix + name,
                kind == FileKind.Regular ? facts!.Value.Size : 0,
                facts?.ModifiedSeconds ?? 0,
                kind == FileKind.Directory,
                FileKinds.Name(kind)));
        }

        entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return entries;
    }

    /// <summary>Up to <paramref name="length"/> bytes (capped at <see cref="MaxReadBytes"/>) from <paramref name="offset"/>; empty past the end.</summary>
    public static (byte[] Data, long FileSize) Read(string sandbox, string? relative, long offset, int length)
    {
        using var file = OpenFile(sandbox, relative);
        var size = RandomAccess.GetLength(file);
        if (offset >= size)
        {
            return ([], size);
        }

        var buffer = new byte[(int)Math.Min(Math.Min(length, MaxReadBytes), size - offset)];

        // The file may shrink meanwhile (a log rotated): what is there is served.
        var read = UntrustedFiles.ReadAt(file, buffer, offset);
        return (read == buffer.Length ? buffer : buffer[..read], size);
    }

    /// <summary>The last <paramref name="lines"/> lines (a final newline does not start an empty line).</summary>
    public static byte[] Tail(string sandbox, string? relative, int lines)
    {
        using var file = OpenFile(sandbox, relative);
        var end = RandomAccess.GetLength(file);
        var start = end;
        var newlines = 0;
        var buffer = new byte[64 * 1024];

        // Walk back in chunks counting newlines; the one ending the file does not count.
        while (start > 0 && end - start < MaxTailBytes)
        {
            var chunk = (int)Math.Min(buffer.Length, start);
            var read = UntrustedFiles.ReadAt(file, buffer.AsSpan(0, chunk), start - chunk);
            if (read < chunk)
            {
                // Shrunk under us (rotated): serve what is left from here on.
                return ReadRange(file, start - chunk, end);
            }

            for (var i = chunk - 1; i >= 0; i--)
            {
                var position = start - chunk + i;
                if (buffer[i] != '\n' || position == end - 1)
                {
                    continue;
                }

                if (++newlines == lines)
                {
                    return ReadRange(file, position + 1, end);
                }
            }

            start -= chunk;
        }

        return ReadRange(file, start, end);
    }

    /// <summary>
    /// Opens <paramref name="relative"/> in <paramref name="sandbox"/> with O_PATH, resolved one name at
    /// a time beneath the sandbox (see the type's remarks); the sandbox itself for an empty path.
    /// </summary>
    /// <exception cref="SandboxRequestException">The path is bad, leads out, or does not exist.</exception>
    internal static Opened Open(string sandbox, string relative)
    {
        CheckText(relative);
        PathHandle root;
        try
        {
            root = UntrustedFiles.OpenPath(sandbox, directory: true);
        }
        catch (UntrustedFileException e) when (e.IsMissing)
        {
            throw SandboxRequestException.Missing("the task's sandbox does not exist (yet)");
        }
        catch (UntrustedFileException e) when (e.IsLinkLoop)
        {
            throw SandboxRequestException.Missing("the task's sandbox is not a directory any more (it was replaced by a symbolic link)");
        }

        using (root)
        {
            var reader = new TaskReader(Guarded(relative, () => UntrustedFiles.Stat(root)));
            var handle = Resolve(root, relative, reader);
            try
            {
                var facts = Guarded(relative, () => UntrustedFiles.Stat(handle));
                var wanted = facts.Kind switch
                {
                    FileKind.Regular => TaskReader.Read,
                    FileKind.Directory => TaskReader.Read | TaskReader.Search,
                    _ => 0u,
                };
                reader.Demand(facts, wanted, relative);
                return new Opened(handle, facts, relative);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Walks <paramref name="relative"/> from <paramref name="root"/> one name at a time with
    /// openat(O_PATH|O_NOFOLLOW), as openat2's RESOLVE_BENEATH would: each name is opened relative to the
    /// descriptor of the directory before it, so no part of the path is ever looked up twice and nothing
    /// swapped in meanwhile can redirect the walk. A symbolic link met on the way is read (readlinkat on
    /// its own descriptor) and its target walked the same way: a relative one from the link's directory,
    /// an absolute one only when it names the sandbox's own path, from the root. <c>..</c> in a target
    /// goes back one directory of the walk, never above the root.
    /// </summary>
    /// <returns>The object the path names, opened with O_PATH; the caller owns it.</returns>
    private static PathHandle Resolve(PathHandle root, string relative, TaskReader reader)
    {
        var pending = new Stack<string>();
        Push(pending, relative);
        if (pending.Any(n => n is not ("" or ".")))
        {
            reader.Demand(UntrustedFiles.Stat(root), TaskReader.Search, relative);
        }

        var parents = new Stack<PathHandle>();
        var current = root;
        var links = 0;
        string? rootLocation = null;
        try
        {
            while (pending.TryPop(out var name))
            {
                if (name is "" or ".")
                {
                    continue;
                }

                if (name == "..")
                {
                    // Only a symbolic link's target can hold '..' (the request's path cannot).
                    if (parents.Count == 0)
                    {
                        throw SandboxRequestException.Path($"path '{Shown(relative)}' resolves outside the sandbox (through a symbolic link)");
                    }

                    current.Dispose();
                    current = parents.Pop();
                    continue;
                }

                var next = Guarded(relative, () => UntrustedFiles.OpenPathAt(current, name));
                FileFacts facts;
                try
                {
                    facts = Guarded(relative, () => UntrustedFiles.Stat(next));
                    if (facts.Kind == FileKind.SymbolicLink)
                    {
                        if (++links > MaxSymbolicLinks)
                        {
                            throw SandboxRequestException.Path($"path '{Shown(relative)}' goes through too many symbolic links");
                        }

                        var target = Guarded(relative, () => UntrustedFiles.ReadLink(next));
                        next.Dispose();
                        if (target.StartsWith('/'))
                        {
                            rootLocation ??= Guarded(relative, () => UntrustedFiles.Location(root));
                            if (!UntrustedFiles.IsWithin(target, rootLocation))
                            {
                                throw SandboxRequestException.Path($"path '{Shown(relative)}' resolves outside the sandbox (through a symbolic link)");
                            }

                            // An absolute link into the sandbox: walked again from the root.
                            while (parents.Count > 0)
                            {
                                current.Dispose();
                                current = parents.Pop();
                            }

                            target = target[rootLocation.Length..];
                        }

                        Push(pending, target);
                        continue;
                    }
                }
                catch
                {
                    next.Dispose();
                    throw;
                }

                if (facts.Kind != FileKind.Directory && pending.Any(n => n is not ("" or ".")))
                {
                    next.Dispose();
                    throw SandboxRequestException.Missing($"no file or directory '{Shown(relative)}' in the sandbox (a part of it is not a directory)");
                }

                if (facts.Kind == FileKind.Directory && pending.Any(n => n is not ("" or ".")))
                {
                    try
                    {
                        reader.Demand(facts, TaskReader.Search, relative);
                    }
                    catch
                    {
                        next.Dispose();
                        throw;
                    }
                }

                parents.Push(current);
                current = next;
            }

            // The caller disposes the root: a path naming the root itself gets a descriptor of its own.
            var result = ReferenceEquals(current, root) ? Guarded(relative, () => UntrustedFiles.OpenPathAt(root, ".")) : current;
            current = root;
            return result;
        }
        finally
        {
            if (!ReferenceEquals(current, root))
            {
                current.Dispose();
            }

            foreach (var parent in parents)
            {
                if (!ReferenceEquals(parent, root))
                {
                    parent.Dispose();
                }
            }
        }
    }

    /// <summary>
    /// The rights a request is served with: those of the sandbox's owner, the task's user, when it is not
    /// the agent's own user (tasks run as their role's user). The agent may read more than the task (it is
    /// usually root), so each directory walked must be searchable, and the file or directory served
    /// readable, by the task's user as its mode bits say: owner bits when the task's user owns it, group
    /// bits when it belongs to the sandbox's group, other bits otherwise. Supplementary groups are not
    /// consulted, so this may refuse what the kernel would allow, never the reverse. A sandbox owned by
    /// the agent's user (-nosetuid, -dev) or by root is served with the agent's rights, as before.
    /// </summary>
    internal readonly struct TaskReader(FileFacts sandbox)
    {
        public const uint Read = 4;
        public const uint Search = 1;

        private static readonly uint AgentUserId = Syscalls.EffectiveUserId();

        private readonly uint _userId = sandbox.OwnerId;
        private readonly uint _groupId = sandbox.GroupId;

        /// <summary>Whether the agent's own rights apply: the sandbox is the agent user's or root's.</summary>
        public bool IsAgent => _userId == AgentUserId || _userId == 0;

        /// <exception cref="SandboxRequestException">403: the task's user lacks <paramref name="wanted"/> on the object.</exception>
        public void Demand(FileFacts facts, uint wanted, string relative)
        {
            if (IsAgent || wanted == 0)
            {
                return;
            }

            var shift = facts.OwnerId == _userId ? 6 : facts.GroupId == _groupId ? 3 : 0;
            if (((facts.PermissionBits >> shift) & wanted) != wanted)
            {
                throw new SandboxRequestException(403, SandboxRequestException.PermissionDenied,
                    $"the task's user (uid {_userId.ToString(CultureInfo.InvariantCulture)}) may not {(wanted == Search ? "search a directory of" : "read")} '{Shown(relative)}'; the sandbox server reads only what the task could");
            }
        }
    }

    /// <summary>Pushes the names of <paramref name="path"/> so that the first is popped first.</summary>
    private static void Push(Stack<string> pending, string path)
    {
        var names = path.Split('/');
        for (var i = names.Length - 1; i >= 0; i--)
        {
            pending.Push(names[i]);
        }
    }

    /// <summary>The regular file at <paramref name="relative"/>, opened for reading without blocking.</summary>
    private static SafeFileHandle OpenFile(string sandbox, string? relative)
    {
        if (string.IsNullOrEmpty(relative))
        {
            throw SandboxRequestException.Invalid("path is required: the file to read, relative to the sandbox");
        }

        using var opened = Open(sandbox, relative);
        var facts = opened.Facts;
        if (facts.Kind != FileKind.Regular)
        {
            var hint = facts.Kind == FileKind.Directory ? ": use browse" : "; only regular files are served";
            throw new SandboxRequestException(400, SandboxRequestException.NotAFile, $"'{Shown(relative)}' is {FileKinds.Describe(facts.Kind)}{hint}");
        }

        if (facts.LinkCount != 1)
        {
            throw new SandboxRequestException(400, SandboxRequestException.HardLinked,
                $"'{Shown(relative)}' is a regular file with {facts.LinkCount.ToString(CultureInfo.InvariantCulture)} hard links; only files whose one name is in the sandbox are served, since another name may lie outside it (copy the file to serve it)");
        }

        return Guarded(relative, () => UntrustedFiles.Reopen(opened.Handle));
    }

    private static void CheckText(string relative)
    {
        if (relative.Contains('\0', StringComparison.Ordinal))
        {
            throw SandboxRequestException.Path("path must not contain NUL characters");
        }

        if (relative.Length > MaxPathLength)
        {
            throw SandboxRequestException.Path($"path has {relative.Length} characters; at most {MaxPathLength} are allowed");
        }

        if (System.IO.Path.IsPathRooted(relative) || relative.StartsWith('/') || relative.StartsWith('\\'))
        {
            throw SandboxRequestException.Path($"path '{Shown(relative)}' is absolute; give a path relative to the sandbox");
        }

        if (relative.Split('/', '\\').Any(segment => segment == ".."))
        {
            throw SandboxRequestException.Path($"path '{Shown(relative)}' contains '..'; paths must stay inside the sandbox");
        }
    }

    /// <summary>Runs a file system call, turning its failure into the answer it deserves.</summary>
    private static T Guarded<T>(string relative, Func<T> call)
    {
        try
        {
            return call();
        }
        catch (UntrustedFileException e) when (e.IsMissing)
        {
            throw SandboxRequestException.Missing($"no file or directory '{Shown(relative)}' in the sandbox");
        }
        catch (UntrustedFileException e) when (e.IsNameTooLong)
        {
            throw SandboxRequestException.Path($"path '{Shown(relative)}' has a name longer than the file system allows");
        }
        catch (UntrustedFileException e) when (e.IsLinkLoop)
        {
            throw SandboxRequestException.Path($"path '{Shown(relative)}' goes through too many symbolic links");
        }
        catch (UntrustedFileException e) when (e.IsDenied)
        {
            throw new SandboxRequestException(403, SandboxRequestException.PermissionDenied, $"the agent may not read '{Shown(relative)}'");
        }
    }

    private static byte[] ReadRange(SafeFileHandle file, long from, long to)
    {
        var data = new byte[to - from];
        var read = UntrustedFiles.ReadAt(file, data, from);
        return read == data.Length ? data : data[..read];
    }

    /// <summary>The path for a message: control characters as \uXXXX and at most 200 characters, so a message about a path cannot be flooded or forge lines.</summary>
    internal static string Shown(string? relative) => ProtocolLimits.Printable(relative ?? string.Empty, 200);
}

/// <summary>The HTML index of a task's sandbox: plain links, no script; each entry with its kind.</summary>
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
            .Append(Html(relative ?? string.Empty)).Append("</p>\n<table>\n<tr><th>name</th><th>kind</th><th>size</th><th>modified (UTC)</th><th></th></tr>\n");
        if (!string.IsNullOrEmpty(relative))
        {
            var parent = relative.TrimEnd('/');
            parent = parent.Contains('/', StringComparison.Ordinal) ? parent[..parent.LastIndexOf('/')] : string.Empty;
            html.Append("<tr><td><a href=\"/tasks/").Append(task).Append("?path=").Append(Query(parent)).Append("\">..</a></td><td></td><td></td><td></td><td></td></tr>\n");
        }

        foreach (var entry in entries)
        {
            var path = Query(entry.Path);
            var modified = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(entry.Mtime, 0, 253_402_300_799)).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            html.Append("<tr><td>");
            switch (entry.Kind)
            {
                case "directory":
                    html.Append("<a href=\"/tasks/").Append(task).Append("?path=").Append(path).Append("\">").Append(Html(entry.Name)).Append("/</a>");
                    break;
                case "file" or "symlink":
                    // A symbolic link is served when it leads to a regular file inside the sandbox.
                    html.Append("<a href=\"/tasks/").Append(task).Append("/read?path=").Append(path).Append("\">").Append(Html(entry.Name)).Append("</a>");
                    break;
                default:
                    // FIFOs, sockets and devices are never opened: listed, not linked.
                    html.Append(Html(entry.Name));
                    break;
            }

            html.Append("</td><td>").Append(Html(entry.Kind)).Append("</td><td>");
            if (entry.Kind == "file")
            {
                html.Append(entry.Size.ToString(CultureInfo.InvariantCulture));
            }

            html.Append("</td><td>").Append(modified).Append("</td><td>");
            if (entry.Kind is "file" or "symlink")
            {
                html.Append("<a href=\"/tasks/").Append(task).Append("/tail?path=").Append(path).Append("\">tail</a>");
            }

            html.Append("</td></tr>\n");
        }

        html.Append("</table>\n</body></html>\n");
        return html.ToString();
    }
}
