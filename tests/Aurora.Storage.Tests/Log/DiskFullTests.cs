using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// ENOSPC (possibly after part of the data was written) fails the affected append cleanly: its
/// task faults with an <see cref="IOException"/>, nothing acknowledged is lost, live or after a
/// restart or a crash, and the log takes appends again once there is space.
/// </summary>
public class DiskFullTests
{
    private static readonly Workload Work = new(seed: 7);

    private static LogOptions Options(SimulatedFileSystem fs, FatalErrors? fatal = null) =>
        LogKit.SimOptions(fs, segmentSize: 8 << 10, maxEntrySize: 1024, fatal: fatal);

    [Fact]
    public async Task Enospc_at_any_segment_write_fails_only_that_append_and_loses_nothing_acknowledged()
    {
        var history = await Workload.DryRunAsync(Work, f => Options(f));
        var writes = history.Count(op => op.Kind == FsOperationKind.Write && SimulatedFileSystem.IsSegmentFile(op.Path));
        Assert.True(writes > 20, $"the workload made only {writes} segment writes");
        for (var n = 1; n <= writes; n++)
        {
            await RunWithOneEnospcAsync(n, SimulatedFileSystem.IsSegmentFile, expectFailure: true);
        }
    }

    [Fact]
    public async Task Enospc_preallocating_the_next_segment_is_retried_at_the_roll_and_enospc_starting_it_fails_only_that_append()
    {
        var history = await Workload.DryRunAsync(Work, f => Options(f));
        bool IsNextSegmentWrite(FsOperation op) => op.Kind == FsOperationKind.Write && SimulatedFileSystem.IsNextSegmentFile(op.Path);
        var used = Workload.FollowedByRoll(history, IsNextSegmentWrite);
        var headerWrites = history.Where(IsNextSegmentWrite).Select(op => op.Length == SegmentHeader.Size).ToList();
        Assert.True(used.Count(u => u) >= 6, "the workload should roll several times");
        Assert.True(headerWrites.Count(h => h) >= 6 && headerWrites.Count(h => !h) >= 6);
        for (var n = 1; n <= used.Count; n++)
        {
            // Preallocation runs in the background; the roll prepares again if it failed. Writing
            // the header happens in the roll itself, which then fails.
            await RunWithOneEnospcAsync(n, SimulatedFileSystem.IsNextSegmentFile, expectFailure: used[n - 1] && headerWrites[n - 1]);
        }
    }

    [Fact]
    public async Task Enospc_as_the_last_write_before_a_restart_or_crash_keeps_the_acknowledged_prefix()
    {
        var history = await Workload.DryRunAsync(Work, f => Options(f));
        var writes = history.Count(op => op.Kind == FsOperationKind.Write && SimulatedFileSystem.IsSegmentFile(op.Path));
        for (var n = 1; n <= writes; n++)
        {
            foreach (var crashAtOnce in new[] { false, true })
            {
                var context = $"ENOSPC at segment write {n} (seed {n}), {(crashAtOnce ? "crash" : "restart")}";
                var fs = new SimulatedFileSystem(seed: n);
                fs.FailWrite(n, PartialWrite(n), SimulatedFileSystem.IsSegmentFile);
                var acked = new List<LogEntry>();
                List<LogEntry>? failed = null;
                using (var log = SegmentedLog.Open(Options(fs)))
                {
                    foreach (var request in Work.Requests())
                    {
                        try
                        {
                            await log.AppendAsync(request);
                            acked.AddRange(request);
                        }
                        catch (IOException)
                        {
                            failed = request;
                            break;
                        }
                    }
                }

                Assert.True(failed is not null, $"{context}: no append failed");

                // What is left keeps the acknowledged prefix, and at most some whole entries of the
                // failed request (their records may be intact on disk, but it was reported as failed).
                if (!crashAtOnce)
                {
                    AssertAcknowledgedPrefix(fs, acked, failed, context, appendAfter: false);
                }

                fs.Crash(tornWrites: true);
                AssertAcknowledgedPrefix(fs, acked, failed, context + ", after the crash", appendAfter: true);
            }
        }
    }

    [Fact]
    public async Task A_full_disk_fails_appends_until_space_returns_and_then_the_first_append_succeeds_even_if_it_rolls()
    {
        var fs = new SimulatedFileSystem(seed: 3);
        var fatal = new FatalErrors();
        var options = Options(fs, fatal);
        var prepared = fs.WhenOperation(op => op.Kind == FsOperationKind.DataSync && SimulatedFileSystem.IsNextSegmentFile(op.Path));
        using var log = SegmentedLog.Open(options);
        await prepared;
        var acked = new List<LogEntry>();
        for (var i = 0; i < 3; i++)
        {
            var entry = LogKit.Entry($"before{i}", 2000);
            await log.AppendAsync(entry);
            acked.Add(entry);
        }

        fs.DiskFull = true;

        // An append that needs a new segment: the header write fails, and so does the
        // preallocation the log starts again in the background (the second write to that file).
        var retriedPreallocation = fs.WhenOperation(op => op.Kind == FsOperationKind.Write && SimulatedFileSystem.IsNextSegmentFile(op.Path), nth: 2);
        var big = LogKit.Entry("big", 3000);
        var e = await Assert.ThrowsAnyAsync<IOException>(() => log.AppendAsync(big));
        AssertNoSpace(e);
        await retriedPreallocation;
        var small = LogKit.Entry("small", 10);
        AssertNoSpace(await Assert.ThrowsAnyAsync<IOException>(() => log.AppendAsync(small)));
        Assert.Equal((ulong)acked.Count, log.LastDurablePosition);
        LogKit.AssertEntries(acked, LogKit.ReadAll(log), "while the disk is full");

        fs.DiskFull = false;
        Assert.Equal((ulong)acked.Count + 1, await log.AppendAsync(big));
        acked.Add(big);
        Assert.Equal((ulong)acked.Count + 1, await log.AppendAsync(small));
        acked.Add(small);
        LogKit.AssertEntries(acked, LogKit.ReadAll(log), "after space returned");
        Assert.Empty(fatal.Errors);

        log.Dispose();
        fs.Crash(tornWrites: true);
        using var reopened = SegmentedLog.Open(options);
        LogKit.AssertEntries(acked, LogKit.ReadAll(reopened), "after a crash");
    }

    [Fact]
    public async Task Repeated_partial_writes_on_a_full_disk_never_leave_a_log_that_refuses_to_open()
    {
        // Two failed appends at the same position, each writing part of its records, then a
        // restart: the second must not leave its bytes mixed with the first one's.
        for (var seed = 0; seed < 40; seed++)
        {
            var fs = new SimulatedFileSystem(seed);
            var random = new Random(seed);
            var options = Options(fs);
            var acked = new List<LogEntry>();
            using (var log = SegmentedLog.Open(options))
            {
                var first = LogKit.Entry("first", 100, seed: seed + 1);
                await log.AppendAsync(first);
                acked.Add(first);
                fs.FailWrite(1, len => random.Next(len), SimulatedFileSystem.IsSegmentFile);
                fs.FailWrite(2, len => random.Next(len), SimulatedFileSystem.IsSegmentFile);
                await Assert.ThrowsAnyAsync<IOException>(() => log.AppendAsync(LogKit.Entry("a", random.Next(1, 3000), seed: seed + 2)));
                await Assert.ThrowsAnyAsync<IOException>(() => log.AppendAsync(LogKit.Entry("b", random.Next(1, 3000), seed: seed + 3)));
            }

            var context = $"seed {seed}";
            using (var log = SegmentedLog.Open(options))
            {
                var read = LogKit.ReadAll(log);
                LogKit.AssertEntries(acked, read[..1], context);
                Assert.True(read.Count == 1 || (read.Count == 2 && LogKit.IdOf(read[1]) is "a" or "b"), $"{context}: unexpected entries after the failed appends");
            }

            fs.Crash(tornWrites: true);
            using (var log = SegmentedLog.Open(options))
            {
                LogKit.AssertEntries(acked, LogKit.ReadAll(log)[..1], context + ", crashed");
            }
        }
    }

    [Fact]
    public async Task A_full_disk_while_repairing_a_torn_tail_fails_the_open_which_succeeds_once_space_returns()
    {
        var fs = new SimulatedFileSystem(seed: 4);
        var options = Options(fs);
        var kept = LogKit.Entry("kept", 300);
        using (var log = SegmentedLog.Open(options))
        {
            await log.AppendAsync(kept);
            await log.AppendAsync(LogKit.Entry("torn", 900));
        }

        var path = LogKit.SegmentFiles(fs, LogKit.SimDirectory)[^1];
        var bytes = fs.ReadAll(path);
        bytes.AsSpan((int)LogKit.WalkRecords(path, bytes)[^1].Offset + 200).Clear();
        fs.Overwrite(path, bytes);
        fs.DiskFull = true;
        AssertNoSpace(Assert.ThrowsAny<IOException>(() => SegmentedLog.Open(options)));
        fs.DiskFull = false;
        using var reopened = SegmentedLog.Open(options);
        Assert.NotNull(reopened.TornTail);
        LogKit.AssertEntries([kept], LogKit.ReadAll(reopened), "after space returned");
    }

    /// <summary>Some failures write nothing, others part of the data (seeded by the write index).</summary>
    private static Func<int, int> PartialWrite(int n)
    {
        var random = new Random(n);
        return n % 3 == 0 ? _ => 0 : length => random.Next(length);
    }

    private static async Task RunWithOneEnospcAsync(int n, Func<string, bool> where, bool expectFailure)
    {
        var context = $"ENOSPC at write {n} to matching files (seed {n})";
        var fs = new SimulatedFileSystem(seed: n);
        var fatal = new FatalErrors();
        var options = Options(fs, fatal);
        fs.FailWrite(n, PartialWrite(n), where);
        var acked = new List<LogEntry>();
        var failures = 0;
        using (var log = SegmentedLog.Open(options))
        {
            foreach (var request in Work.Requests())
            {
                try
                {
                    Assert.Equal((ulong)(acked.Count + request.Count), await log.AppendAsync(request));
                }
                catch (IOException e) when (e is not LogFailedException)
                {
                    failures++;
                    AssertNoSpace(e);
                    Assert.All(request, entry => Assert.Equal(0UL, entry.Position));
                    Assert.Equal((ulong)acked.Count, log.LastDurablePosition);
                    LogKit.AssertEntries(acked, LogKit.ReadAll(log), context + ", right after the failure");

                    // The entries were handed back unchanged: the same request simply goes again.
                    Assert.Equal((ulong)(acked.Count + request.Count), await log.AppendAsync(request));
                }

                acked.AddRange(request);
            }

            Assert.True((expectFailure ? 1 : 0) == failures, $"{context}: {failures} appends failed");
            LogKit.AssertEntries(acked, LogKit.ReadAll(log), context + ", live");
        }

        Assert.Empty(fatal.Errors);
        using (var log = SegmentedLog.Open(options))
        {
            Assert.True(log.TornTail is null, $"{context}: torn tail after a clean shutdown: {log.TornTail}");
            LogKit.AssertEntries(acked, LogKit.ReadAll(log), context + ", reopened");
        }

        fs.Crash(tornWrites: true);
        using (var log = SegmentedLog.Open(options))
        {
            LogKit.AssertEntries(acked, LogKit.ReadAll(log), context + ", after a crash");
            var next = LogKit.Entry("after", 500, term: 99);
            Assert.Equal((ulong)acked.Count + 1, await log.AppendAsync(next));
        }
    }

    private static void AssertAcknowledgedPrefix(SimulatedFileSystem fs, List<LogEntry> acked, List<LogEntry> failed, string context, bool appendAfter)
    {
        using var log = SegmentedLog.Open(Options(fs));
        var read = LogKit.ReadAll(log);
        Assert.True(read.Count >= acked.Count, $"{context}: {read.Count} entries, {acked.Count} acknowledged");
        LogKit.AssertEntries(acked, read[..acked.Count], context);
        var extra = read[acked.Count..];
        Assert.True(extra.Count <= failed.Count, $"{context}: {extra.Count} unexpected entries");
        for (var i = 0; i < extra.Count; i++)
        {
            var expected = failed[i].Clone();
            expected.Position = (ulong)(acked.Count + i + 1);
            Assert.Equal(expected, extra[i]);
        }

        if (appendAfter)
        {
            var next = LogKit.Entry("after", 700, term: 99);
            Assert.Equal((ulong)read.Count + 1, log.AppendAsync(next).GetAwaiter().GetResult());
            LogKit.AssertEntries([.. read, next], LogKit.ReadAll(log), context + ", appended after recovery");
        }
    }

    private static void AssertNoSpace(Exception e)
    {
        for (var cause = e; cause is not null; cause = cause.InnerException)
        {
            if (cause is IOException { HResult: SimulatedFileSystem.Enospc })
            {
                return;
            }
        }

        Assert.Fail($"expected ENOSPC as the cause, got {e}");
    }

    [Fact]
    public async Task An_append_retried_the_moment_a_failed_append_reports_its_failure_succeeds()
    {
        // Regression: the writer used to report the failure before rewinding positions, so a retry
        // racing in between was queued behind the failed append and failed with it.
        var fs = new SimulatedFileSystem(seed: 3);
        using var log = SegmentedLog.Open(Options(fs));
        for (var round = 0; round < 300; round++)
        {
            fs.FailWrite(1, where: SimulatedFileSystem.IsSegmentFile);
            var failed = log.AppendAsync(LogKit.Entry($"doomed{round}", 50));
            var retried = await failed.ContinueWith(
                _ => log.AppendAsync(LogKit.Entry($"retry{round}", 50)),
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            await Assert.ThrowsAnyAsync<IOException>(() => failed);
            var position = await retried;
            Assert.True(position == (ulong)round + 1, $"round {round}: retry landed at {position}");
        }

        Assert.Equal(300, LogKit.ReadAll(log).Count(e => LogKit.IdOf(e).StartsWith("retry", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Enospc_while_zeroing_what_a_failed_write_left_leaves_a_log_that_opens(bool crash)
    {
        // Found by the replication simulator (seed 779057): an append failed with ENOSPC part-way,
        // and the next one failed again while zeroing those bytes, after 30 of them: the record's
        // header was left half zeros, half old bytes, which reads as corruption, and the log refused
        // to open. A file system's short write ends at a block boundary (it writes the blocks it
        // could allocate), which the simulated disk now models; any such cut must leave a log that
        // opens with everything acknowledged, and takes records over what the failed writes left.
        foreach (var asked in new[] { 30, 200, 511, 600, 1100 })
        {
            foreach (var bytes in new[] { 600, 2000 })
            {
                var context = $"{bytes}-byte record, clean-up cut after {asked} bytes, {(crash ? "crash" : "restart")}";
                var fs = new SimulatedFileSystem(seed: asked);
                var options = Options(fs);
                var log = SegmentedLog.Open(options);
                for (var i = 0; i < 3; i++)
                {
                    await log.AppendAsync(LogKit.Entry($"kept{i}", 100));
                }

                fs.FailWrite(1, length => length - 1, SimulatedFileSystem.IsSegmentFile);
                await Assert.ThrowsAnyAsync<IOException>(() => log.AppendAsync(LogKit.Entry("first", bytes)));
                fs.FailWrite(1, _ => asked, SimulatedFileSystem.IsSegmentFile);
                await Assert.ThrowsAnyAsync<IOException>(() => log.AppendAsync(LogKit.Entry("second", bytes, term: 2)));
                log.Dispose();
                if (crash)
                {
                    fs.Crash(tornWrites: true);
                }

                using (var reopened = SegmentedLog.Open(options))
                {
                    Assert.True(3UL == reopened.LastDurablePosition, context);
                    for (var i = 0; i < 12; i++)
                    {
                        await reopened.AppendAsync(LogKit.Entry($"after{i}", 30));
                    }
                }

                using var again = SegmentedLog.Open(options);
                Assert.True(15UL == again.LastDurablePosition, context);
                Assert.Equal(15, LogKit.ReadAll(again).Count);
            }
        }
    }
}
