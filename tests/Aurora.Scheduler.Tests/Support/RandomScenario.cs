using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Tests.Support;

/// <summary>How one random command ended.</summary>
public enum StepOutcome
{
    /// <summary>Decided, committed and applied.</summary>
    Committed,

    /// <summary>Decided that nothing changes; nothing was logged.</summary>
    Unchanged,

    /// <summary>Refused with <see cref="CommandRejectedException"/>; nothing was logged.</summary>
    Rejected,
}

/// <summary>One executed command: the state before it is at log index <see cref="LogCountBefore"/>.</summary>
public sealed record ScenarioStep(int Index, SchedulerCommand Command, StepOutcome Outcome, int LogCountBefore, Decision? Decision, CommandRejectedException? Rejection);

/// <summary>
/// A seeded run of random commands (<see cref="RandomCommandGenerator"/>) against a
/// <see cref="DomainHarness"/>, with the clock moving randomly between commands. Every rejected
/// command is checked to have changed nothing (no log entry, same state hash). Failures carry the
/// seed and the last commands, so a failing run can be replayed as a named test.
/// </summary>
/// <remarks>Single-threaded; the same seed and length always give the same log.</remarks>
public sealed class RandomScenario
{
    private const int TraceLength = 12;

    private readonly Random _random;
    private readonly RandomCommandGenerator _commands;
    private readonly Queue<string> _trace = new();
    private readonly int _setupLength;
    private byte[]? _hash;

    public RandomScenario(int seed, bool checkRejections = true)
    {
        Seed = seed;
        CheckRejections = checkRejections;
        Harness = new DomainHarness(seed, Settings);
        _random = new Random(seed);
        _commands = new RandomCommandGenerator(_random, EarlierState);
        foreach (var command in RandomCommandGenerator.Setup())
        {
            Harness.Execute(command);
        }

        _setupLength = Harness.Log.Count;
    }

    /// <summary>Aurora's defaults, with retention windows short enough for pruning to happen within a run.</summary>
    public static SchedulerSettings Settings { get; } = SchedulerSettings.Default with
    {
        HistoryMinRetentionThreshold = TimeSpan.FromMinutes(5),
        HistoryPruneThreshold = TimeSpan.FromHours(2),
        HistoryMaxPerJobThreshold = 3,
        JobUpdateHistoryPruningThreshold = TimeSpan.FromHours(6),
        JobUpdateHistoryPerJobThreshold = 2,
    };

    public int Seed { get; }

    public bool CheckRejections { get; }

    public DomainHarness Harness { get; }

    public int Steps { get; private set; }

    /// <summary>Generates the next command after moving the clock; does not run it.</summary>
    public SchedulerCommand NextCommand()
    {
        Harness.Advance(_commands.NextPause());
        return _commands.Next(Harness.State);
    }

    /// <summary>Runs <paramref name="command"/> through the harness, checking that a rejection changes nothing.</summary>
    public ScenarioStep Execute(SchedulerCommand command)
    {
        var index = Steps++;
        Remember($"#{index} @{Harness.Log.Count} {Harness.Now:HH:mm:ss}: {Describe(command)}");
        var logCount = Harness.Log.Count;
        var before = CheckRejections ? (_hash ??= Harness.State.StateHash()) : null;
        try
        {
            var decision = Harness.Execute(command);
            var outcome = decision.ChangesState ? StepOutcome.Committed : StepOutcome.Unchanged;
            Remember($"    -> {outcome} {decision.Message}");
            if (outcome == StepOutcome.Committed)
            {
                _hash = null;
            }
            else
            {
                AssertUnchanged(logCount, before);
            }

            return new ScenarioStep(index, command, outcome, logCount, decision, null);
        }
        catch (CommandRejectedException rejection)
        {
            Remember($"    -> rejected: {rejection.Message}");
            AssertUnchanged(logCount, before);
            return new ScenarioStep(index, command, StepOutcome.Rejected, logCount, null, rejection);
        }
    }

    /// <summary>A refused or no-op command logged nothing and (when checked) left the state hash as it was.</summary>
    private void AssertUnchanged(int logCount, byte[]? before)
    {
        Assert.Equal(logCount, Harness.Log.Count);
        if (before is not null)
        {
            // The hash stays cached for the next command only once it is confirmed unchanged.
            _hash = null;
            Assert.Equal(before, Harness.State.StateHash());
            _hash = before;
        }
    }

    public ScenarioStep Step() => Execute(NextCommand());

    /// <summary>Runs <paramref name="count"/> random commands, calling <paramref name="after"/> after each.</summary>
    public void Run(int count, Action<ScenarioStep>? after = null)
    {
        for (var i = 0; i < count; i++)
        {
            var step = Step();
            after?.Invoke(step);
        }
    }

    /// <summary>Runs <paramref name="body"/> against a fresh scenario; any failure is rethrown with the seed and the last commands.</summary>
    public static void Check(int seed, int length, Action<RandomScenario, int> body, bool checkRejections = true)
    {
        var scenario = new RandomScenario(seed, checkRejections);
        try
        {
            body(scenario, length);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(
                $"Random scenario failed: seed {seed}, length {length}, after {scenario.Steps} commands "
                + $"({scenario.Harness.Log.Count} transactions). Last commands:\n{string.Join("\n", scenario._trace)}\n{e.Message}",
                e);
        }
    }

    /// <summary>The state after the first <paramref name="count"/> logged transactions, folded into a fresh state.</summary>
    public SchedulerState ReplayPrefix(int count)
    {
        var state = new SchedulerState();
        for (var i = 0; i < count; i++)
        {
            state.Apply(Harness.Log[i].Info, Harness.Log[i].Transaction);
        }

        return state;
    }

    /// <summary>
    /// A state from after the setup: recovering to before the hosts were advertised would let a
    /// dedicated host's re-advertisement make tasks placed on it meanwhile look misplaced.
    /// </summary>
    private SchedulerSnapshot EarlierState() => ReplayPrefix(_random.Next(_setupLength, Harness.Log.Count + 1)).ToSnapshot();

    private static string Describe(SchedulerCommand command)
    {
        var text = command.ToString();
        return text.Length > 400 ? text[..400] + "..." : text;
    }

    private void Remember(string line)
    {
        _trace.Enqueue(line);
        while (_trace.Count > TraceLength)
        {
            _trace.Dequeue();
        }
    }
}
