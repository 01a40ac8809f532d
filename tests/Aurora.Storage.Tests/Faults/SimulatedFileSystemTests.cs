using Aurora.Storage.IO;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Faults;

/// <summary>The durability model the fault-injection tests rely on.</summary>
public class SimulatedFileSystemTests
{
    private const string Dir = "/data";

    private static SimulatedFileSystem NewFs(int seed = 1)
    {
        var fs = new SimulatedFileSystem(seed);
        fs.CreateDirectory(Dir);
        return fs;
    }

    private static void Write(SimulatedFileSystem fs, string name, byte[] data, bool sync, bool syncDirectory)
    {
        using var file = fs.OpenFile($"{Dir}/{name}", FileOpenMode.CreateOrTruncate);
        file.Write(0, data);
        if (sync)
        {
            file.DataSync();
        }

        if (syncDirectory)
        {
            fs.SyncDirectory(Dir);
        }
    }

    [Fact]
    public void Only_synced_data_in_a_synced_directory_entry_survives_a_crash()
    {
        var fs = NewFs();
        Write(fs, "durable", [1, 2, 3], sync: true, syncDirectory: true);
        Write(fs, "unsynced-data", [4, 5, 6], sync: false, syncDirectory: true);
        Write(fs, "unsynced-entry", [7, 8, 9], sync: true, syncDirectory: false);
        using (var file = fs.OpenFile($"{Dir}/durable", FileOpenMode.ReadWriteExisting))
        {
            file.Write(3, [10]);
            Assert.Equal([1, 2, 3, 10], fs.ReadAll($"{Dir}/durable"));
        }

        fs.Crash();
        Assert.Equal([1, 2, 3], fs.ReadAll($"{Dir}/durable"));
        Assert.Empty(fs.ReadAll($"{Dir}/unsynced-data"));
        Assert.False(fs.FileExists($"{Dir}/unsynced-entry"));
    }

    [Fact]
    public void Renames_and_deletes_are_undone_by_a_crash_until_the_directory_is_synced()
    {
        var fs = NewFs();
        Write(fs, "a", [1], sync: true, syncDirectory: true);
        Write(fs, "b", [2], sync: true, syncDirectory: true);
        fs.Rename($"{Dir}/a", $"{Dir}/c");
        fs.DeleteFile($"{Dir}/b");
        Assert.Equal([$"{Dir}/c"], fs.ListFiles(Dir));
        fs.Crash();
        Assert.Equal([$"{Dir}/a", $"{Dir}/b"], fs.ListFiles(Dir));
        fs.Rename($"{Dir}/a", $"{Dir}/c");
        fs.SyncDirectory(Dir);
        fs.Crash();
        Assert.Equal([$"{Dir}/b", $"{Dir}/c"], fs.ListFiles(Dir));
        Assert.Equal([1], fs.ReadAll($"{Dir}/c"));
    }

    [Fact]
    public void A_torn_crash_keeps_a_seeded_subset_of_whole_sector_pieces()
    {
        var data = Enumerable.Range(0, 4096).Select(i => (byte)(1 + (i % 250))).ToArray();
        byte[] Survivor(int seed)
        {
            var fs = NewFs(seed);
            Write(fs, "f", new byte[4096], sync: true, syncDirectory: true);
            using (var file = fs.OpenFile($"{Dir}/f", FileOpenMode.ReadWriteExisting))
            {
                file.Write(100, data.AsSpan(100, 3000));
            }

            fs.Crash(tornWrites: true);
            return fs.ReadAll($"{Dir}/f");
        }

        var kept = 0;
        var dropped = 0;
        foreach (var seed in Enumerable.Range(0, 20))
        {
            var after = Survivor(seed);
            Assert.Equal(after, Survivor(seed));
            Assert.Equal(4096, after.Length);
            for (var sector = 0; sector < 4096; sector += SimulatedFileSystem.SectorSize)
            {
                var from = Math.Max(sector, 100);
                var to = Math.Min(sector + SimulatedFileSystem.SectorSize, 3100);
                if (from >= to)
                {
                    Assert.True(after.AsSpan(sector, SimulatedFileSystem.SectorSize).IndexOfAnyExcept((byte)0) < 0);
                    continue;
                }

                var piece = after.AsSpan(from, to - from);
                if (piece.SequenceEqual(data.AsSpan(from, to - from)))
                {
                    kept++;
                }
                else
                {
                    Assert.True(piece.IndexOfAnyExcept((byte)0) < 0, $"seed {seed}: sector at {sector} is neither written nor unwritten");
                    dropped++;
                }
            }
        }

        Assert.True(kept > 0 && dropped > 0);
    }

    [Fact]
    public void The_nth_matching_write_fails_with_enospc_after_writing_part_of_the_data_up_to_a_sector_boundary()
    {
        var fs = NewFs();
        Write(fs, "other", [1], sync: false, syncDirectory: false);
        fs.FailWrite(2, len => len / 2, p => p.EndsWith("/f", StringComparison.Ordinal));
        using var file = fs.OpenFile($"{Dir}/f", FileOpenMode.CreateOrTruncate);
        var start = Enumerable.Repeat((byte)1, 510).ToArray();
        file.Write(0, start);
        using (var other = fs.OpenFile($"{Dir}/other", FileOpenMode.ReadWriteExisting))
        {
            other.Write(0, [9, 9, 9]);
        }

        // Asked to stop after 3 of 6 bytes, it stops at the sector boundary at 512: after 2.
        var e = Assert.Throws<IOException>(() => file.Write(510, [3, 4, 5, 6, 7, 8]));
        Assert.Equal(SimulatedFileSystem.Enospc, e.HResult);
        Assert.Contains("No space left on device", e.Message, StringComparison.Ordinal);
        Assert.Equal([.. start, 3, 4], fs.ReadAll($"{Dir}/f"));
        Assert.Same(e, Assert.Single(fs.InjectedFaults));

        // A short write that does not reach a sector boundary writes nothing.
        fs.FailWrite(1, _ => 100, p => p.EndsWith("/f", StringComparison.Ordinal));
        Assert.Throws<IOException>(() => file.Write(520, new byte[300]));
        Assert.Equal(512, fs.ReadAll($"{Dir}/f").Length);
        file.Write(512, [7]);
    }

    [Fact]
    public void A_full_disk_fails_every_write_until_space_returns()
    {
        var fs = NewFs();
        using var file = fs.OpenFile($"{Dir}/f", FileOpenMode.CreateOrTruncate);
        fs.DiskFull = true;
        Assert.Equal(SimulatedFileSystem.Enospc, Assert.Throws<IOException>(() => file.Write(0, [1])).HResult);
        Assert.Equal(SimulatedFileSystem.Enospc, Assert.Throws<IOException>(() => file.Write(0, [1])).HResult);
        Assert.Empty(fs.ReadAll($"{Dir}/f"));
        fs.DiskFull = false;
        file.Write(0, [1]);
        Assert.Equal([1], fs.ReadAll($"{Dir}/f"));
    }

    [Fact]
    public void Data_behind_a_failed_fdatasync_is_not_made_durable_by_a_later_one()
    {
        var lost = 0;
        for (var seed = 0; seed < 10; seed++)
        {
            var fs = NewFs(seed);
            Write(fs, "f", new byte[2048], sync: true, syncDirectory: true);
            using (var file = fs.OpenFile($"{Dir}/f", FileOpenMode.ReadWriteExisting))
            {
                file.Write(0, Enumerable.Repeat((byte)7, 2048).ToArray());
                fs.FailDataSync(1);
                Assert.Equal(SimulatedFileSystem.Eio, Assert.Throws<IOException>(file.DataSync).HResult);
                file.DataSync();
            }

            fs.Crash();
            lost += fs.ReadAll($"{Dir}/f").Count(b => b == 0) / SimulatedFileSystem.SectorSize;
        }

        Assert.True(lost > 0, "some sectors behind the failed sync should be lost");
    }

    [Fact]
    public void An_armed_crash_takes_the_machine_down_and_kills_old_handles_and_locks()
    {
        var fs = NewFs();
        var handle = fs.LockDirectory($"{Dir}/LOCK");
        Assert.Throws<IOException>(() => fs.LockDirectory($"{Dir}/LOCK"));
        using var file = fs.OpenFile($"{Dir}/f", FileOpenMode.CreateOrTruncate);
        fs.CrashAtOperation(2);
        file.Write(0, [1]);
        Assert.Throws<IOException>(() => file.Write(1, [2]));
        Assert.True(fs.IsDown);
        Assert.Throws<IOException>(() => fs.FileExists($"{Dir}/f"));
        fs.Restart();
        Assert.False(fs.FileExists($"{Dir}/f"));
        Assert.Throws<IOException>(() => file.Read(0, new byte[1]));
        using var relocked = fs.LockDirectory($"{Dir}/LOCK");
        handle.Dispose();
        Assert.Throws<IOException>(() => fs.LockDirectory($"{Dir}/LOCK"));
    }

    [Fact]
    public void Open_handles_keep_reading_a_deleted_file()
    {
        var fs = NewFs();
        Write(fs, "f", [1, 2, 3], sync: true, syncDirectory: true);
        using var file = fs.OpenFile($"{Dir}/f", FileOpenMode.ReadExisting);
        fs.DeleteFile($"{Dir}/f");
        Assert.Throws<FileNotFoundException>(() => fs.OpenFile($"{Dir}/f", FileOpenMode.ReadExisting));
        var buffer = new byte[3];
        Assert.Equal(3, file.Read(0, buffer));
        Assert.Equal([1, 2, 3], buffer);
    }

    [Fact]
    public void Special_files_are_listed_with_their_kinds_refused_when_opened_and_survive_a_crash()
    {
        var fs = NewFs();
        Write(fs, "regular", [1], sync: true, syncDirectory: true);
        fs.CreateSpecialFile($"{Dir}/fifo", FileKind.Fifo);
        fs.CreateSpecialFile($"{Dir}/tty", FileKind.CharacterDevice);
        fs.CreateDirectory($"{Dir}/sub");

        fs.Crash();

        Assert.Equal(
            [
                new DirectoryEntry($"{Dir}/fifo", FileKind.Fifo),
                new DirectoryEntry($"{Dir}/regular", FileKind.Regular),
                new DirectoryEntry($"{Dir}/sub", FileKind.Directory),
                new DirectoryEntry($"{Dir}/tty", FileKind.CharacterDevice),
            ],
            fs.ListEntries(Dir));
        foreach (var mode in Enum.GetValues<FileOpenMode>())
        {
            Assert.Equal(FileKind.Fifo, Assert.Throws<NotARegularFileException>(() => fs.OpenFile($"{Dir}/fifo", mode)).Kind);
            Assert.Equal(FileKind.CharacterDevice, Assert.Throws<NotARegularFileException>(() => fs.OpenFile($"{Dir}/tty", mode)).Kind);
            Assert.Equal(FileKind.Directory, Assert.Throws<NotARegularFileException>(() => fs.OpenFile($"{Dir}/sub", mode)).Kind);
        }

        fs.DeleteFile($"{Dir}/fifo");
        Assert.Equal([$"{Dir}/regular", $"{Dir}/tty"], fs.ListFiles(Dir));
        Assert.Throws<ArgumentException>(() => fs.CreateSpecialFile($"{Dir}/x", FileKind.Regular));
    }

    [Fact]
    public void A_disk_with_a_capacity_writes_what_fits_then_fails_with_enospc_and_takes_writes_again_once_space_is_freed()
    {
        var fs = NewFs();
        Write(fs, "a", new byte[600], sync: true, syncDirectory: true);
        fs.CapacityBytes = 1000;
        using (var file = fs.OpenFile($"{Dir}/b", FileOpenMode.CreateOrTruncate))
        {
            var e = Assert.Throws<IOException>(() => file.Write(0, Enumerable.Repeat((byte)5, 500).ToArray()));
            Assert.Equal(SimulatedFileSystem.Enospc, e.HResult);
            Assert.Same(e, Assert.Single(fs.InjectedFaults));
            Assert.Equal(Enumerable.Repeat((byte)5, 400), fs.ReadAll($"{Dir}/b"));
            Assert.Equal(1000, fs.UsedBytes);

            // Overwriting takes no space; growing, even by a length change, does.
            file.Write(0, [1, 2, 3]);
            Assert.Equal(SimulatedFileSystem.Enospc, Assert.Throws<IOException>(() => file.SetLength(401)).HResult);
            file.SetLength(100);
            file.Write(100, new byte[300]);
            Assert.Equal(1000, fs.UsedBytes);
        }

        fs.DeleteFile($"{Dir}/a");
        Write(fs, "c", new byte[600], sync: true, syncDirectory: true);
        Assert.Equal(1000, fs.UsedBytes);
        fs.CapacityBytes = null;
        Write(fs, "d", new byte[5000], sync: true, syncDirectory: true);
    }

    [Fact]
    public void Random_bit_flips_are_seeded_durable_and_only_in_matching_files()
    {
        (byte[] A, byte[] B, IReadOnlyList<(string Path, long Offset, int Bit)> Flips) Run(int seed)
        {
            var fs = NewFs(seed);
            Write(fs, "a", new byte[1000], sync: true, syncDirectory: true);
            Write(fs, "b", new byte[1000], sync: true, syncDirectory: true);
            Write(fs, "empty", [], sync: true, syncDirectory: true);
            var flips = fs.FlipRandomBits(5, p => !p.EndsWith("/b", StringComparison.Ordinal));
            fs.Crash();
            return (fs.ReadAll($"{Dir}/a"), fs.ReadAll($"{Dir}/b"), flips);
        }

        var (a, b, flips) = Run(3);
        Assert.Equal(5, flips.Count);
        Assert.All(flips, f => Assert.Equal($"{Dir}/a", f.Path));
        Assert.True(b.All(x => x == 0), "a file that does not match is left alone");
        var expected = new byte[1000];
        foreach (var (_, offset, bit) in flips)
        {
            expected[offset] ^= (byte)(1 << bit);
        }

        Assert.Equal(expected, a);
        Assert.Equal(flips, Run(3).Flips);
        Assert.Contains(Enumerable.Range(4, 5), seed => !Run(seed).Flips.SequenceEqual(flips));
        Assert.Empty(NewFs().FlipRandomBits(3));
    }

    /// <summary>
    /// The same calls on two instances with the same seed leave the same bytes, whatever faults the
    /// seed drives (torn crashes, a failed fdatasync, random bit flips); a seeded cluster simulator
    /// replays a failing run from its seeds alone.
    /// </summary>
    [Fact]
    public void The_same_calls_with_the_same_seed_leave_the_same_disk()
    {
        static string Run(int seed)
        {
            var fs = NewFs(seed);
            var random = new Random(1234);
            for (var round = 0; round < 6; round++)
            {
                for (var f = 0; f < 4; f++)
                {
                    var name = $"{Dir}/f{(f + round) % 5}";
                    using var file = fs.OpenFile(name, fs.FileExists(name) ? FileOpenMode.ReadWriteExisting : FileOpenMode.CreateNew);
                    var data = new byte[random.Next(1, 3000)];
                    random.NextBytes(data);
                    file.Write(random.Next(0, 2000), data);
                    if (random.Next(3) == 0)
                    {
                        file.DataSync();
                    }

                    if (random.Next(4) == 0)
                    {
                        fs.FailDataSync(1);
                        Assert.Throws<IOException>(file.DataSync);
                    }
                }

                if (round % 2 == 0)
                {
                    fs.SyncDirectory(Dir);
                }

                fs.FlipRandomBits(2);
                fs.Crash(tornWrites: true);
            }

            return string.Join("|", fs.ListFiles(Dir).Select(p => p + ":" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(fs.ReadAll(p)))));
        }

        var first = Run(11);
        Assert.Equal(first, Run(11));
        Assert.Contains(Enumerable.Range(12, 5), seed => Run(seed) != first);
    }
}
