using System.Globalization;
using System.Text.Json;
using Aurora.Storage.Replica;

namespace Aurora.LogTool.Tests;

/// <summary>
/// From a hostile probe: a FIFO named like a log file hung every command, and junk in the log
/// directory (a garbage replica.meta, <c>segment-abc.log</c>) went unreported. Every command that
/// reads a log directory now ends promptly, exits non-zero and names each file it cannot account for.
/// </summary>
public class UnaccountedFilesTests
{
    public static readonly string[] ReadingCommands = ["info", "verify", "dump", "state"];

    public static TheoryData<string, string> FifoCases
    {
        get
        {
            var cases = new TheoryData<string, string>();
            foreach (var where in new[] { "segment", "snapshot", "replica.meta" })
            {
                foreach (var command in ReadingCommands)
                {
                    cases.Add(where, command);
                }
            }

            return cases;
        }
    }

    [Theory]
    [MemberData(nameof(FifoCases))]
    public async Task Bug_probe_a_fifo_named_like_a_log_file_hung_every_command(string where, string command)
    {
        using var dir = new TempDirectory();
        var fifo = MakeFifoReplica(dir.Path, where);

        var result = await SpecialFiles.WithinBoundAsync($"aurora-log {command}", () => Tool.Run(command, $"--path={dir.Path}"));

        Assert.True(result.ExitCode == 1, result.ToString());
        var named = command == "verify"
            ? Assert.Single(result.OutLines, l => l.Contains(fifo, StringComparison.Ordinal))
            : Assert.Single(result.ErrorLines);
        Assert.Contains($"{fifo}", named, StringComparison.Ordinal);
        Assert.Contains("a FIFO (named pipe), not a regular file", named, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_executable_from_dist_bin_ends_at_once_on_a_fifo_segment_naming_it()
    {
        using var dir = new TempDirectory();
        var fifo = MakeFifoReplica(dir.Path, "segment");

        foreach (var command in ReadingCommands)
        {
            var result = await ProcessTests.RunDistAsync(command, $"--path={dir.Path}");

            Assert.True(result.ExitCode == 1, $"{command}: {result}");
            var text = command == "verify" ? result.Out : result.Error;
            Assert.Contains($"{fifo}", text, StringComparison.Ordinal);
            Assert.Contains("a FIFO (named pipe), not a regular file", text, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Backups_ends_at_once_on_a_fifo_named_like_a_backup_naming_it(bool verify)
    {
        using var dir = new TempDirectory();
        var fifo = dir.Sub("scheduler-backup-2026-11-22-03-00-00-00000000000000004000.bak");
        SpecialFiles.MakeFifo(fifo);
        string[] args = verify ? ["backups", $"--backup_dir={dir.Path}", "--verify"] : ["backups", $"--backup_dir={dir.Path}"];

        var result = await SpecialFiles.WithinBoundAsync("aurora-log backups", () => Tool.Run(args));

        Tool.AssertOneLineError(result, 1, $"{fifo} is a FIFO (named pipe), not a regular file; remove it or move it away");
    }

    [Theory]
    [InlineData("info")]
    [InlineData("verify")]
    [InlineData("dump")]
    [InlineData("state")]
    public async Task A_random_replica_meta_fails_every_command_naming_it_with_the_cure(string command)
    {
        using var dir = new TempDirectory();
        using (var log = SchedulerLog.Create(dir.Path))
        {
            await Story.WriteAsync(log);
        }

        var metadata = dir.Sub(ReplicaMetadataStore.FileName);
        var garbage = new byte[137];
        new Random(2026).NextBytes(garbage);
        File.WriteAllBytes(metadata, garbage);

        var result = Tool.Run(command, $"--path={dir.Path}");

        Assert.True(result.ExitCode == 1, result.ToString());
        var line = command == "verify"
            ? Assert.Single(result.OutLines, l => l.StartsWith("ERROR", StringComparison.Ordinal))
            : Assert.Single(result.ErrorLines);
        Assert.Contains($"{metadata}: not a replica metadata file", line, StringComparison.Ordinal);
        Assert.EndsWith(ReplicaMetadataStore.DamageCure, line, StringComparison.Ordinal);
        if (command != "verify")
        {
            Assert.Equal(string.Empty, result.Out);
        }
    }

    [Fact]
    public async Task Verify_lists_every_file_it_cannot_account_for_with_its_kind_and_exits_1()
    {
        using var dir = new TempDirectory();
        using (var log = SchedulerLog.Create(dir.Path))
        {
            await Story.WriteAsync(log);
        }

        using var socket = SpecialFiles.MakeSocket(dir.Sub("scheduler.sock"));
        var junk = PlantJunk(dir.Path, withUnopenable: true);

        var text = Tool.Run("verify", $"--path={dir.Path}");
        var json = Tool.Run("verify", $"--path={dir.Path}", "--json");

        Assert.True(text.ExitCode == 1, text.ToString());
        foreach (var (path, expected) in junk.Append((dir.Sub("scheduler.sock"), "a Unix socket that the log does not keep here")))
        {
            // The segment-named directory is reported by the segment check, which could not open it.
            var cure = expected.EndsWith("not a regular file", StringComparison.Ordinal) ? "remove it or move it away" : "move it out of the log directory";
            Assert.Contains($"ERROR   {path}: {expected}; {cure}", text.OutLines);
        }

        Assert.EndsWith($"{junk.Count + 1} errors, 0 warnings.", text.OutLines[^1], StringComparison.Ordinal);
        Assert.Equal(1, json.ExitCode);
        using var document = JsonDocument.Parse(json.Out);
        var problems = document.RootElement.GetProperty("problems").EnumerateArray().ToList();
        Assert.Equal("fifo", problems.Single(p => p.GetProperty("file").GetString() == dir.Sub("junk.fifo")).GetProperty("kind").GetString());
        Assert.Equal("file", problems.Single(p => p.GetProperty("file").GetString()!.EndsWith("segment-abc.log", StringComparison.Ordinal)).GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Info_lists_them_under_Unaccounted_and_exits_1_while_dump_and_state_refuse_before_printing()
    {
        using var dir = new TempDirectory();
        using (var log = SchedulerLog.Create(dir.Path))
        {
            await Story.WriteAsync(log);
        }

        // Nothing the log would have to open: info still gets its report out.
        var junk = PlantJunk(dir.Path, withUnopenable: false);

        var info = Tool.Run("info", $"--path={dir.Path}");
        var infoJson = Tool.Run("info", $"--path={dir.Path}", "--json");
        var dump = Tool.Run("dump", $"--path={dir.Path}");
        var state = Tool.Run("state", $"--path={dir.Path}");

        Assert.True(info.ExitCode == 1, info.ToString());
        Assert.Contains($"Unaccounted:    {junk.Count} file(s) the log does not keep; move them out of the log directory", info.OutLines);
        foreach (var (path, expected) in junk)
        {
            Assert.Contains($"  {Path.GetRelativePath(dir.Path, path)}  {expected}", info.OutLines);
        }

        using var document = JsonDocument.Parse(infoJson.Out);
        Assert.Equal(junk.Select(j => j.Path).Order(StringComparer.Ordinal), document.RootElement.GetProperty("unaccounted").EnumerateArray().Select(u => u.GetProperty("file").GetString()).Order(StringComparer.Ordinal));
        foreach (var result in new[] { info, dump, state })
        {
            var line = Assert.Single(result.ErrorLines);
            Assert.StartsWith($"aurora-log: cannot account for {junk.Count} file(s) in {dir.Path}: ", line, StringComparison.Ordinal);
            foreach (var (path, expected) in junk)
            {
                Assert.Contains($"{path} ({expected})", line, StringComparison.Ordinal);
            }
        }

        Assert.Equal((1, string.Empty), (dump.ExitCode, dump.Out));
        Assert.Equal((1, string.Empty), (state.ExitCode, state.Out));
    }

    [Fact]
    public async Task Every_file_the_writer_keeps_is_accounted_for_on_a_live_log_and_after_interrupted_writes()
    {
        using var dir = new TempDirectory();
        using var log = SchedulerLog.Create(dir.Path);
        var story = await Story.WriteAsync(log);
        await story.WriteSnapshotAndTailAsync(log);

        // What interrupted writes leave, and the directory mkfs leaves at a file system's root.
        File.WriteAllBytes(dir.Sub("replica.meta.tmp"), [1, 2, 3]);
        File.WriteAllBytes(Path.Combine(dir.Path, "log", "segment-00000000000000000017.log.tmp"), new byte[64]);
        File.WriteAllBytes(Path.Combine(dir.Path, "snapshots", "snapshot-00000000000000000016.snap.tmp"), [4]);
        Directory.CreateDirectory(dir.Sub("lost+found"));

        foreach (var command in ReadingCommands)
        {
            var result = Tool.Run(command, $"--path={dir.Path}");
            Assert.True(result.ExitCode == 0, $"{command}: {result}");
        }

        Assert.Contains("Unaccounted:    none", Tool.Run("info", $"--path={dir.Path}").OutLines);
    }

    /// <summary>
    /// A replica with a random mix of junk (of every kind that can be made without privileges, under
    /// unknown names, look-alike names and known names of the wrong kind): every command ends within
    /// the bound, never exits 0 while junk is there, and names each piece; with none, all exit 0.
    /// </summary>
    [Fact]
    public async Task Seeded_junk_of_every_kind_is_named_by_every_command_which_never_exits_0_with_it()
    {
        using var dir = new TempDirectory();
        var template = dir.Sub("template");
        using (var log = SchedulerLog.Create(template))
        {
            var story = await Story.WriteAsync(log);
            await story.WriteSnapshotAndTailAsync(log);
        }

        for (var seed = 1; seed <= 24; seed++)
        {
            var replica = dir.Sub($"seed-{seed}");
            CopyDirectory(template, replica);
            var random = new Random(seed);
            var sockets = new List<IDisposable>();
            try
            {
                var junk = Enumerable.Range(0, random.Next(4)).Select(_ => PlantRandomJunk(replica, random, sockets)).Distinct().ToList();
                var context = $"seed {seed}, junk: {string.Join(", ", junk)}";
                foreach (var command in ReadingCommands)
                {
                    var result = await SpecialFiles.WithinBoundAsync($"{context}: aurora-log {command}", () => Tool.Run(command, $"--path={replica}"));
                    if (junk.Count == 0)
                    {
                        Assert.True(result.ExitCode == 0, $"{context}: {command}: {result}");
                        continue;
                    }

                    Assert.True(result.ExitCode == 1, $"{context}: {command} exited {result.ExitCode} with junk present: {result}");
                    var named = command == "verify" ? result.Out : result.Error;
                    foreach (var path in junk)
                    {
                        Assert.True(named.Contains(path, StringComparison.Ordinal), $"{context}: {command} does not name {path}: {result}");
                    }
                }
            }
            finally
            {
                sockets.ForEach(s => s.Dispose());
            }
        }
    }

    /// <summary>An initialized replica with a FIFO in place of its first segment, a snapshot or replica.meta; returns the FIFO's path.</summary>
    private static string MakeFifoReplica(string directory, string where)
    {
        var init = Tool.Run("initialize", $"--path={directory}");
        Assert.True(init.ExitCode == 0, init.ToString());
        var fifo = where switch
        {
            "segment" => Path.Combine(directory, "log", "segment-00000000000000000001.log"),
            "snapshot" => Path.Combine(directory, "snapshots", "snapshot-00000000000000000005.snap"),
            _ => Path.Combine(directory, ReplicaMetadataStore.FileName),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(fifo)!);
        File.Delete(fifo);
        SpecialFiles.MakeFifo(fifo);
        return fifo;
    }

    /// <summary>
    /// One of each kind of junk a probe tries; returns each path and the reason the tool must give.
    /// <paramref name="withUnopenable"/> adds a directory named like a segment, which stops the log from opening.
    /// </summary>
    private static List<(string Path, string Reason)> PlantJunk(string directory, bool withUnopenable)
    {
        var log = Path.Combine(directory, "log");
        var snapshots = Path.Combine(directory, "snapshots");
        Directory.CreateDirectory(snapshots);
        File.WriteAllText(Path.Combine(log, "segment-abc.log"), "not a segment");
        File.WriteAllText(Path.Combine(snapshots, "snapshot-xyz.snap"), "not a snapshot");
        File.WriteAllText(Path.Combine(directory, "notes.txt"), "an operator's notes");
        SpecialFiles.MakeFifo(Path.Combine(directory, "junk.fifo"));
        File.CreateSymbolicLink(Path.Combine(directory, "old-log"), log);
        List<(string Path, string Reason)> junk =
        [
            (Path.Combine(log, "segment-abc.log"), "a regular file named like a segment, but not as segment-<first position>.log, so the log never reads it"),
            (Path.Combine(snapshots, "snapshot-xyz.snap"), "a regular file named like a snapshot, but not as snapshot-<20-digit position>.snap, so no snapshot is ever loaded from it"),
            (Path.Combine(directory, "notes.txt"), "a regular file that the log does not keep here"),
            (Path.Combine(directory, "junk.fifo"), "a FIFO (named pipe) that the log does not keep here"),
            (Path.Combine(directory, "old-log"), "a symbolic link that the log does not keep here"),
        ];
        if (withUnopenable)
        {
            Directory.CreateDirectory(Path.Combine(log, "segment-00000000000000000099.log"));
            junk.Add((Path.Combine(log, "segment-00000000000000000099.log"), "a directory, not a regular file"));
        }

        return junk;
    }

    /// <summary>Plants one random piece of junk in the replica; returns its path.</summary>
    private static string PlantRandomJunk(string replica, Random random, List<IDisposable> sockets)
    {
        var log = Path.Combine(replica, "log");
        var snapshots = Path.Combine(replica, "snapshots");
        string[] lookalikes = ["segment-abc.log", "segment-0.log", "segment-12x.log", "segment-" + new string('9', 25) + ".log", "snapshot-12.snap", "snapshot-xyz.snap", "snapshot-.snap"];
        string[] knownNames =
        [
            Path.Combine(replica, "replica.meta.tmp"),
            Path.Combine(replica, "LOCK"),
            Path.Combine(log, "next-segment.tmp"),
            Path.Combine(log, $"segment-{random.Next(100, 999).ToString("D20", CultureInfo.InvariantCulture)}.log"),
            Path.Combine(snapshots, $"snapshot-{random.Next(100, 999).ToString("D20", CultureInfo.InvariantCulture)}.snap"),
            Path.Combine(snapshots, "snapshot-00000000000000000300.snap.tmp"),
        ];
        var path = random.Next(3) switch
        {
            0 => Path.Combine(new[] { replica, log, snapshots }[random.Next(3)], $"junk-{random.Next(1000)}{new[] { ".txt", ".log", ".snap", ".tmp", string.Empty }[random.Next(5)]}"),
            1 => Path.Combine(random.Next(2) == 0 ? log : snapshots, lookalikes[random.Next(lookalikes.Length)]),
            _ => knownNames[random.Next(knownNames.Length)],
        };
        var knownName = knownNames.Contains(path);
        if (File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null)
        {
            // Known names that the replica holds already (LOCK, next-segment.tmp) are replaced; others are planted once.
            if (!knownName)
            {
                return path;
            }

            File.Delete(path);
        }

        // A known name is junk only when it is not a regular file.
        switch (random.Next(knownName ? 4 : 5))
        {
            case 0:
                SpecialFiles.MakeFifo(path);
                break;
            case 1:
                Directory.CreateDirectory(path);
                break;
            case 2:
                File.CreateSymbolicLink(path, Directory.GetFiles(log)[0]);
                break;
            case 3 when path.Length < 100: // sun_path holds 108 bytes
                sockets.Add(SpecialFiles.MakeSocket(path));
                break;
            case 3:
                SpecialFiles.MakeFifo(path);
                break;
            default:
                File.WriteAllBytes(path, [(byte)random.Next(256)]);
                break;
        }

        return path;
    }

    private static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        foreach (var sub in Directory.GetDirectories(source))
        {
            CopyDirectory(sub, Path.Combine(target, Path.GetFileName(sub)));
        }
    }
}
