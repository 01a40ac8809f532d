using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Tests.Support;
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
    public void A_clone_is_the_same_state_and_shares_nothing_that_either_changes_afterwards() =>
        Scenarios.ForAll((scenario, length) =>
        {
            // What the store's decision copy relies on: the clone decides as the state would, and
            // applying to one of them never shows in the other.
            var random = new Random(scenario.Seed ^ 0x0C10);
            var clones = new List<(int Position, SchedulerState Clone, byte[] Then)>();
            scenario.Run(length, _ =>
            {
                if (random.Next(8) == 0)
                {
                    var state = scenario.Harness.State;
                    var clone = state.Clone();
                    StateInvariants.AssertHold(clone);
                    Assert.Equal(state.Tasks.Select(t => t.TaskId), clone.Tasks.Select(t => t.TaskId));
                    foreach (var job in state.JobKeys)
                    {
                        Assert.Equal(state.UpdatesOf(job).Select(u => u.Key.Id), clone.UpdatesOf(job).Select(u => u.Key.Id));
                    }

                    clones.Add((scenario.Harness.Log.Count, clone, state.ToSnapshot().ToByteArray()));
                }
            });

            var final = scenario.Harness.State.StateHash();
            foreach (var (position, clone, then) in clones)
            {
                Assert.True(then.AsSpan().SequenceEqual(clone.ToSnapshot().ToByteArray()), $"The clone taken at position {position} of {scenario.Harness.Log.Count} changed as the state moved on.");
                var resumed = scenario.Harness.Replay(clone, position);
                StateInvariants.AssertHold(resumed);
                Assert.True(final.AsSpan().SequenceEqual(resumed.StateHash()), $"The clone taken at position {position} plus the rest of the log differs from the state.");
            }

            Assert.True(final.AsSpan().SequenceEqual(scenario.Harness.State.StateHash()), "Applying to the clones changed the state they were taken from.");
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
