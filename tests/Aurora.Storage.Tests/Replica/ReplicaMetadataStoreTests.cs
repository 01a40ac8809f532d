using Aurora.Storage.IO;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Replica;

public class ReplicaMetadataStoreTests
{
    private static ReplicaMetadata Voting(ulong term) =>
        new() { Status = ReplicaStatus.Voting, PromisedTerm = term, LogId = "abc", InitializedMicros = 1000 };

    [Fact]
    public void A_replica_without_a_metadata_file_is_EMPTY()
    {
        using var dir = new TempDirectory();
        var store = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path);

        Assert.False(store.Exists);
        Assert.Equal(ReplicaStatus.Empty, store.Load().Status);
    }

    [Fact]
    public void Saved_metadata_loads_back_and_leaves_no_temp_file()
    {
        using var dir = new TempDirectory();
        var store = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Sub("new/replica"));

        store.Save(Voting(7));
        store.Save(Voting(9));

        Assert.Equal(Voting(9), store.Load());
        Assert.Equal([store.Path], Directory.GetFiles(dir.Sub("new/replica")));
    }

    [Fact]
    public void The_metadata_file_has_exactly_these_bytes()
    {
        using var dir = new TempDirectory();
        var store = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path);

        store.Save(Voting(7));

        // Computed independently: magic, version 1, body length 12, CRC32C of the body, protobuf body.
        Assert.Equal(
            string.Concat(
                "4155524D4554410A", // "AURMETA\n"
                "01000000", // format version 1
                "0C000000", // body length
                "120697DD", // CRC32C of the body
                "08021007", // status VOTING, promised term 7
                "1A03616263", // log id "abc"
                "20E807"), // initialized at 1000 us
            Convert.ToHexString(File.ReadAllBytes(store.Path)));
    }

    [Fact]
    public void Every_flipped_bit_and_every_truncation_is_refused_with_the_file_named()
    {
        using var dir = new TempDirectory();
        var store = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path);
        store.Save(Voting(7));
        var good = File.ReadAllBytes(store.Path);

        for (var bit = 0; bit < good.Length * 8; bit++)
        {
            var bad = (byte[])good.Clone();
            bad[bit / 8] ^= (byte)(1 << (bit % 8));
            File.WriteAllBytes(store.Path, bad);
            var e = Assert.Throws<InvalidDataException>(store.Load);
            Assert.StartsWith(store.Path + ": ", e.Message, StringComparison.Ordinal);
            Assert.EndsWith(ReplicaMetadataStore.DamageCure, e.Message, StringComparison.Ordinal);
        }

        for (var length = 0; length < good.Length; length++)
        {
            File.WriteAllBytes(store.Path, good[..length]);
            Assert.Throws<InvalidDataException>(store.Load);
        }
    }

    [Fact]
    public void An_unknown_format_version_is_named()
    {
        using var dir = new TempDirectory();
        var store = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path);
        store.Save(Voting(7));
        var bytes = File.ReadAllBytes(store.Path);
        bytes[8] = 2;
        File.WriteAllBytes(store.Path, bytes);

        var e = Assert.Throws<InvalidDataException>(store.Load);
        Assert.Contains("unknown metadata format version 2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_crash_at_any_point_of_a_save_leaves_the_old_or_the_new_metadata()
    {
        for (var seed = 1; seed <= 40; seed++)
        {
            var fs = new SimulatedFileSystem(seed);
            var store = new ReplicaMetadataStore(fs, "/sim/replica");
            store.Save(Voting(1));
            fs.CrashAtOperation(1 + (seed % 6), tornWrites: seed % 2 == 0);
            try
            {
                store.Save(Voting(2));
            }
            catch (IOException)
            {
                // The crash interrupted the save.
            }

            fs.Crash(tornWrites: seed % 2 == 0);
            var term = store.Load().PromisedTerm;
            Assert.True(term is 1 or 2, $"seed {seed}: promised term {term}");
        }
    }

    [Fact]
    public void Random_bytes_are_refused_with_the_file_named_and_the_cure()
    {
        using var dir = new TempDirectory();
        var store = new ReplicaMetadataStore(PhysicalFileSystem.Instance, dir.Path);
        var random = new Random(20261);
        foreach (var length in new[] { 0, 7, 20, 64, 4096 })
        {
            var garbage = new byte[length];
            random.NextBytes(garbage);
            File.WriteAllBytes(store.Path, garbage);

            var e = Assert.Throws<InvalidDataException>(store.Load);

            Assert.True(store.Exists);
            Assert.Equal($"{store.Path}: not a replica metadata file (it is {length} bytes and does not start with the metadata magic); {ReplicaMetadataStore.DamageCure}", e.Message);
        }
    }
}
