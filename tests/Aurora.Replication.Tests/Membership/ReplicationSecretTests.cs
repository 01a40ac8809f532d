using Aurora.Replication.Membership;
using Aurora.Storage.IO;

namespace Aurora.Replication.Tests.Membership;

public sealed class ReplicationSecretTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_secret_is_the_files_bytes_exactly()
    {
        var path = Secret("secret", "0123456789abcdef\n"u8.ToArray());
        Assert.True(ReplicationSecret.TryLoad(path, PhysicalFileSystem.Instance, out var secret, out var problem, out var warning), problem);
        Assert.Null(warning);
        Assert.Equal("0123456789abcdef\n"u8.ToArray(), secret.Bytes.ToArray());
        Assert.Equal("(17 bytes, not shown)", secret.ToString());
    }

    [Fact]
    public void A_symbolic_link_to_the_secret_is_followed()
    {
        var target = Secret("target", new byte[32]);
        var link = _dir.Sub("link");
        File.CreateSymbolicLink(link, target);
        Assert.True(ReplicationSecret.TryLoad(link, PhysicalFileSystem.Instance, out var secret, out var problem, out _), problem);
        Assert.Equal(32, secret.Length);
    }

    [Fact]
    public void A_missing_file_is_refused_with_how_to_make_one()
    {
        var path = _dir.Sub("absent");
        Assert.Equal(
            $"-replication_secret_file={path} does not exist: make it on one replica (head -c 32 /dev/urandom > {path}; chmod 600 {path}) and copy it to every other",
            Refused(path));
    }

    [Fact]
    public void A_missing_directory_is_refused()
    {
        var path = Path.Combine(_dir.Sub("absent"), "secret");
        Assert.Equal($"-replication_secret_file={path} cannot be read: {path}: a directory on its path does not exist", Refused(path));
    }

    [Fact]
    public void An_empty_file_is_refused()
    {
        var path = Secret("empty", []);
        Assert.Equal($"-replication_secret_file={path} is empty: it must hold at least 16 random bytes, the same on every replica (head -c 32 /dev/urandom > {path})", Refused(path));
    }

    [Fact]
    public void A_file_shorter_than_16_bytes_is_refused_and_16_are_enough()
    {
        var path = Secret("short", new byte[15]);
        Assert.Equal($"-replication_secret_file={path} holds only 15 bytes: a secret must have at least 16 (head -c 32 /dev/urandom > {path})", Refused(path));
        Assert.True(ReplicationSecret.TryLoad(Secret("enough", new byte[16]), PhysicalFileSystem.Instance, out _, out _, out _));
    }

    [Fact]
    public void A_huge_file_is_refused_as_the_wrong_file()
    {
        var path = Secret("huge", new byte[ReplicationSecret.MaxLength + 1]);
        Assert.Equal($"-replication_secret_file={path} holds 65537 bytes, and a secret has at most 65536: is it the right file?", Refused(path));
    }

    [Fact]
    public void A_directory_is_refused()
    {
        var path = _dir.Sub("dir");
        Directory.CreateDirectory(path);
        Assert.Equal($"-replication_secret_file={path} is a directory, not a regular file holding the secret", Refused(path));
    }

    [Fact]
    public async Task A_fifo_is_refused_without_blocking()
    {
        var path = _dir.Sub("fifo");
        SpecialFiles.MakeFifo(path);
        var problem = await SpecialFiles.WithinBoundAsync("loading a FIFO as the secret", () => Refused(path));
        Assert.Equal($"-replication_secret_file={path} is a FIFO (named pipe), not a regular file holding the secret", problem);
        Assert.False(SpecialFiles.FifoHasReader(path));
    }

    [Fact]
    public void A_socket_is_refused()
    {
        var path = _dir.Sub("sock");
        using var socket = SpecialFiles.MakeSocket(path);
        Assert.Equal($"-replication_secret_file={path} is a Unix socket, not a regular file holding the secret", Refused(path));
    }

    [Fact]
    public void A_device_is_refused_when_one_can_be_made()
    {
        var path = _dir.Sub("null");
        if (!SpecialFiles.TryMakeDevice(path, block: false, 1, 3))
        {
            return; // Not root, or a user namespace: the FIFO and socket cases cover the refusal.
        }

        Assert.Equal($"-replication_secret_file={path} is a character device, not a regular file holding the secret", Refused(path));
    }

    [Fact]
    public void An_unreadable_file_is_refused()
    {
        // Tests run as root, where chmod 000 does not stop a read: the file system refuses instead.
        var path = Secret("secret", new byte[32]);
        var fileSystem = new RefusingFileSystem(new UnauthorizedAccessException($"Access to the path '{path}' is denied."));
        Assert.Equal($"-replication_secret_file={path} cannot be read: permission denied; the scheduler's user must be able to read it", Refused(path, fileSystem));
    }

    [Fact]
    public void An_io_error_is_refused_with_its_message()
    {
        var path = Secret("secret", new byte[32]);
        var fileSystem = new RefusingFileSystem(new IOException($"read {path}: Input/output error (errno 5)"));
        Assert.Equal($"-replication_secret_file={path} cannot be read: read {path}: Input/output error (errno 5)", Refused(path, fileSystem));
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, "read by its group and others", "644")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.GroupRead, "read by its group", "440")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.OtherRead | UnixFileMode.OtherWrite, "read by others and written by others", "406")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.GroupWrite, "written by its group", "420")]
    public void A_file_others_may_read_is_accepted_with_a_warning(UnixFileMode mode, string access, string octal)
    {
        var path = Secret("secret", new byte[32], mode);
        Assert.True(ReplicationSecret.TryLoad(path, PhysicalFileSystem.Instance, out var secret, out var problem, out var warning), problem);
        Assert.Equal(32, secret.Length);
        Assert.Equal($"-replication_secret_file={path} can be {access} (mode {octal}): whoever reads the secret can join this cluster's replication; chmod 600 {path}", warning);
    }

    [Fact]
    public void A_file_only_its_owner_may_read_has_no_warning()
    {
        var path = Secret("secret", new byte[32], UnixFileMode.UserRead);
        Assert.True(ReplicationSecret.TryLoad(path, PhysicalFileSystem.Instance, out _, out _, out var warning));
        Assert.Null(warning);
    }

    [Fact]
    public void A_secret_made_in_code_has_the_same_bounds() =>
        Assert.Throws<ArgumentException>(() => new ReplicationSecret(new byte[15]));

    private static string Refused(string path, IFileSystem? fileSystem = null)
    {
        Assert.False(ReplicationSecret.TryLoad(path, fileSystem ?? PhysicalFileSystem.Instance, out var secret, out var problem, out var warning));
        Assert.Null(secret);
        Assert.Null(warning);
        Assert.DoesNotContain('\n', problem);
        return problem;
    }

    private string Secret(string name, byte[] bytes, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = _dir.Sub(name);
        File.WriteAllBytes(path, bytes);
        StartUpFlags.SetMode(path, mode);
        return path;
    }

    /// <summary>The real disk, but every open fails with the given exception.</summary>
    private sealed class RefusingFileSystem(Exception failure) : IFileSystem
    {
        private readonly IFileSystem _disk = PhysicalFileSystem.Instance;

        public IStorageFile OpenFile(string path, FileOpenMode mode, SymlinkPolicy symlinks = SymlinkPolicy.Refuse) => throw failure;

        public bool DirectoryExists(string path) => _disk.DirectoryExists(path);

        public bool FileExists(string path) => _disk.FileExists(path);

        public void CreateDirectory(string path) => _disk.CreateDirectory(path);

        public IReadOnlyList<DirectoryEntry> ListEntries(string directory) => _disk.ListEntries(directory);

        public void DeleteFile(string path) => _disk.DeleteFile(path);

        public void Rename(string source, string destination) => _disk.Rename(source, destination);

        public void SyncDirectory(string path) => _disk.SyncDirectory(path);

        public IDisposable LockDirectory(string lockFilePath) => _disk.LockDirectory(lockFilePath);
    }
}
