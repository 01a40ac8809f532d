using System.Net.Sockets;
using System.Text;

namespace Aurora.Agent.Tests.Support;

/// <summary>
/// A sandbox as a hostile task leaves it, built from a seed: regular files, directories, symbolic
/// links inside, outside, dangling and in loops, FIFOs, unix sockets, device nodes (where this
/// process may make them), hard links to files inside and outside, long and unicode names; and
/// beside it an "outside" holding secrets that no answer of the sandbox server may ever contain.
/// </summary>
/// <remarks>
/// Inside files hold only the letters g to z and newlines (<see cref="InsideAlphabet"/>); outside
/// files hold only <see cref="ContentSecret"/> (upper case and hex digits), so a single byte from
/// outside in an answer shows. Outside names start with <see cref="NameSecret"/>, which no request
/// ever names, so a listing of an outside directory shows too. <see cref="StartSwapping"/> runs a
/// thread that keeps exchanging <c>race/dir</c> (a directory) and <c>race/file</c> (a regular file)
/// with symbolic links to the outside.
/// </remarks>
internal sealed class HostileSandbox : IDisposable
{
    public const string InsideAlphabet = "ghijklmnopqrstuvwxyz\n";

    private readonly List<Socket> _sockets = [];
    private readonly List<string> _paths = [];
    private readonly List<string> _fifos = [];

    private HostileSandbox(string root)
    {
        var token = Guid.NewGuid().ToString("N");
        ContentSecret = "SECRET" + token.ToUpperInvariant();
        NameSecret = "OUTSIDE" + token;
        Sandbox = Path.Combine(root, "sandbox");
        Outside = Path.Combine(root, "outside");
    }

    public string Sandbox { get; }

    public string Outside { get; }

    public string ContentSecret { get; }

    public string NameSecret { get; }

    /// <summary>Relative paths of everything made in the sandbox (the race paths included).</summary>
    public IReadOnlyList<string> Paths => _paths;

    public IReadOnlyList<string> Fifos => _fifos;

    /// <summary>Kinds that could not be made here (device nodes without CAP_MKNOD).</summary>
    public IReadOnlyList<string> Skipped { get; private set; } = [];

    /// <summary>How many swaps the racing thread made.</summary>
    public long Swaps => Interlocked.Read(ref _swaps);

    private long _swaps;

    private string OutsideFile => Path.Combine(Outside, NameSecret + ".txt");

    private string OutsideDirectory => Path.Combine(Outside, NameSecret + "-dir");

    public static HostileSandbox Create(string root, Random random)
    {
        var world = new HostileSandbox(root);
        world.Build(random);
        return world;
    }

    /// <summary>Inside content: <paramref name="length"/> bytes of the inside alphabet.</summary>
    public static byte[] InsideContent(Random random, int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)InsideAlphabet[random.Next(InsideAlphabet.Length)];
        }

        return bytes;
    }

    /// <summary>
    /// Swaps the race paths with symbolic links to the outside and back, as fast as the kernel goes
    /// (one atomic RENAME_EXCHANGE each), until <paramref name="stop"/>; returns when stopped.
    /// </summary>
    public Task StartSwapping(CancellationToken stop) => Task.Factory.StartNew(
        () =>
        {
            var race = Path.Combine(Sandbox, "race");
            var swaps = 0L;
            while (!stop.IsCancellationRequested)
            {
                // race/dir: a real directory or a link to the outside directory (which holds an "f" and a "sub/f" too).
                SpecialFiles.Exchange(Path.Combine(race, "dir"), Path.Combine(race, "evil-dir"));

                // race/file: a regular file or a link to the outside file.
                SpecialFiles.Exchange(Path.Combine(race, "file"), Path.Combine(race, "evil-file"));
                if (++swaps % 256 == 0)
                {
                    Interlocked.Exchange(ref _swaps, swaps);
                    Thread.Yield();
                }
            }

            Interlocked.Exchange(ref _swaps, swaps);
        },
        stop,
        TaskCreationOptions.LongRunning,
        TaskScheduler.Default);

    public void Dispose()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
    }

    private void Build(Random random)
    {
        Directory.CreateDirectory(Sandbox);
        Directory.CreateDirectory(OutsideDirectory);
        var secret = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(ContentSecret + "\n", 256)));
        File.WriteAllBytes(OutsideFile, secret);
        File.WriteAllBytes(Path.Combine(OutsideDirectory, "f"), secret);
        File.WriteAllBytes(Path.Combine(OutsideDirectory, NameSecret + "-inner.txt"), secret);
        SpecialFiles.MakeFifo(Path.Combine(Outside, NameSecret + ".fifo"));

        // The race paths: what the swapping thread replaces.
        Directory.CreateDirectory(Path.Combine(Sandbox, "race", "dir", "sub"));
        File.WriteAllBytes(Path.Combine(Sandbox, "race", "dir", "f"), InsideContent(random, 100));
        File.WriteAllBytes(Path.Combine(Sandbox, "race", "dir", "sub", "f"), InsideContent(random, 100));
        File.WriteAllBytes(Path.Combine(Sandbox, "race", "file"), InsideContent(random, 100));
        Directory.CreateSymbolicLink(Path.Combine(Sandbox, "race", "evil-dir"), OutsideDirectory);
        File.CreateSymbolicLink(Path.Combine(Sandbox, "race", "evil-file"), OutsideFile);
        Directory.CreateDirectory(Path.Combine(OutsideDirectory, "sub"));
        File.WriteAllBytes(Path.Combine(OutsideDirectory, "sub", "f"), secret);
        _paths.AddRange(["race", "race/dir", "race/dir/f", "race/dir/sub", "race/dir/sub/f", "race/file", "race/evil-dir", "race/evil-file"]);

        // The longest name a file system takes.
        var longest = new string('L', 255);
        File.WriteAllBytes(Path.Combine(Sandbox, longest), InsideContent(random, 10));
        _paths.Add(longest);

        // One of every kind at the top, so that each is there whatever the seed.
        var skipped = new List<string>();
        foreach (var kind in Enum.GetValues<Kind>())
        {
            Make(random, string.Empty, kind, skipped);
        }

        MakeTree(random, string.Empty, depth: 0, skipped);
        Skipped = [.. skipped.Distinct()];
    }

    private void MakeTree(Random random, string relative, int depth, List<string> skipped)
    {
        var count = random.Next(4, depth == 0 ? 24 : 10);
        for (var i = 0; i < count; i++)
        {
            var kinds = Enum.GetValues<Kind>();
            var kind = depth >= 3 && kinds[random.Next(kinds.Length)] == Kind.Directory ? Kind.File : kinds[random.Next(kinds.Length)];
            if (Make(random, relative, kind, skipped) is { } made && kind == Kind.Directory)
            {
                MakeTree(random, made, depth + 1, skipped);
            }
        }
    }

    /// <summary>Makes one entry of <paramref name="kind"/> in the directory <paramref name="relative"/>; its relative path, or null when it could not be made.</summary>
    private string? Make(Random random, string relative, Kind kind, List<string> skipped)
    {
        var name = Name(random, kind);
        var path = relative.Length == 0 ? name : relative + "/" + name;
        var full = Path.Combine(Sandbox, path);
        if (Path.Exists(full) || File.Exists(full) || new FileInfo(full).LinkTarget is not null)
        {
            return null;
        }

        switch (kind)
        {
            case Kind.File:
                File.WriteAllBytes(full, InsideContent(random, random.Next(4) switch { 0 => 0, 1 => random.Next(1, 200), 2 => random.Next(200, 70_000), _ => random.Next(70_000, 300_000) }));
                break;
            case Kind.LargeFile:
                File.WriteAllBytes(full, InsideContent(random, (1 << 20) + random.Next(1, 100_000)));
                break;
            case Kind.Directory:
                Directory.CreateDirectory(full);
                break;
            case Kind.LinkInsideRelative when _paths.Count > 0:
                File.CreateSymbolicLink(full, Path.GetRelativePath(Path.GetDirectoryName(full)!, Path.Combine(Sandbox, _paths[random.Next(_paths.Count)])));
                break;
            case Kind.LinkInsideAbsolute when _paths.Count > 0:
                File.CreateSymbolicLink(full, Path.Combine(Sandbox, _paths[random.Next(_paths.Count)]));
                break;
            case Kind.LinkOutside:
                string[] targets = [OutsideFile, OutsideDirectory, Outside, "/", "/etc", "/etc/passwd", "/proc/self/root", "/proc/self/fd/0", "/dev/zero", Path.Combine(Outside, NameSecret + ".fifo"), "../outside/" + NameSecret + ".txt"];
                File.CreateSymbolicLink(full, targets[random.Next(targets.Length)]);
                break;
            case Kind.LinkDangling:
                File.CreateSymbolicLink(full, "nowhere-" + random.Next());
                break;
            case Kind.LinkLoop:
                File.CreateSymbolicLink(full, name + ".loop");
                File.CreateSymbolicLink(full + ".loop", name);
                _paths.Add(path + ".loop");
                break;
            case Kind.Fifo:
                SpecialFiles.MakeFifo(full);
                _fifos.Add(full);
                break;
            case Kind.Socket:
                if (SpecialFiles.TryMakeSocket(full) is not { } socket)
                {
                    skipped.Add("unix sockets whose path is too long for sun_path");
                    return null;
                }

                _sockets.Add(socket);
                break;
            case Kind.CharacterDevice:
                // /dev/null, /dev/zero, /dev/tty's numbers: never opened by a correct server.
                (uint Major, uint Minor)[] characters = [(1, 3), (1, 5), (5, 0)];
                var character = characters[random.Next(characters.Length)];
                if (!SpecialFiles.TryMakeDevice(full, block: false, character.Major, character.Minor))
                {
                    skipped.Add("character devices (mknod not permitted)");
                    return null;
                }

                break;
            case Kind.BlockDevice:
                if (!SpecialFiles.TryMakeDevice(full, block: true, 7, 0))
                {
                    skipped.Add("block devices (mknod not permitted)");
                    return null;
                }

                break;
            case Kind.HardLinkOutside:
                SpecialFiles.HardLink(OutsideFile, full);
                break;
            case Kind.HardLinkInside:
                var source = Path.Combine(Sandbox, "hard-source-" + random.Next());
                File.WriteAllBytes(source, InsideContent(random, 50));
                SpecialFiles.HardLink(source, full);
                _paths.Add(Path.GetRelativePath(Sandbox, source));
                break;
            default:
                return null;
        }

        _paths.Add(path);
        return path;
    }

    private static string Name(Random random, Kind kind)
    {
        // Sockets need short paths (sun_path holds 108 bytes).
        if (kind == Kind.Socket)
        {
            return "s" + random.Next(1000);
        }

        return random.Next(10) switch
        {
            0 => "long-" + new string('n', 240) + random.Next(10),
            1 => "unicode-é漢字🙂-" + random.Next(1000),
            2 => "odd name %2e?#&+=;" + random.Next(1000),
            3 => "..." + random.Next(1000),
            4 => "-" + random.Next(1000),
            5 => "line\nbreak" + random.Next(1000),
            _ => kind.ToString().ToLowerInvariant() + "-" + random.Next(100_000),
        };
    }

    private enum Kind
    {
        File,
        LargeFile,
        Directory,
        LinkInsideRelative,
        LinkInsideAbsolute,
        LinkOutside,
        LinkDangling,
        LinkLoop,
        Fifo,
        Socket,
        CharacterDevice,
        BlockDevice,
        HardLinkOutside,
        HardLinkInside,
    }
}
