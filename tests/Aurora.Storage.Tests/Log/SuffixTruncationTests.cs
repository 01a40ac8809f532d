using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// <see cref="SegmentedLog.TruncateSuffixAsync"/> removes the entries after a position, in order
/// with appends; once it completed no crash brings them back, a crash during it leaves the old log
/// or a prefix of it ending at or after the kept position, and the log never reads as corrupt.
/// </summary>
public class SuffixTruncationTests
{
    private static LogOptions Options(SimulatedFileSystem fs, FatalErrors? fatal = null) =>
        LogKit.SimOptions(fs, segmentSize: 4 << 10, maxEntrySize: 1024, fatal: fatal);

    /// <summary>40 entries over several segments, terms rising every 7, every 9th one chunked.</summary>
    internal static async Task<(SimulatedFileSystem Fs, List<LogEntry> Entries)> BuildAsync(int count = 40)
    {
        var fs = new SimulatedFileSystem(seed: 1);
        var random = new Random(1);
        var entries = new List<LogEntry>();
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            for (var i = 0; i < count; i++)
            {
                var size = i % 9 == 4 ? 2600 : random.Next(0, 900);
                var entry = LogKit.Entry($"t{i}", size, term: 1 + (ulong)(i / 7), seed: random.Next());
                await log.AppendAsync(entry);
                entries.Add(entry);
            }
        }

        return (fs, entries);
    }

    private static Task WhenNextSegmentPrepared(SimulatedFileSystem fs) =>
        fs.WhenOperation(op => op.Kind == FsOperationKind.DataSync && SimulatedFileSystem.IsNextSegmentFile(op.Path));

    private static void AssertLog(SegmentedLog log, IReadOnlyList<LogEntry> expected, ulong first, string context)
    {
        Assert.Equal(first, log.FirstRetainedPosition);
        LogKit.AssertEntries(expected, LogKit.ReadAll(log), context);
        Assert.Equal(first - 1 + (ulong)expected.Count, log.LastDurablePosition);
        foreach (var entry in expected)
        {
            Assert.Equal(entry.Term, log.TermAt(entry.Position));
        }

        if (expected.Count > 0)
        {
            Assert.Equal(expected[^1].Term, log.LastDurableTerm);
        }
    }

    [Fact]
    public async Task Truncating_to_any_position_keeps_exactly_the_entries_up_to_it_for_good_and_appends_continue_after_it()
    {
        var (pristine, entries) = await BuildAsync();
        Assert.True(entries.Count(e => e.Payload.Value.Length > 1024) >= 4, "the fixture has chunked entries");
        for (var lastKept = 0UL; lastKept <= (ulong)entries.Count; lastKept++)
        {
            var context = $"TruncateSuffixAsync({lastKept})";
            var fs = pristine.Clone(seed: (int)lastKept);
            var kept = entries[..(int)lastKept];
            var segments = 0;
            using (var log = SegmentedLog.Open(Options(fs)))
            {
                await log.TruncateSuffixAsync(lastKept);
                AssertLog(log, kept, 1, context);
                Assert.Equal(lastKept, log.LastAssignedPosition);
                Assert.Equal(lastKept == 0 ? 0 : entries[(int)lastKept - 1].Term, log.LastDurableTerm);
                Assert.Equal(log.LastDurableTerm, log.TermAt(lastKept));
                Assert.Throws<ArgumentOutOfRangeException>(() => log.TermAt(lastKept + 1));
                segments = log.Segments.Count;
            }

            // A crash right after: nothing removed comes back, and nothing reads as damaged.
            fs.Crash(tornWrites: true);
            Assert.Empty(LogVerifier.Verify(Options(fs)).Problems);
            var next = LogKit.Entry("after", 1500, term: 50);
            using (var log = SegmentedLog.Open(Options(fs)))
            {
                Assert.Null(log.TornTail);
                AssertLog(log, kept, 1, context + ", reopened after a crash");
                Assert.Equal(segments, log.Segments.Count);
                Assert.Equal(lastKept + 1, await log.AppendAsync(next));
            }

            fs.Crash(tornWrites: true);
            using (var log = SegmentedLog.Open(Options(fs)))
            {
                Assert.Null(log.TornTail);
                AssertLog(log, [.. kept, next], 1, context + ", appended and reopened");
                Assert.Equal(50UL, log.TermAt(lastKept + 1));
            }
        }
    }

    [Fact]
    public async Task Appends_queued_before_a_truncation_are_written_first_and_appends_after_it_continue_after_the_kept_position()
    {
        var fs = new SimulatedFileSystem(seed: 2);
        using var log = SegmentedLog.Open(Options(fs));
        var durable = Enumerable.Range(0, 10).Select(i => LogKit.Entry($"d{i}", 300, term: 1)).ToList();
        await log.AppendAsync(durable);

        // Queued together: five appends (positions 11..15), a truncation to 12, three more appends.
        var before = Enumerable.Range(0, 5).Select(i => LogKit.Entry($"b{i}", 700, term: 2)).ToList();
        var after = Enumerable.Range(0, 3).Select(i => LogKit.Entry($"a{i}", 700, term: 3)).ToList();
        var beforeTasks = before.Select(e => log.AppendAsync(e)).ToList();
        var truncation = log.TruncateSuffixAsync(12);
        Assert.Equal((12UL, 2UL), (log.LastAssignedPosition, log.LastAssignedTerm));
        var afterTasks = after.Select(e => log.AppendAsync(e)).ToList();

        Assert.Equal([11UL, 12, 13, 14, 15], await Task.WhenAll(beforeTasks));
        await truncation;
        Assert.Equal([13UL, 14, 15], await Task.WhenAll(afterTasks));
        var expected = durable.Concat(before.Take(2)).Concat(after).ToList();
        AssertLog(log, expected, 1, "after the queued truncation");

        // A truncation back into a queued append's term needs that term: terms may not go below it.
        Assert.Throws<ArgumentException>(() => { _ = log.AppendAsync(LogKit.Entry("low", 10, term: 2)); });
    }

    [Fact]
    public async Task A_truncation_below_what_the_log_retains_or_beyond_its_end_is_refused_with_reasons()
    {
        var (fs, entries) = await BuildAsync();
        using var log = SegmentedLog.Open(Options(fs));
        var beyond = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = log.TruncateSuffixAsync((ulong)entries.Count + 1); });
        Assert.Equal("lastKept", beyond.ParamName);
        Assert.Contains($"it ends at position {entries.Count}", beyond.Message, StringComparison.Ordinal);

        var first = log.TruncatePrefix(30);
        Assert.True(first > 2);
        var below = Assert.Throws<ArgumentOutOfRangeException>(() => { _ = log.TruncateSuffixAsync(first - 2); });
        Assert.Contains($"the lowest it can keep up to is {first - 1}", below.Message, StringComparison.Ordinal);

        // Everything retained can go: the log then ends at first - 1, whose term the header keeps.
        await log.TruncateSuffixAsync(first - 1);
        Assert.Equal((first, first - 1), (log.FirstRetainedPosition, log.LastDurablePosition));
        Assert.Equal(entries[(int)first - 2].Term, log.LastDurableTerm);
        Assert.Equal(entries[(int)first - 2].Term, log.TermAt(first - 1));
        Assert.Empty(log.Read(first));
        var next = LogKit.Entry("next", 100, term: 9);
        Assert.Equal(first, await log.AppendAsync(next));
        AssertLog(log, [next], first, "appended after truncating everything retained");
    }

    [Fact]
    public async Task A_crash_at_any_operation_of_a_truncation_leaves_the_old_log_or_a_prefix_ending_at_or_after_the_kept_position()
    {
        var (pristine, entries) = await BuildAsync();
        foreach (var lastKept in new ulong[] { 0, 3, 13, 27, 38 })
        {
            var probe = pristine.Clone(seed: 0);
            var prepared = WhenNextSegmentPrepared(probe);
            int operations;
            using (var log = SegmentedLog.Open(Options(probe)))
            {
                await prepared;
                var before = probe.History.Count;
                await log.TruncateSuffixAsync(lastKept);
                operations = probe.History.Count - before;
            }

            Assert.True(operations >= 3, $"truncating to {lastKept} made only {operations} operations");
            var outcomes = new HashSet<int>();
            for (var op = 1; op <= operations; op++)
            {
                for (var seed = 0; seed < 6; seed++)
                {
                    outcomes.Add(await CrashDuringTruncationAsync(pristine, entries, lastKept, op, seed));
                }
            }

            Assert.Contains(entries.Count, outcomes);
            Assert.Contains((int)lastKept, outcomes);
        }
    }

    /// <summary>Returns how many entries the log had after the crash.</summary>
    private static async Task<int> CrashDuringTruncationAsync(SimulatedFileSystem pristine, List<LogEntry> entries, ulong lastKept, int op, int seed)
    {
        var context = $"truncating to {lastKept}, crash at operation {op}, seed {seed}";
        var fs = pristine.Clone(seed);
        var fatal = new FatalErrors();
        var prepared = WhenNextSegmentPrepared(fs);
        bool completed;
        using (var log = SegmentedLog.Open(Options(fs, fatal)))
        {
            await prepared;
            fs.CrashAtOperation(op, tornWrites: true);
            try
            {
                // Completes when the crash hits only the zero-filling after the durable cut.
                await log.TruncateSuffixAsync(lastKept);
                completed = true;
            }
            catch (IOException)
            {
                completed = false;
            }
        }

        Assert.True(fs.IsDown, $"{context}: the crash did not happen");
        fs.Restart();
        var problems = LogVerifier.Verify(Options(fs)).Problems;
        Assert.True(problems.Count == 0, $"{context}: {string.Join("; ", problems)}");
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            var count = (int)log.LastDurablePosition;
            Assert.True(count >= (int)lastKept, $"{context}: the log ends at {count}, before the kept position");
            Assert.True(!completed || count == (int)lastKept, $"{context}: the truncation completed, yet the log ends at {count}");
            AssertLog(log, entries[..count], 1, context);

            // The truncation can be repeated, and the log goes on.
            await log.TruncateSuffixAsync(lastKept);
            Assert.Equal(lastKept + 1, await log.AppendAsync(LogKit.Entry("after", 100, term: 99)));
            return count;
        }
    }

    [Fact]
    public async Task A_failed_fsync_while_truncating_is_fatal_and_a_restart_finds_the_old_log_or_a_prefix_ending_at_or_after_the_kept_position()
    {
        var (pristine, entries) = await BuildAsync();

        // The truncation syncs the directory after each segment it deletes, then the cut segment twice.
        var faults = new List<(string Name, Action<SimulatedFileSystem> Arm)>
        {
            ("directory fsync 1", fs => fs.FailSyncDirectory(1)),
            ("directory fsync 2", fs => fs.FailSyncDirectory(2)),
            ("fdatasync 1", fs => fs.FailDataSync(1, SimulatedFileSystem.IsSegmentFile)),
            ("fdatasync 2", fs => fs.FailDataSync(2, SimulatedFileSystem.IsSegmentFile)),
        };
        for (var nth = 1; nth <= faults.Count; nth++)
        {
            var (name, arm) = faults[nth - 1];
            var fs = pristine.Clone(seed: nth);
            var fatal = new FatalErrors();
            var prepared = WhenNextSegmentPrepared(fs);
            using (var log = SegmentedLog.Open(Options(fs, fatal)))
            {
                Assert.True(log.Segments.Count(s => s.FirstPosition > 21) >= 2, "the truncation deletes two segments or more");
                await prepared;
                arm(fs);
                var e = await Assert.ThrowsAsync<LogFailedException>(() => log.TruncateSuffixAsync(20));
                var cause = Assert.Single(fatal.Errors);
                Assert.Same(cause, e.InnerException);
                Assert.Equal(SimulatedFileSystem.Eio, cause.HResult);
                Assert.Throws<LogFailedException>(() => { _ = log.AppendAsync(LogKit.Entry("x", 1)); });
            }

            fs.Crash(tornWrites: true);
            using (var log = SegmentedLog.Open(Options(fs)))
            {
                var count = (int)log.LastDurablePosition;
                Assert.True(count >= 20, $"{name} failed: the log ends at {count}");
                AssertLog(log, entries[..count], 1, $"{name} failed");
            }
        }
    }

    [Fact]
    public async Task On_a_full_disk_a_truncation_still_completes_and_appends_resume_once_there_is_space()
    {
        var (fs, entries) = await BuildAsync();
        var fatal = new FatalErrors();
        var space = LogKit.Entry("space", 300, term: 20);
        var prepared = WhenNextSegmentPrepared(fs);
        using (var log = SegmentedLog.Open(Options(fs, fatal)))
        {
            await prepared;
            fs.DiskFull = true;

            // Shrinking takes no space; zero-filling the segment again fails, which only costs speed.
            await log.TruncateSuffixAsync(30);
            AssertLog(log, entries[..30], 1, "truncated on a full disk");
            var full = await Assert.ThrowsAsync<IOException>(() => log.AppendAsync(LogKit.Entry("full", 300, term: 20)));
            Assert.Equal(SimulatedFileSystem.Enospc, full.InnerException!.HResult);
            fs.DiskFull = false;
            Assert.Equal(31UL, await log.AppendAsync(space));
            Assert.Empty(fatal.Errors);
        }

        fs.Crash(tornWrites: true);
        using (var log = SegmentedLog.Open(Options(fs)))
        {
            AssertLog(log, [.. entries[..30], space], 1, "reopened");
        }
    }

    [Fact]
    public async Task A_read_overlapping_a_truncation_fails_with_position_discarded_and_reads_of_kept_entries_do_not()
    {
        var (fs, entries) = await BuildAsync();
        using var log = SegmentedLog.Open(Options(fs));
        using var reading = log.Read(1).GetEnumerator();
        for (var i = 0; i < 5; i++)
        {
            Assert.True(reading.MoveNext());
            Assert.Equal(entries[i], reading.Current);
        }

        var kept = log.Read(1, 20);
        await log.TruncateSuffixAsync(20);
        var replacements = Enumerable.Range(0, 25).Select(i => LogKit.Entry($"new{i}", 500, term: 30)).ToList();
        await log.AppendAsync(replacements);

        var e = Assert.Throws<PositionDiscardedException>(() =>
        {
            while (reading.MoveNext())
            {
                Assert.True(reading.Current.Position <= 20, $"read position {reading.Current.Position}, which was discarded");
            }
        });
        Assert.True(e.Position > 20);
        LogKit.AssertEntries(entries[..20], kept.ToList(), "a read of kept positions planned before the truncation");
        LogKit.AssertEntries([.. entries[..20], .. replacements], LogKit.ReadAll(log), "a read planned after it");
    }

    [Fact]
    public async Task Truncating_on_a_real_disk_survives_reopen_and_the_log_verifies_clean()
    {
        using var dir = new TempDirectory();
        var options = LogKit.DiskOptions(dir.Sub("log"), segmentSize: 4 << 10);
        var entries = new List<LogEntry>();
        using (var log = SegmentedLog.Open(options))
        {
            for (var i = 0; i < 30; i++)
            {
                var entry = LogKit.Entry($"r{i}", i % 7 == 3 ? 2500 : 400, term: 1 + (ulong)(i / 10));
                await log.AppendAsync(entry);
                entries.Add(entry);
            }

            await log.TruncateSuffixAsync(12);
            entries.RemoveRange(12, entries.Count - 12);
            var next = LogKit.Entry("next", 700, term: 4);
            Assert.Equal(13UL, await log.AppendAsync(next));
            entries.Add(next);
        }

        Assert.Empty(LogVerifier.Verify(options).Problems);
        using (var log = SegmentedLog.Open(options))
        {
            Assert.Null(log.TornTail);
            AssertLog(log, entries, 1, "reopened on a real disk");
            Assert.Equal(4UL, log.TermAt(13));
            Assert.Equal(2UL, log.TermAt(12));
        }

        Assert.All(
            PhysicalFileSystem.Instance.ListFiles(Path.Combine(options.Directory, "log")).Where(SimulatedFileSystem.IsSegmentFile),
            path => Assert.Equal(4 << 10, new FileInfo(path).Length));
    }
}
