using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;
using FsCheck;
using FsCheck.Fluent;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// Random sequences of appends, suffix truncations, resets, prefix truncations, reopens and
/// crashes — any of them interrupted by a power failure that keeps a torn subset of the unsynced
/// writes — checked against a model of the log: a list of (position, term) from a first position
/// and the term before it. Acknowledged state is never lost, removed entries never come back,
/// an interrupted operation leaves one of the states it may leave, the log never reads as
/// corrupt, and <see cref="SegmentedLog.TermAt"/> agrees with the model everywhere.
/// </summary>
public class LogModelPropertyTests
{
    public enum StepKind
    {
        Append,
        TruncateSuffix,
        Reset,
        TruncatePrefix,
        Reopen,
        CrashAndReopen,
    }

    /// <param name="A">Picks sizes and positions.</param>
    /// <param name="B">Picks terms.</param>
    /// <param name="CrashAt">0, or the mutating file-system operation (from the step's start) at which the power fails.</param>
    public sealed record Step(StepKind Kind, int A, int B, int CrashAt)
    {
        public override string ToString() => $"{Kind}({A}, {B}){(CrashAt > 0 ? $" crash@{CrashAt}" : string.Empty)}";
    }

    /// <param name="OnCallingThread">Whether the log writes on the calling thread (<see cref="LogOptions.WriteOnCallingThread"/>) rather than its writer thread.</param>
    public sealed record Scenario(Step[] Steps, CompressionCodec Compression, int Seed, bool OnCallingThread)
    {
        public override string ToString() =>
            $"seed {Seed}, {Compression}{(OnCallingThread ? ", on the calling thread" : string.Empty)}: {string.Join(", ", Steps.Select(s => s.ToString()))}";
    }

    /// <summary>What the log holds: entries from <see cref="First"/> on, and the term of <c>First - 1</c>.</summary>
    private sealed record Model(ulong First, ulong BaseTerm, IReadOnlyList<(ulong Position, ulong Term, string Id)> Entries)
    {
        public ulong Last => First - 1 + (ulong)Entries.Count;

        public ulong LastTerm => Entries.Count == 0 ? BaseTerm : Entries[^1].Term;

        public ulong TermAt(ulong position) => position == First - 1 ? BaseTerm : Entries[(int)(position - First)].Term;

        /// <summary>The same log with only the entries up to <paramref name="lastKept"/>.</summary>
        public Model KeepTo(ulong lastKept) => this with { Entries = [.. Entries.Take((int)(lastKept + 1 - First))] };

        /// <summary>The same log with only the entries from <paramref name="first"/> on.</summary>
        public Model KeepFrom(ulong first) => new(first, TermAt(first - 1), [.. Entries.Skip((int)(first - First))]);

        public bool SameAs(Model other) => First == other.First && BaseTerm == other.BaseTerm && Entries.SequenceEqual(other.Entries);

        public override string ToString() =>
            $"first {First} (after term {BaseTerm}), {Entries.Count} entries"
            + (Entries.Count == 0 ? string.Empty : $" up to {Last}, terms {string.Join(",", Entries.Select(e => e.Term).Distinct())}, last {Entries[^1].Id}");
    }

    private static Gen<Step> StepGen(bool crashes) =>
        from kind in Gen.Frequency(
            (8, Gen.Constant(StepKind.Append)),
            (3, Gen.Constant(StepKind.TruncateSuffix)),
            (1, Gen.Constant(StepKind.Reset)),
            (2, Gen.Constant(StepKind.TruncatePrefix)),
            (1, Gen.Constant(StepKind.Reopen)),
            (crashes ? 1 : 0, Gen.Constant(StepKind.CrashAndReopen)))
        from a in Gen.Choose(0, 1000)
        from b in Gen.Choose(0, 1000)
        from crashAt in crashes && kind is not (StepKind.Reopen or StepKind.CrashAndReopen)
            ? Gen.Frequency((6, Gen.Constant(0)), (3, Gen.Choose(1, 3)), (3, Gen.Choose(4, 10)), (1, Gen.Choose(11, 30)))
            : Gen.Constant(0)
        select new Step(kind, a, b, crashAt);

    private static Gen<Scenario> ScenarioGen(bool crashes, int maxSteps) =>
        from count in Gen.Choose(1, maxSteps)
        from steps in Gen.ArrayOf(StepGen(crashes), count)
        from compression in Gen.Elements(CompressionCodec.None, CompressionCodec.Deflate)
        from seed in Gen.Choose(0, int.MaxValue)
        from onCallingThread in Gen.Elements(false, true)
        select new Scenario(steps, compression, seed, onCallingThread);

    [Fact]
    public void Any_sequence_of_operations_with_crashes_anywhere_keeps_what_was_acknowledged_and_nothing_that_was_removed()
    {
        Prop.ForAll(ScenarioGen(crashes: true, maxSteps: 40).ToArbitrary(), scenario =>
            LogKit.Run(() => RunAsync(scenario, new SimulatedFileSystem(scenario.Seed), LogKit.SimDirectory)))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(250).WithQuietOnSuccess(true));
    }

    [Fact]
    public void Any_sequence_of_operations_on_a_real_disk_agrees_with_the_model()
    {
        Prop.ForAll(ScenarioGen(crashes: false, maxSteps: 25).ToArbitrary(), scenario =>
        {
            using var dir = new TempDirectory();
            LogKit.Run(() => RunAsync(scenario, null, dir.Sub("log")));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(12).WithQuietOnSuccess(true));
    }

    private static LogOptions Options(IFileSystem fs, string directory, Scenario scenario) => new()
    {
        Directory = directory,
        FileSystem = fs,
        SegmentSize = 4 << 10,
        MaxEntrySize = 1024,
        Compression = scenario.Compression,
        CompressionMinBytes = 64,
        WriteOnCallingThread = scenario.OnCallingThread,
        OnFatalError = new FatalErrors().Record,
    };

    /// <param name="sim">The simulated disk, or null for the real one (then no step crashes).</param>
    private static async Task RunAsync(Scenario scenario, SimulatedFileSystem? sim, string directory)
    {
        var fs = (IFileSystem?)sim ?? PhysicalFileSystem.Instance;
        var options = Options(fs, directory, scenario);
        var model = new Model(1, 0, []);
        var log = SegmentedLog.Open(options);
        var ids = 0;
        try
        {
            for (var s = 0; s < scenario.Steps.Length; s++)
            {
                var step = scenario.Steps[s];
                var context = $"step {s} {step} from {model}";
                var (candidates, run) = Plan(step, model, () => $"s{s}-{ids++}");
                if (step.Kind is StepKind.Reopen or StepKind.CrashAndReopen)
                {
                    log.Dispose();
                    if (step.Kind == StepKind.CrashAndReopen)
                    {
                        sim!.Crash(tornWrites: true);
                    }

                    log = SegmentedLog.Open(options);
                    Assert.True(log.TornTail is null, $"{context}: a torn tail after every write was acknowledged: {log.TornTail}");
                    AssertLog(log, model, context);
                    continue;
                }

                if (step.CrashAt == 0 || sim is null)
                {
                    await run(log);
                    model = candidates[^1];
                    AssertLog(log, model, context);
                    continue;
                }

                sim.CrashAtOperation(step.CrashAt, tornWrites: true);
                var completed = false;
                try
                {
                    await run(log);
                    completed = true;
                }
                catch (IOException)
                {
                }

                log.Dispose();
                if (sim.IsDown)
                {
                    sim.Restart();
                }
                else
                {
                    // The step needed fewer operations: the power fails now instead.
                    sim.Crash(tornWrites: true);
                }

                var problems = LogVerifier.Verify(options).Problems.Where(p => !p.IsTornTail).ToList();
                Assert.True(problems.Count == 0, $"{context}: after the crash: {string.Join("; ", problems)}");
                log = SegmentedLog.Open(options);
                var actual = Observe(log, model);
                var allowed = completed ? [candidates[^1]] : candidates;
                model = allowed.FirstOrDefault(actual.SameAs)
                    ?? throw new Xunit.Sdk.XunitException(
                        $"{context}: {(completed ? "completed" : "interrupted")}, then the log reopened as {actual}; allowed: {string.Join(" | ", allowed)}");
                AssertLog(log, model, context + " after the crash");
            }
        }
        finally
        {
            log.Dispose();
        }
    }

    /// <summary>
    /// What the step does, and the states it may leave when a crash interrupts it, the state it
    /// leaves when it completes last.
    /// </summary>
    private static (List<Model> Candidates, Func<SegmentedLog, Task> Run) Plan(Step step, Model model, Func<string> newId)
    {
        switch (step.Kind)
        {
            case StepKind.Append:
                {
                    var count = 1 + (step.A % 4);
                    var term = model.LastTerm + (step.B % 4 == 0 ? 1UL + (ulong)(step.B % 3) : 0);
                    var batch = new List<LogEntry>();
                    for (var i = 0; i < count; i++)
                    {
                        var size = (step.A * 37 * (i + 1)) % 9 == 0 ? 1500 + (step.A % 1500) : (step.A * (i + 3)) % 700;
                        batch.Add(LogKit.Entry(newId(), size, (PayloadKind)((step.B + i) % 3), term: term, seed: step.A + (i * 7919) + 1));
                    }

                    // Any prefix of an unacknowledged batch may survive a crash.
                    var candidates = Enumerable.Range(0, count + 1)
                        .Select(n => model with
                        {
                            Entries = [.. model.Entries, .. batch.Take(n).Select((e, i) => (model.Last + 1 + (ulong)i, e.Term, LogKit.IdOf(e)))],
                        })
                        .ToList();
                    return (candidates, async log => Assert.Equal(model.Last + (ulong)count, await log.AppendAsync(batch)));
                }

            case StepKind.TruncateSuffix:
                {
                    var lastKept = model.First - 1 + (ulong)(step.A % (model.Entries.Count + 1));

                    // A crash part-way may leave any prefix of the old log ending at or after lastKept.
                    var candidates = Enumerable.Range(0, (int)(model.Last - lastKept) + 1)
                        .Select(extra => model.KeepTo(model.Last - (ulong)extra))
                        .ToList();
                    return (candidates, log => log.TruncateSuffixAsync(lastKept));
                }

            case StepKind.Reset:
                {
                    var position = step.A % 3 == 0
                        ? model.Last - Math.Min(model.Last, (ulong)(step.A % 12))
                        : model.Last + (ulong)(step.A % 40);
                    var term = position == 0 ? 0 : 1 + (ulong)(step.B % 12);

                    // All or nothing.
                    return ([model, new Model(position + 1, term, [])], log => log.ResetAsync(position, term));
                }

            case StepKind.TruncatePrefix:
                {
                    var keepFrom = model.First + (ulong)(step.A % (model.Entries.Count + 1));

                    // Whole segments go, oldest first: the new first position is known only after the
                    // call, so every first position up to keepFrom is allowed, the last one checked exactly.
                    var candidates = Enumerable.Range(0, (int)(keepFrom - model.First) + 1)
                        .Select(n => model.KeepFrom(model.First + (ulong)n))
                        .ToList();
                    Task TruncatePrefix(SegmentedLog log)
                    {
                        var first = log.TruncatePrefix(keepFrom);
                        Assert.True(first >= model.First && first <= keepFrom, $"TruncatePrefix({keepFrom}) went to {first}");

                        // Put the exact outcome last, where a completed step is checked.
                        candidates.Add(model.KeepFrom(first));
                        return Task.CompletedTask;
                    }

                    return (candidates, TruncatePrefix);
                }

            default:
                return ([model], _ => Task.CompletedTask);
        }
    }

    /// <summary>The log as read back: its first position, the term before it, its entries.</summary>
    private static Model Observe(SegmentedLog log, Model previous)
    {
        var entries = LogKit.ReadAll(log).Select(e => (e.Position, e.Term, LogKit.IdOf(e))).ToList();
        ulong baseTerm;
        try
        {
            baseTerm = log.TermAt(log.FirstRetainedPosition - 1);
        }
        catch (PositionTruncatedException e)
        {
            throw new Xunit.Sdk.XunitException($"the log (previously {previous}) does not know the term before its first position {log.FirstRetainedPosition}: {e.Message}");
        }

        return new Model(log.FirstRetainedPosition, baseTerm, entries);
    }

    private static void AssertLog(SegmentedLog log, Model model, string context)
    {
        var actual = Observe(log, model);
        Assert.True(actual.SameAs(model), $"{context}: the log is {actual}, the model {model}");
        Assert.Equal(model.Last, log.LastDurablePosition);
        Assert.Equal(model.Last, log.LastAssignedPosition);
        Assert.Equal(model.LastTerm, log.LastDurableTerm);
        Assert.Equal(model.LastTerm, log.LastAssignedTerm);
        for (var position = model.First - 1; position <= model.Last; position++)
        {
            Assert.True(model.TermAt(position) == log.TermAt(position), $"{context}: TermAt({position}) is {log.TermAt(position)}, the model says {model.TermAt(position)}");
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => log.TermAt(model.Last + 1));
        if (model.First > 2)
        {
            Assert.Throws<PositionTruncatedException>(() => log.TermAt(model.First - 2));
        }
    }
}
