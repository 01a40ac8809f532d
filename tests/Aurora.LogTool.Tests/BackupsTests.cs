using Aurora.Storage.Backups;
using Aurora.Storage.Snapshots;

namespace Aurora.LogTool.Tests;

public class BackupsTests
{
    private static BackupManager Manager(string directory) =>
        new(new BackupOptions { BackupDirectory = directory, ClusterName = "devcluster", Time = new FixedTime(FixedTime.Default) });

    private static Snapshot SnapshotAt(string logDirectory, ulong position, int size)
    {
        var store = new SnapshotStore(new SnapshotOptions { Directory = logDirectory });
        var bytes = new byte[size];
        new Random((int)position).NextBytes(bytes);
        store.Write(position, 3, "type.test/State", bytes);
        return store.LoadNewest().Newest!;
    }

    [Fact]
    public void Backups_lists_every_backup_newest_first_with_what_it_describes()
    {
        using var dir = new TempDirectory();
        var backups = dir.Sub("backups");
        var manager = Manager(backups);
        manager.Save(SnapshotAt(dir.Sub("log"), 10, 100));
        var newest = manager.Save(SnapshotAt(dir.Sub("log"), 20, 300));

        var result = Tool.Run("backups", $"--backup_dir={backups}");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(3, result.OutLines.Length);
        Assert.StartsWith(Path.GetFileName(newest.Path), result.OutLines[0], StringComparison.Ordinal);
        Assert.Contains("cluster=devcluster position=20 term=3 created=2024-05-17T12:30:45.000000Z size=300 bytes", result.OutLines[0], StringComparison.Ordinal);
        Assert.Contains("position=10", result.OutLines[1], StringComparison.Ordinal);
        Assert.Equal($"2 backup(s) in {backups}.", result.OutLines[2]);
    }

    [Fact]
    public void Backups_verify_names_a_damaged_backup_and_exits_1()
    {
        using var dir = new TempDirectory();
        var backups = dir.Sub("backups");
        var manager = Manager(backups);
        manager.Save(SnapshotAt(dir.Sub("log"), 10, 100));
        var damaged = manager.Save(SnapshotAt(dir.Sub("log"), 20, 300));
        var bytes = File.ReadAllBytes(damaged.Path);
        bytes[^10] ^= 0x04;
        File.WriteAllBytes(damaged.Path, bytes);

        Assert.Equal(0, Tool.Run("backups", $"--backup_dir={backups}").ExitCode);
        var result = Tool.Run("backups", $"--backup_dir={backups}", "--verify");

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains(result.OutLines, line => line.StartsWith($"ERROR {damaged.Path}: ", StringComparison.Ordinal));
        Assert.Contains("DAMAGED", result.OutLines[0], StringComparison.Ordinal);
        Assert.Equal($"2 backup(s) in {backups}, 1 damaged.", result.OutLines[^1]);
    }

    [Fact]
    public void Backups_of_a_missing_directory_is_one_clear_line()
    {
        using var dir = new TempDirectory();

        Tool.AssertOneLineError(Tool.Run("backups", $"--backup_dir={dir.Path}/nope"), 2, $"backup directory {dir.Path}/nope does not exist; check --backup_dir");
        Tool.AssertOneLineError(Tool.Run("backups"), 2, "--backup_dir");
    }
}
