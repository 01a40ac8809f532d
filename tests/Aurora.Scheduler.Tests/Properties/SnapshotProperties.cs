using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Google.Protobuf;

namespace Aurora.Scheduler.Tests.Properties;

/// <summary>
/// Snapshots are a faithful, canonical encoding of the state: a state rebuilt from one is the same
/// state (same hash, same bytes), and resuming the log from a snapshot taken at any position reaches
/// the state a full replay reaches.
/// </summary>
public class SnapshotProperties
{
    [Fact]
    public void Snapshot_at_any_position_plus_the_tail_equals_the_full_replay_and_the_live_state() =>
        Scenarios.ForAll((scenario, length) =>
        {
            var random = new Random(scenario.Seed ^ 0x5A17);
            var cuts = new List<(int Position, byte[] Snapshot)>();
            scenario.Run(length, _ =>
            {
                if (random.Next(16) == 0)
                {
                    // The live state, mid-run, as the leader would write it.
                    cuts.Add((scenario.Harness.Log.Count, scenario.Harness.State.ToSnapshot().ToByteArray()));
                }
            });

            var log = scenario.Harness.Log;
            for (var i = 0; i < 3; i++)
            {
                // A position folded from scratch, as a follower or `aurora-log state --at` would.
                var cut = random.Next(log.Count + 1);
                cuts.Add((cut, scenario.ReplayPrefix(cut).ToSnapshot().ToByteArray()));
            }

            cuts.Add((0, new SchedulerState().ToSnapshot().ToByteArray()));
            cuts.Add((log.Count, scenario.Harness.State.ToSnapshot().ToByteArray()));

            var full = scenario.Harness.Replay().StateHash();
            Assert.Equal(scenario.Harness.State.StateHash(), full);
            foreach (var (position, snapshot) in cuts)
            {
                var resumed = scenario.Harness.Replay(SchedulerState.FromSnapshot(snapshot), position);
                Assert.True(full.AsSpan().SequenceEqual(resumed.StateHash()), $"Resuming from the snapshot at position {position} of {log.Count} reaches a different state.");
            }
        });

    [Fact]
    public void A_capture_describes_the_state_when_it_was_taken_however_the_state_changes_after_it() =>
        Scenarios.ForAll((scenario, length) =>
        {
            // What a snapshot taken while writes go on relies on: the capture is taken under the
            // lock, the snapshot built from it after the state has moved on.
            var random = new Random(scenario.Seed ^ 0x0CA9);
            var captures = new List<(int Position, StateCapture Capture, byte[] Then)>();
            scenario.Run(length, _ =>
            {
                if (random.Next(8) == 0)
                {
                    var state = scenario.Harness.State;
                    captures.Add((scenario.Harness.Log.Count, state.Capture(), state.ToSnapshot().ToByteArray()));
                }
            });

            foreach (var (position, capture, then) in captures)
            {
                Assert.True(then.AsSpan().SequenceEqual(capture.ToSnapshot().ToByteArray()), $"The capture at position {position} of {scenario.Harness.Log.Count} changed with the state after it.");
                Assert.True(then.AsSpan().SequenceEqual(capture.Encode()), $"The encoding of the capture at position {position} of {scenario.Harness.Log.Count} differs from its snapshot's bytes.");
            }
        });

    [Fact]
    public void Snapshot_round_trip_preserves_the_state_hash_and_the_bytes_after_every_command() =>
        Scenarios.ForAll((scenario, length) => scenario.Run(length, step =>
        {
            // Only a commit changes the state (the other properties check that refusals change nothing).
            if (step.Outcome != StepOutcome.Committed)
            {
                return;
            }

            var state = scenario.Harness.State;
            var snapshot = state.ToSnapshot();
            var bytes = snapshot.ToByteArray();
            var hash = state.StateHash();
            Assert.Equal(bytes, state.Capture().Encode());
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(bytes), hash);

            var loaded = SchedulerState.FromSnapshot(snapshot);
            Assert.Equal(hash, loaded.StateHash());
            Assert.Equal(bytes, loaded.ToSnapshot().ToByteArray());

            var parsed = SchedulerState.FromSnapshot(bytes);
            Assert.Equal(bytes, parsed.ToSnapshot().ToByteArray());
            Assert.Equal(snapshot, SchedulerSnapshot.Parser.ParseFrom(bytes));
        }));
}
