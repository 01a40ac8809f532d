using System.Text;
using Aurora.Storage.Backups;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;
using Aurora.Storage.Tests.Log;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.IO;

/// <summary>
/// A FIFO (or a socket, a directory, a link) under a name the storage engine opens used to block
/// open(2) forever, in aurora-log and in the scheduler at start-up alike. The file-system seam now
/// opens without blocking and refuses anything but a regular file, naming it and its kind.
/// </summary>
public class NonRegularFileTests
{
    public static TheoryData<FileOpenMode> OpeningModes => [.. Enum.GetValues<FileOpenMode>()];

    [Theory]
    [MemberData(nameof(OpeningModes))]
    public async Task Opening_a_fifo_fails_at_once_with_the_file_and_its_kind_named(FileOpenMode mode)
    {
        using var dir = new TempDirectory();
        var fifo = dir.Sub("fifo");
        SpecialFiles.MakeFifo(fifo);

        var e = await SpecialFiles.ThrowsWithinBoundAsync($"opening a FIFO {mode}", () => PhysicalFileSystem.Instance.OpenFile(fifo, mode).Dispose());

        var refused = Assert.IsType<NotARegularFileException>(e);
        Assert.Equal(fifo, refused.Path);
        Assert.Equal(FileKind.Fifo, refused.Kind);
        Assert.Equal($"{fifo} is a FIFO (named pipe), not a regular file; remove it or move it away", refused.Message);
    }

    [Fact]
    public void Sockets_directories_and_links_are_refused_with_their_kinds_and_a_link_is_followed_only_when_allowed()
    {
        using var dir = new TempDirectory();
        var fs = PhysicalFileSystem.Instance;
        using var socket = SpecialFiles.MakeSocket(dir.Sub("socket"));
        Directory.CreateDirectory(dir.Sub("directory"));
        File.WriteAllText(dir.Sub("regular"), "content");
        File.CreateSymbolicLink(dir.Sub("link"), dir.Sub("regular"));
        SpecialFiles.MakeFifo(dir.Sub("fifo"));
        File.CreateSymbolicLink(dir.Sub("link-to-fifo"), dir.Sub("fifo"));

        Assert.Equal(FileKind.Socket, Assert.Throws<NotARegularFileException>(() => fs.OpenFile(dir.Sub("socket"), FileOpenMode.ReadExisting)).Kind);
        Assert.Equal(FileKind.Directory, Assert.Throws<NotARegularFileException>(() => fs.OpenFile(dir.Sub("directory"), FileOpenMode.ReadExisting)).Kind);
        Assert.Equal(FileKind.Directory, Assert.Throws<NotARegularFileException>(() => fs.OpenFile(dir.Sub("directory"), FileOpenMode.ReadWriteExisting)).Kind);
        Assert.Equal(FileKind.SymbolicLink, Assert.Throws<NotARegularFileException>(() => fs.OpenFile(dir.Sub("link"), FileOpenMode.ReadExisting)).Kind);
        Assert.Equal(FileKind.Fifo, Assert.Throws<NotARegularFileException>(() => fs.OpenFile(dir.Sub("link-to-fifo"), FileOpenMode.ReadExisting, SymlinkPolicy.Follow)).Kind);
        using var followed = fs.OpenFile(dir.Sub("link"), FileOpenMode.ReadExisting, SymlinkPolicy.Follow);
        Assert.Equal(7, followed.Length);
        Assert.Throws<FileNotFoundException>(() => fs.OpenFile(dir.Sub("missing"), FileOpenMode.ReadExisting));
    }

    [Fact]
    public void Listing_names_every_entry_with_its_kind_without_following_links()
    {
        using var dir = new TempDirectory();
        SpecialFiles.MakeFifo(dir.Sub("fifo"));
        using var socket = SpecialFiles.MakeSocket(dir.Sub("socket"));
        Directory.CreateDirectory(dir.Sub("directory"));
        File.WriteAllText(dir.Sub("regular"), "content");
        File.CreateSymbolicLink(dir.Sub("link"), dir.Sub("directory"));

        var entries = PhysicalFileSystem.Instance.ListEntries(dir.Path);

        Assert.Equal(
            [
                new DirectoryEntry(dir.Sub("directory"), FileKind.Directory),
                new DirectoryEntry(dir.Sub("fifo"), FileKind.Fifo),
                new DirectoryEntry(dir.Sub("link"), FileKind.SymbolicLink),
                new DirectoryEntry(dir.Sub("regular"), FileKind.Regular),
                new DirectoryEntry(dir.Sub("socket"), FileKind.Socket),
            ],
            entries);
        Assert.Equal([dir.Sub("fifo"), dir.Sub("link"), dir.Sub("regular"), dir.Sub("socket")], PhysicalFileSystem.Instance.ListFiles(dir.Path));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_fifo_named_like_the_first_segment_fails_the_log_open_fast_naming_it(bool readOnly)
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Sub("log"));
        var fifo = Path.Combine(dir.Sub("log"), "segment-00000000000000000001.log");
        SpecialFiles.MakeFifo(fifo);
        var options = LogKit.DiskOptions(dir.Path) with { ReadOnly = readOnly };

        var e = await SpecialFiles.ThrowsWithinBoundAsync("opening the log", () => SegmentedLog.Open(options).Dispose());

        var refused = Assert.IsType<NotARegularFileException>(e);
        Assert.Equal((fifo, FileKind.Fifo), (refused.Path, refused.Kind));
        Assert.True(PipeStillThere(fifo), "the FIFO must be left alone");
    }

    [Fact]
    public async Task A_fifo_after_a_real_segment_is_named_as_a_fifo_not_as_a_gap_and_releases_the_lock()
    {
        using var dir = new TempDirectory();
        using (var log = SegmentedLog.Open(LogKit.DiskOptions(dir.Path)))
        {
            await log.AppendAsync(LogKit.Entry("e1", 100));
        }

        var fifo = Path.Combine(dir.Sub("log"), "segment-00000000000000000009.log");
        SpecialFiles.MakeFifo(fifo);

        var first = await SpecialFiles.ThrowsWithinBoundAsync("opening the log", () => SegmentedLog.Open(LogKit.DiskOptions(dir.Path)).Dispose());
        var second = await SpecialFiles.ThrowsWithinBoundAsync("opening the log again", () => SegmentedLog.Open(LogKit.DiskOptions(dir.Path)).Dispose());

        Assert.Equal(FileKind.Fifo, Assert.IsType<NotARegularFileException>(first).Kind);
        Assert.Equal(FileKind.Fifo, Assert.IsType<NotARegularFileException>(second).Kind);
    }

    [Fact]
    public async Task The_verifier_names_a_fifo_segment_for_what_it_is_and_checks_the_others()
    {
        using var dir = new TempDirectory();
        using (var log = SegmentedLog.Open(LogKit.DiskOptions(dir.Path)))
        {
            await log.AppendAsync(LogKit.Entry("e1", 100));
        }

        var fifo = Path.Combine(dir.Sub("log"), "segment-00000000000000000009.log");
        SpecialFiles.MakeFifo(fifo);

        var verification = await SpecialFiles.WithinBoundAsync("verifying the log", () => LogVerifier.Verify(LogKit.DiskOptions(dir.Path)));

        var problem = Assert.Single(verification.Problems);
        Assert.Equal(fifo, problem.File);
        Assert.Equal("a FIFO (named pipe), not a regular file; remove it or move it away", problem.Problem);
        Assert.Equal(1UL, verification.Entries);
    }

    [Fact]
    public async Task A_fifo_named_LOCK_fails_the_writable_open_fast()
    {
        using var dir = new TempDirectory();
        var fifo = dir.Sub("LOCK");
        SpecialFiles.MakeFifo(fifo);

        var e = await SpecialFiles.ThrowsWithinBoundAsync("opening the log", () => SegmentedLog.Open(LogKit.DiskOptions(dir.Path)).Dispose());

        Assert.Equal((fifo, FileKind.Fifo), (Assert.IsType<NotARegularFileException>(e).Path, ((NotARegularFileException)e).Kind));
    }

    [Fact]
    public void The_lock_still_keeps_a_second_writer_out_and_is_released_on_dispose()
    {
        using var dir = new TempDirectory();
        using (SegmentedLog.Open(LogKit.DiskOptions(dir.Path)))
        {
            var e = Assert.ThrowsAny<IOException>(() => SegmentedLog.Open(LogKit.DiskOptions(dir.Path)));
            Assert.Contains($"{dir.Sub("LOCK")} is locked: another process has this log open", e.Message, StringComparison.Ordinal);
        }

        using var reopened = SegmentedLog.Open(LogKit.DiskOptions(dir.Path));
        Assert.Equal(0UL, reopened.LastDurablePosition);
    }

    [Fact]
    public async Task A_fifo_named_like_a_snapshot_stops_loading_and_listing_and_verify_names_its_kind()
    {
        using var dir = new TempDirectory();
        var store = new SnapshotStore(new SnapshotOptions { Directory = dir.Path });
        store.Write(3, 1, "type.test/Blob", Encoding.UTF8.GetBytes("older"));
        var fifo = store.PathFor(7);
        SpecialFiles.MakeFifo(fifo);

        var load = await SpecialFiles.ThrowsWithinBoundAsync("loading the newest snapshot", () => store.LoadNewest());
        var list = await SpecialFiles.ThrowsWithinBoundAsync("listing snapshots", () => store.List());
        var problems = await SpecialFiles.WithinBoundAsync("verifying snapshots", store.Verify);

        Assert.Equal((fifo, FileKind.Fifo), (Assert.IsType<NotARegularFileException>(load).Path, ((NotARegularFileException)load).Kind));
        Assert.Equal(fifo, Assert.IsType<NotARegularFileException>(list).Path);
        Assert.Equal(new SnapshotProblem(fifo, "a FIFO (named pipe), not a regular file; remove it or move it away"), Assert.Single(problems));
    }

    [Fact]
    public async Task A_fifo_named_replica_meta_fails_the_load_and_a_directory_there_is_not_an_empty_replica()
    {
        using var dir = new TempDirectory();
        var fifoStore = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Sub("fifo"));
        Directory.CreateDirectory(dir.Sub("fifo"));
        SpecialFiles.MakeFifo(fifoStore.Path);
        var directoryStore = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Sub("directory"));
        Directory.CreateDirectory(directoryStore.Path);

        var fifo = await SpecialFiles.ThrowsWithinBoundAsync("loading replica.meta", () => fifoStore.Load());
        var directory = Assert.Throws<NotARegularFileException>(directoryStore.Load);

        Assert.Equal((fifoStore.Path, FileKind.Fifo), (Assert.IsType<NotARegularFileException>(fifo).Path, ((NotARegularFileException)fifo).Kind));
        Assert.True(fifoStore.Exists);
        Assert.Equal((directoryStore.Path, FileKind.Directory), (directory.Path, directory.Kind));
        Assert.True(directoryStore.Exists);
    }

    [Fact]
    public async Task A_fifo_named_like_a_backup_is_refused_while_a_link_to_a_real_backup_is_followed()
    {
        using var dir = new TempDirectory();
        var store = new SnapshotStore(new SnapshotOptions { Directory = dir.Path });
        store.Write(3, 1, "type.test/Blob", Encoding.UTF8.GetBytes("state"));
        var manager = new BackupManager(new BackupOptions { BackupDirectory = dir.Sub("backups"), ClusterName = "test" });
        var saved = manager.BackupNewestSnapshot(store)!;
        var linked = new BackupManager(new BackupOptions { BackupDirectory = dir.Sub("links"), ClusterName = "test" });
        Directory.CreateDirectory(dir.Sub("links"));
        File.CreateSymbolicLink(Path.Combine(dir.Sub("links"), Path.GetFileName(saved.Path)), saved.Path);

        Assert.Equal(3UL, Assert.Single(linked.List()).Position);
        Assert.Empty(linked.Verify());

        var fifo = Path.Combine(dir.Sub("backups"), BackupManager.FileName(saved.CreatedAt.AddHours(1), 9));
        SpecialFiles.MakeFifo(fifo);
        var list = await SpecialFiles.ThrowsWithinBoundAsync("listing backups", () => manager.List());
        var problems = await SpecialFiles.WithinBoundAsync("verifying backups", manager.Verify);
        Assert.Equal(fifo, Assert.IsType<NotARegularFileException>(list).Path);
        Assert.Equal(new BackupProblem(fifo, "a FIFO (named pipe), not a regular file; remove it or move it away"), Assert.Single(problems));
    }

    [Theory]
    [InlineData(FileKind.CharacterDevice)]
    [InlineData(FileKind.BlockDevice)]
    [InlineData(FileKind.Socket)]
    [InlineData(FileKind.Directory)]
    public void On_the_simulated_disk_a_segment_name_that_is_not_a_regular_file_stops_the_open_and_is_named_by_the_verifier(FileKind kind)
    {
        var fs = new SimulatedFileSystem(seed: 5);
        var options = LogKit.SimOptions(fs);
        using (SegmentedLog.Open(options))
        {
        }

        var path = Path.Combine(options.SegmentDirectory, "segment-00000000000000000002.log");
        if (kind == FileKind.Directory)
        {
            fs.CreateDirectory(path);
        }
        else
        {
            fs.CreateSpecialFile(path, kind);
        }

        var refused = Assert.Throws<NotARegularFileException>(() => SegmentedLog.Open(options));
        var readOnly = Assert.Throws<NotARegularFileException>(() => SegmentedLog.Open(options with { ReadOnly = true }));
        var problem = Assert.Single(LogVerifier.Verify(options).Problems);

        Assert.Equal((path, kind), (refused.Path, refused.Kind));
        Assert.Equal((path, kind), (readOnly.Path, readOnly.Kind));
        Assert.Equal((path, NotARegularFileException.Problem(kind)), (problem.File, problem.Problem));
    }

    private static bool PipeStillThere(string path) => PhysicalFileSystem.Instance.ListEntries(Path.GetDirectoryName(path)!).Contains(new DirectoryEntry(path, FileKind.Fifo));
}
