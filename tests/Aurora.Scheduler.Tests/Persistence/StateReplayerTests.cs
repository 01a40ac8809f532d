using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.State;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Aurora.Scheduler.Tests.Persistence;

/// <summary>
/// Replay decoding ahead on a second thread is the one-thread replay, faster: the same state, the
/// same position and counts at every target, and the same failure at the same entry.
/// </summary>
public class StateReplayerTests
{
    private const int Jobs = 120;

    [Fact]
    public async Task Decoding_ahead_reaches_the_state_decoding_in_line_reaches_at_every_position_and_time()
    {
        using var fixture = new StoreFixture();
        await WriteAsync(fixture);
        using var log = SegmentedLog.Open(new LogOptions { Directory = fixture.Directory, ReadOnly = true });
        var last = log.LastDurablePosition;
        Assert.True(last > Jobs, $"the log holds {last} entries");

        var targets = new List<ReplayTarget> { ReplayTarget.Latest };
        for (var position = 1ul; position <= last; position++)
        {
            targets.Add(ReplayTarget.AtPosition(position));
        }

        // Times between, at and beyond the entries' (the store's clock advanced a second per job).
        var start = fixture.Time.GetUtcNow().AddSeconds(-Jobs - 5);
        for (var s = 0; s < Jobs + 10; s += 7)
        {
            targets.Add(ReplayTarget.AtTime(start.AddSeconds(s).AddMilliseconds(s % 2 == 0 ? 0 : 500)));
        }

        foreach (var target in targets)
        {
            var inLine = StateReplayer.Replay(log, null, target, ReplayDecoding.InLine);
            var ahead = StateReplayer.Replay(log, null, target, ReplayDecoding.Ahead);
            Assert.Equal(inLine.State.StateHash(), ahead.State.StateHash());
            Assert.Equal(
                (inLine.AppliedPosition, inLine.AppliedTimeMicros, inLine.EntriesReplayed, inLine.EventsReplayed),
                (ahead.AppliedPosition, ahead.AppliedTimeMicros, ahead.EntriesReplayed, ahead.EventsReplayed));
        }

        // A time target stops early: the reading thread stopped too, and the log can be read again at once.
        var early = StateReplayer.Replay(log, null, ReplayTarget.AtTime(start.AddSeconds(10)), ReplayDecoding.Ahead);
        Assert.InRange(early.AppliedPosition, 1ul, last - 1);
        Assert.Equal((int)last, log.Read(1).Count());
    }

    [Fact]
    public async Task An_entry_that_does_not_decode_fails_the_replay_at_that_entry_whichever_thread_decodes()
    {
        using var fixture = new StoreFixture();
        await WriteAsync(fixture);
        ulong broken;
        using (var writable = SegmentedLog.Open(fixture.Options().LogOptions()))
        {
            var good = writable.Read(2, 2).Single();
            broken = await writable.AppendAsync(new LogEntry
            {
                Term = good.Term,
                TimestampMicros = good.TimestampMicros,
                Principal = "mallory",
                Payload = new Any { TypeUrl = TransactionCodec.TypeUrl, Value = ByteString.CopyFrom(0xFF, 0xFF, 0xFF, 0xFF) },
            });

            // Far more entries after it than the reading thread may run ahead.
            for (var i = 0; i < 1000; i++)
            {
                await writable.AppendAsync(new LogEntry { Term = good.Term, TimestampMicros = good.TimestampMicros, Principal = good.Principal, Payload = good.Payload });
            }
        }

        using var log = SegmentedLog.Open(new LogOptions { Directory = fixture.Directory, ReadOnly = true });
        var inLine = Assert.Throws<EventApplyException>(() => StateReplayer.Replay(log, null, ReplayTarget.Latest, ReplayDecoding.InLine));
        var ahead = Assert.Throws<EventApplyException>(() => StateReplayer.Replay(log, null, ReplayTarget.Latest, ReplayDecoding.Ahead));

        Assert.Equal(broken, inLine.Position);
        Assert.Equal(inLine.Message, ahead.Message);
        Assert.Contains("does not decode", ahead.Message, StringComparison.Ordinal);

        // Up to the entry before it, both replay.
        var before = StateReplayer.Replay(log, null, ReplayTarget.AtPosition(broken - 1), ReplayDecoding.Ahead);
        Assert.Equal(broken - 1, before.AppliedPosition);
    }

    /// <summary>A quota, then a job a second, each with two tasks, and a kill of every third job.</summary>
    private static async Task WriteAsync(StoreFixture fixture)
    {
        using var store = fixture.Open();
        await store.ExecuteAsync(new SetQuota("www-data", Configs.Quota(1000, 1 << 20, 1 << 20)), "admin");
        for (var i = 0; i < Jobs; i++)
        {
            fixture.Time.Advance(TimeSpan.FromSeconds(1));
            var key = Configs.Key(name: $"job-{i}");
            await store.ExecuteAsync(new CreateJob(Configs.Job(key, instances: 2)), "alice");
            if (i % 3 == 2)
            {
                await store.ExecuteAsync(new KillTasks(Configs.Key(name: $"job-{i - 1}"), [0]), "bob");
            }
        }
    }
}
