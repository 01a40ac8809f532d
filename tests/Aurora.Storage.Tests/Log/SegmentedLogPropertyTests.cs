using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;
using FsCheck;
using FsCheck.Fluent;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// Whatever is appended — any batch sizes, entries from empty to several times the chunk size,
/// compressible or not, any principals, rising terms — reads back identically, from any range,
/// across reopens, segment rolls, chunking and compression; concurrent appenders each get their
/// own contiguous positions.
/// </summary>
public class SegmentedLogPropertyTests
{
    public sealed record EntrySpec(int Size, PayloadKind Kind, int Principal, int TermStep, int Seed);

    public sealed record BatchSpec(EntrySpec[] Entries, bool ReopenAfter)
    {
        public override string ToString() => $"[{string.Join(", ", Entries.Select(e => $"{e.Size}b {e.Kind} p{e.Principal} +{e.TermStep}"))}]{(ReopenAfter ? " reopen" : string.Empty)}";
    }

    public sealed record Scenario(long SegmentSize, int MaxEntrySize, CompressionCodec Compression, int CompressionMinBytes, BatchSpec[] Batches, (int From, int To)[] Reads, int Seed)
    {
        public override string ToString() =>
            $"segment {SegmentSize}, max entry {MaxEntrySize}, {Compression} from {CompressionMinBytes}, seed {Seed}, reads {string.Join(" ", Reads)}, batches:\n  "
            + string.Join("\n  ", Batches.Select(b => b.ToString()));
    }

    public sealed record AppenderSpec(EntrySpec[][] Requests);

    private static Gen<EntrySpec> EntryGen(int maxEntrySize) =>
        from size in Gen.Frequency(
            (2, Gen.Constant(0)),
            (10, Gen.Choose(1, 300)),
            (6, Gen.Choose(300, maxEntrySize + 100)),
            (3, Gen.Choose(maxEntrySize, 4 * maxEntrySize)))
        from kind in Gen.Elements(PayloadKind.Random, PayloadKind.Text, PayloadKind.Zeros)
        from principal in Gen.Choose(0, LogKit.Principals.Length - 1)
        from termStep in Gen.Frequency((8, Gen.Constant(0)), (2, Gen.Constant(1)), (1, Gen.Choose(2, 1000)))
        from seed in Gen.Choose(0, int.MaxValue)
        select new EntrySpec(size, kind, principal, termStep, seed);

    private static Gen<Scenario> ScenarioGen(int maxBatches) =>
        from segmentKiB in Gen.Elements(16, 32, 64)
        from maxEntrySize in Gen.Elements(1024, 2048, 4096)
        from compression in Gen.Elements(CompressionCodec.None, CompressionCodec.Deflate, CompressionCodec.Brotli)
        from compressionMin in Gen.Elements(0, 64, 4096)
        from batchCount in Gen.Choose(1, maxBatches)
        from batches in Gen.ArrayOf(
            from size in Gen.Frequency((6, Gen.Constant(1)), (3, Gen.Choose(2, 5)), (1, Gen.Choose(6, 12)))
            from entries in Gen.ArrayOf(EntryGen(maxEntrySize), size)
            from reopen in Gen.Frequency((5, Gen.Constant(false)), (1, Gen.Constant(true)))
            select new BatchSpec(entries, reopen),
            batchCount)
        from reads in Gen.ArrayOf(Gen.Zip(Gen.Choose(1, 400), Gen.Choose(0, 400)), 6)
        from seed in Gen.Choose(0, int.MaxValue)
        select new Scenario(segmentKiB << 10, maxEntrySize, compression, compressionMin, batches, reads, seed);

    [Fact]
    public void Any_sequence_of_batches_reads_back_identically_across_reopens_rolls_chunking_and_compression()
    {
        Prop.ForAll(ScenarioGen(maxBatches: 30).ToArbitrary(), scenario =>
            LogKit.Run(() => RoundTripAsync(scenario, fs => new SimulatedFileSystem(scenario.Seed), LogKit.SimDirectory)))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(80).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Any_sequence_of_batches_reads_back_identically_on_a_real_disk()
    {
        Prop.ForAll(ScenarioGen(maxBatches: 12).ToArbitrary(), scenario =>
        {
            using var dir = new TempDirectory();
            LogKit.Run(() => RoundTripAsync(scenario, _ => PhysicalFileSystem.Instance, dir.Sub("log")));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(10).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Concurrent_appenders_get_unique_contiguous_positions_each_holding_the_callers_entries()
    {
        var request = Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(EntryGen(1024).Select(e => e with { TermStep = 0 }), n));
        var appender = Gen.Choose(1, 25).SelectMany(n => Gen.ArrayOf(request, n)).Select(requests => new AppenderSpec(requests));
        var scenario = Gen.Zip(Gen.Choose(2, 6).SelectMany(n => Gen.ArrayOf(appender, n)), Gen.Elements(CompressionCodec.None, CompressionCodec.Brotli));
        Prop.ForAll(scenario.ToArbitrary(), s => LogKit.Run(() => ConcurrentAsync(s.Item1, s.Item2)))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(40).WithQuietOnSuccess(true));
    }

    private static LogEntry Build(EntrySpec spec, ulong term, string id) =>
        LogKit.Entry(id, spec.Size, spec.Kind, LogKit.Principals[spec.Principal], term, seed: spec.Seed == 0 ? 1 : spec.Seed);

    private static async Task RoundTripAsync(Scenario scenario, Func<Scenario, IFileSystem> fileSystem, string directory)
    {
        var options = new LogOptions
        {
            Directory = directory,
            FileSystem = fileSystem(scenario),
            SegmentSize = scenario.SegmentSize,
            MaxEntrySize = scenario.MaxEntrySize,
            Compression = scenario.Compression,
            CompressionMinBytes = scenario.CompressionMinBytes,
            OnFatalError = new FatalErrors().Record,
        };
        var expected = new List<LogEntry>();
        var term = 1UL;
        var log = SegmentedLog.Open(options);
        try
        {
            for (var b = 0; b < scenario.Batches.Length; b++)
            {
                var batch = new List<LogEntry>();
                foreach (var spec in scenario.Batches[b].Entries)
                {
                    term += (ulong)spec.TermStep;
                    batch.Add(Build(spec, term, $"b{b}-{batch.Count}"));
                }

                var last = await log.AppendAsync(batch);
                Assert.Equal((ulong)(expected.Count + batch.Count), last);
                expected.AddRange(batch);
                if (scenario.Batches[b].ReopenAfter)
                {
                    log.Dispose();
                    log = SegmentedLog.Open(options);
                    Assert.Null(log.TornTail);
                    Assert.Equal(term, log.LastDurableTerm);
                }
            }

            LogKit.AssertEntries(expected, LogKit.ReadAll(log), "live");
            AssertRanges(log, expected, scenario.Reads);
            log.Dispose();
            log = SegmentedLog.Open(options);
            Assert.Null(log.TornTail);
            Assert.Equal((ulong)expected.Count, log.LastDurablePosition);
            LogKit.AssertEntries(expected, LogKit.ReadAll(log), "reopened");
            AssertRanges(log, expected, scenario.Reads);
        }
        finally
        {
            log.Dispose();
        }
    }

    private static void AssertRanges(SegmentedLog log, List<LogEntry> expected, (int From, int To)[] reads)
    {
        foreach (var (rawFrom, rawTo) in reads.Append((1, expected.Count)).Append((expected.Count, expected.Count)))
        {
            // Ranges around the log's end and reversed ranges are both interesting.
            var from = (ulong)(1 + (rawFrom % (expected.Count + 2)));
            var to = (ulong)(rawTo % (expected.Count + 3));
            var want = expected.Where(e => e.Position >= from && e.Position <= to).ToList();
            LogKit.AssertEntries(want, log.Read(from, to).ToList(), $"Read({from}, {to})");
        }
    }

    private static async Task ConcurrentAsync(AppenderSpec[] appenders, CompressionCodec compression)
    {
        var fs = new SimulatedFileSystem(appenders.Length);
        var options = LogKit.SimOptions(fs, segmentSize: 16 << 10, maxEntrySize: 1024, compression: compression);
        using var log = SegmentedLog.Open(options);
        var results = await Task.WhenAll(appenders.Select((appender, a) => Task.Run(async () =>
        {
            var mine = new List<(ulong Last, List<LogEntry> Entries)>();
            for (var r = 0; r < appender.Requests.Length; r++)
            {
                var request = appender.Requests[r].Select((spec, i) => Build(spec, 1, $"a{a}-{r}-{i}")).ToList();
                mine.Add((await log.AppendAsync(request), request));
            }

            return mine;
        })));

        var total = appenders.Sum(a => a.Requests.Sum(r => r.Length));
        var read = LogKit.ReadAll(log);
        Assert.Equal(total, read.Count);
        var owned = new HashSet<ulong>();
        foreach (var (last, entries) in results.SelectMany(r => r))
        {
            for (var i = 0; i < entries.Count; i++)
            {
                var position = last - (ulong)(entries.Count - 1 - i);
                Assert.True(owned.Add(position), $"position {position} was returned twice");
                Assert.Equal(position, entries[i].Position);
                Assert.Equal(entries[i], read[(int)position - 1]);
            }
        }

        Assert.Equal(Enumerable.Range(1, total).Select(p => (ulong)p), owned.Order());
        log.Dispose();
        using var reopened = SegmentedLog.Open(options);
        LogKit.AssertEntries(read, LogKit.ReadAll(reopened), "reopened");
    }
}
