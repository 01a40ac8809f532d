using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Google.Protobuf;

namespace Aurora.Scheduler.Tests.Properties;

/// <summary>
/// Apply and decisions are functions of their inputs only: the same log folds to the same state,
/// the same seed writes the same log, and a decision does not depend on how its state was built
/// (live, replayed from the log, or loaded from a snapshot).
/// </summary>
public class DeterminismProperties
{
    [Fact]
    public void Replaying_the_same_log_twice_into_fresh_states_gives_the_same_state_hash() =>
        Scenarios.ForAll((scenario, length) =>
        {
            scenario.Run(length);
            var log = scenario.Harness.Log;
            var first = scenario.Harness.Replay().StateHash();
            var second = scenario.Harness.Replay().StateHash();

            // Once more from the bytes the log would hold, parsed back.
            var fromBytes = new SchedulerState();
            foreach (var (info, transaction) in log)
            {
                fromBytes.Apply(info, Transaction.Parser.ParseFrom(transaction.ToByteArray()));
            }

            Assert.Equal(first, second);
            Assert.Equal(first, fromBytes.StateHash());
            Assert.Equal(first, scenario.Harness.State.StateHash());
        });

    [Fact]
    public void Two_runs_with_the_same_seed_write_byte_identical_logs() =>
        Scenarios.ForAll((scenario, length) =>
        {
            scenario.Run(length);
            var twin = new RandomScenario(scenario.Seed, checkRejections: false);
            twin.Run(length);

            Assert.Equal(scenario.Harness.Log.Count, twin.Harness.Log.Count);
            for (var i = 0; i < scenario.Harness.Log.Count; i++)
            {
                var (info, transaction) = scenario.Harness.Log[i];
                var (twinInfo, twinTransaction) = twin.Harness.Log[i];
                Assert.Equal(info, twinInfo);
                Assert.True(
                    transaction.ToByteArray().AsSpan().SequenceEqual(twinTransaction.ToByteArray()),
                    $"Transaction {i} differs: {transaction} vs {twinTransaction}");
            }
        });

    [Fact]
    public void Decisions_on_a_snapshot_loaded_state_equal_decisions_on_the_replayed_and_the_live_state() =>
        Scenarios.ForAll((scenario, length) =>
        {
            var random = new Random(scenario.Seed ^ 0xDEC1);
            var compared = 0;
            for (var i = 0; i < length; i++)
            {
                var command = scenario.NextCommand();
                if (random.Next(4) == 0)
                {
                    var harness = scenario.Harness;
                    var loaded = SchedulerState.FromSnapshot(harness.State.ToSnapshot().ToByteArray());
                    var replayed = harness.Replay();
                    var ids = random.Next();
                    var onLoaded = Decide(command, loaded, harness, ids);
                    Assert.Equal(onLoaded, Decide(command, replayed, harness, ids));
                    Assert.Equal(onLoaded, Decide(command, harness.State, harness, ids));
                    compared++;
                }

                scenario.Execute(command);
            }

            Assert.True(compared > 0 || length < 20);
        });

    /// <summary>A decision as comparable text: its events' bytes, kills, message and value, or the rejection.</summary>
    private static string Decide(SchedulerCommand command, SchedulerState state, DomainHarness harness, int idSeed)
    {
        var context = new CommandContext(harness.Principal, harness.Now, harness.Settings, new SeededIdGenerator(idSeed));
        try
        {
            var decision = command.Decide(state, context);
            return string.Join(
                "\n",
                decision.Events.Select(e => Convert.ToHexString(e.ToByteArray()))
                    .Append("kill " + string.Join(",", decision.TasksToKill))
                    .Append("message " + decision.Message)
                    .Append("value " + decision.Value));
        }
        catch (CommandRejectedException e)
        {
            return $"rejected {e.Code}: {e.Message}";
        }
    }
}
