using System.Globalization;
using Aurora.Storage.CrashChild;
using Aurora.Storage.Log;
using Xunit.Abstractions;

namespace Aurora.Storage.Tests.Process;

/// <summary>
/// Real processes appending to a real log on disk, killed with SIGKILL or stopped by a failed
/// fdatasync, restarted on the same directory over and over: nothing acknowledged may be lost.
/// </summary>
/// <remarks>
/// A SIGKILLed process loses nothing the kernel already holds: its page cache survives, so these
/// tests prove recovery from torn process state (a pwrite cut short at a page boundary, which half
/// the rounds make frequent with <see cref="PageSplittingFileSystem"/>; a half-finished segment
/// roll; leftover temp files; a repair interrupted by the next kill), not from power loss.
/// Power-loss tearing (unsynced data dropped, sectors torn) is covered by the simulated file
/// system tests.
/// The seed fixes every choice (writers, kill points, delays), not the interleaving, which is the
/// point: each run explores new kill moments. Replay a seed with AURORA_CRASH_SEED=&lt;seed&gt;.
/// </remarks>
public sealed class SegmentedLogCrashTests(ITestOutputHelper output)
{
    private const string SeedVariable = "AURORA_CRASH_SEED";

    // Environment.FailFast's message in LogOptions.FailFast, the default OnFatalError.
    private const string FatalStorageMessage = "aurora: fatal storage error, exiting so that a restart recovers from disk";

    [Fact]
    public Task Kill_9_at_random_moments_loses_no_acknowledged_entry() =>
        KillRepeatedlyAsync(rounds: 24, segmentSize: 256 << 10, maxEntrySize: 4096, maxAcksBeforeKill: 300);

    [Fact]
    public Task Kill_9_while_rolling_minimum_size_segments_loses_no_acknowledged_entry()
    {
        // The smallest segment Validate accepts holds one record of the max entry size, so nearly
        // every group commit rolls: kills land in the temp-file, rename and directory-fsync steps.
        const int maxEntrySize = 1024;
        var minimum = SegmentHeader.Size + RecordHeader.Size + maxEntrySize;
        var options = new LogOptions { Directory = "unused", MaxEntrySize = maxEntrySize, SegmentSize = minimum };
        options.Validate();
        Assert.Throws<ArgumentException>(() => (options with { SegmentSize = minimum - 1 }).Validate());
        return KillRepeatedlyAsync(rounds: 20, segmentSize: minimum, maxEntrySize: maxEntrySize, maxAcksBeforeKill: 100, minAcksBeforeKill: 10);
    }

    [Fact]
    public async Task Failed_fdatasync_ends_the_process_before_anything_unsynced_is_acknowledged()
    {
        var seed = Seed();
        var random = new Random(seed);
        using var temp = new TempDirectory();
        var ledger = new AckLedger();
        var template = new CrashChildArguments { Directory = temp.Sub($"log-seed-{seed}"), Seed = seed, Round = 0, SegmentSize = 16 << 10 };
        VerifiedLog? verified = null;
        const int rounds = 3;
        for (var round = 1; round <= rounds; round++)
        {
            var context = Context(seed, round);
            var arguments = template with { Round = round, Writers = random.Next(4, 9), FailSyncAfter = random.Next(2, 40) };
            output.WriteLine($"{context}: {arguments.Writers} writers, segment fdatasync {arguments.FailSyncAfter + 1} fails");
            using var child = CrashChildProcess.Start(arguments, temp.Path);
            var roundAcks = new List<AckLine>();
            SyncFailingLine? failing = null;
            while (await child.ReadLineAsync() is { } line)
            {
                switch (line)
                {
                    case OpenedLine opened:
                        CrashLogVerifier.CheckRecoveredAsVerified(opened, verified, context);
                        break;
                    case AckLine ack:
                        ledger.Add(ack, context);
                        roundAcks.Add(ack);
                        break;
                    case SyncFailingLine syncFailing when failing is null:
                        failing = syncFailing;
                        break;
                    default:
                        Assert.Fail($"{context}: unexpected line {line}; stderr: {child.Stderr}");
                        break;
                }
            }

            // No kill here: the default OnFatalError must end the process by itself (FailFast
            // aborts, exit code 134 on Linux).
            var exitCode = await child.WaitForExitAsync();
            var stderr = child.Stderr;
            Assert.True(exitCode != 0 && exitCode != CrashChildProcess.KilledExitCode, $"{context}: the child exited with {exitCode}; stderr: {stderr}");
            Assert.True(stderr.Contains(FatalStorageMessage, StringComparison.Ordinal), $"{context}: stderr lacks the fatal storage message: {stderr}");
            Assert.True(stderr.Contains("injected by the crash test", StringComparison.Ordinal), $"{context}: stderr does not name the injected cause: {stderr}");
            Assert.True(failing is not null, $"{context}: the child never reached the failing fdatasync; stderr: {stderr}");
            Assert.True(failing.SyncNumber == arguments.FailSyncAfter + 1, $"{context}: fdatasync {failing.SyncNumber} failed, expected {arguments.FailSyncAfter + 1}");
            foreach (var ack in roundAcks)
            {
                Assert.True(ack.Position <= failing.LastDurablePosition,
                    $"{context}: position {ack.Position} was acknowledged although the fdatasync that failed left the log durable only up to {failing.LastDurablePosition}");
            }

            verified = CrashLogVerifier.Verify(arguments.LogOptions with { ReadOnly = true }, ledger, seed, context);
            Assert.True(verified.LastDurablePosition >= failing.LastDurablePosition, $"{context}: the log ends at {verified.LastDurablePosition}, before {failing.LastDurablePosition}");
            output.WriteLine($"{context}: exited with {exitCode} after {roundAcks.Count} acks, durable up to {failing.LastDurablePosition} when the sync failed;"
                + $" log ends at {verified.LastDurablePosition} in {verified.SegmentCount} segments");
        }

        await VerifyWritableAfterwardsAsync(template with { Round = rounds + 1 }, ledger, verified, Context(seed, rounds + 1));
    }

    private async Task KillRepeatedlyAsync(int rounds, long segmentSize, int maxEntrySize, int maxAcksBeforeKill, int minAcksBeforeKill = 0)
    {
        var seed = Seed();
        var random = new Random(seed);
        using var temp = new TempDirectory();
        var ledger = new AckLedger();
        var template = new CrashChildArguments
        {
            Directory = temp.Sub($"log-seed-{seed}"),
            Seed = seed,
            Round = 0,
            SegmentSize = segmentSize,
            MaxEntrySize = maxEntrySize,
        };
        VerifiedLog? verified = null;
        var tornTails = 0;
        for (var round = 1; round <= rounds; round++)
        {
            var context = Context(seed, round);
            var arguments = template with
            {
                Round = round,
                Writers = random.Next(4, 9),
                Compression = random.Next(3) == 0 ? CompressionCodec.Brotli : CompressionCodec.None,
                SplitWritesAtPages = random.Next(2) == 0,
            };

            // Most kills come after some acknowledgements (plus, half the time, a few milliseconds
            // more of appending); one in ten comes at a random time after start, maybe while the
            // child is still recovering the tail the previous kill left.
            var killEarly = random.Next(10) == 0;
            var killAfterAcks = random.Next(minAcksBeforeKill, maxAcksBeforeKill + 1);
            var extraDelay = TimeSpan.FromMilliseconds(killEarly ? random.Next(0, 300) : random.Next(2) == 0 ? 0 : random.Next(1, 20));
            var acks = 0;
            using (var child = CrashChildProcess.Start(arguments, temp.Path))
            {
                if (!killEarly)
                {
                    if (await child.ReadLineAsync() is not OpenedLine opened)
                    {
                        Assert.Fail($"{context}: the child did not report opening the log; stderr: {child.Stderr}");
                        return;
                    }

                    CrashLogVerifier.CheckRecoveredAsVerified(opened, verified, context);
                    while (acks < killAfterAcks)
                    {
                        switch (await child.ReadLineAsync())
                        {
                            case AckLine ack:
                                ledger.Add(ack, context);
                                acks++;
                                break;
                            case var other:
                                Assert.Fail($"{context}: expected an acknowledgement, got {other?.ToString() ?? "the end of output"}; stderr: {child.Stderr}");
                                break;
                        }
                    }
                }

                if (extraDelay > TimeSpan.Zero)
                {
                    await Task.Delay(extraDelay);
                }

                child.Kill();

                // Lines already in the pipe were printed before the kill: they are acknowledgements too.
                while (await child.ReadLineAsync() is { } line)
                {
                    switch (line)
                    {
                        case AckLine ack:
                            ledger.Add(ack, context);
                            acks++;
                            break;
                        case OpenedLine opened when killEarly:
                            CrashLogVerifier.CheckRecoveredAsVerified(opened, verified, context);
                            break;
                        default:
                            Assert.Fail($"{context}: unexpected line {line} after the kill; stderr: {child.Stderr}");
                            break;
                    }
                }

                var exitCode = await child.WaitForExitAsync();
                Assert.True(exitCode == CrashChildProcess.KilledExitCode, $"{context}: the child exited with {exitCode} instead of dying by SIGKILL; stderr: {child.Stderr}");
            }

            verified = CrashLogVerifier.Verify(arguments.LogOptions with { ReadOnly = true }, ledger, seed, context);
            tornTails += verified.TornTail is null ? 0 : 1;
            output.WriteLine($"{context}: {arguments.Writers} writers, {arguments.Compression}{(arguments.SplitWritesAtPages ? ", page-split writes" : string.Empty)}, killed after {acks} acks"
                + $"{(killEarly ? " (early)" : string.Empty)}; log ends at {verified.LastDurablePosition} in {verified.SegmentCount} segments"
                + $"{(verified.TornTail is { } torn ? $", torn tail of {torn.DiscardedBytes} bytes: {torn.Reason}" : string.Empty)}");
        }

        output.WriteLine($"seed {seed}: {ledger.Count} acknowledged entries, {tornTails} of {rounds} kills left a torn tail");
        await VerifyWritableAfterwardsAsync(template with { Round = rounds + 1 }, ledger, verified, Context(seed, rounds + 1));
    }

    /// <summary>Opening read-write (as a restarted replica would) repairs the tail, keeps everything, and appends again.</summary>
    private static async Task VerifyWritableAfterwardsAsync(CrashChildArguments arguments, AckLedger ledger, VerifiedLog? verified, string context)
    {
        var options = arguments.LogOptions;
        var reopened = CrashLogVerifier.Verify(options, ledger, arguments.Seed, context);
        Assert.True(verified is null || reopened.LastDurablePosition == verified.LastDurablePosition,
            $"{context}: opened read-write the log ends at {reopened.LastDurablePosition}, read-only at {verified?.LastDurablePosition}");
        using var log = SegmentedLog.Open(options);
        Assert.Null(log.TornTail);
        var entry = CrashWorkload.Entry(new EntryIdentity(arguments.Seed, arguments.Round, 0, 0), arguments.MaxEntrySize);
        var position = await log.AppendAsync(entry);
        Assert.Equal(reopened.LastDurablePosition + 1, position);
        Assert.Equal(entry, log.Read(position).Single());
    }

    private int Seed()
    {
        var replay = Environment.GetEnvironmentVariable(SeedVariable);
        var seed = string.IsNullOrEmpty(replay) ? Random.Shared.Next() : int.Parse(replay, CultureInfo.InvariantCulture);
        output.WriteLine($"seed {seed} (replay with {SeedVariable}={seed})");
        return seed;
    }

    private static string Context(int seed, int round) => $"seed {seed}, round {round} (replay with {SeedVariable}={seed})";
}
