using System.Globalization;
using System.Text;
using Aurora.Scheduler.Benchmarks.Generation;

namespace Aurora.Scheduler.Benchmarks.Harness;

/// <summary>
/// The harness modes (<c>replay</c>, <c>snapshot</c>, <c>memory</c>, <c>restore</c>, <c>all</c>): generates the
/// cluster log once, writes it to a scratch log, runs the selected measurements and prints a
/// summary with PASS/MISS against the goals.
/// </summary>
internal static class SchedulerHarness
{
    public static async Task<int> RunAsync(string mode, Settings settings)
    {
        using var scratch = new ScratchDirectory(settings.Directory);
        var loadBefore = Machine.LoadAverage();
        Console.WriteLine($"# machine: {Machine.Describe(scratch.Path)}");
        Console.WriteLine($"# load average at start: {loadBefore}");
        Console.WriteLine($"# mode {mode}; {settings}");

        var workload = Workload.Generate(settings.Shape);
        await workload.WriteAsync(scratch.Sub("log"), scratch.Interrupted);
        foreach (var line in workload.Describe())
        {
            Console.WriteLine(line);
        }

        var report = new Report();
        if (mode is "replay" or "all")
        {
            ReplayBench.Run(workload, settings.Reps, scratch.Sub("replay"), report, scratch.Interrupted);
        }

        if (mode is "snapshot" or "all")
        {
            SnapshotBench.Run(workload, settings.Reps, scratch.Sub("snapshots"), report, scratch.Interrupted);
            await SnapshotStallBench.RunAsync(workload, scratch.Sub("stall"), report, scratch.Interrupted);
        }

        if (mode is "memory" or "all")
        {
            MemoryBench.Run(workload, report, scratch.Interrupted);
        }

        if (mode is "restore" or "all")
        {
            await RestoreBench.RunAsync(workload, settings.Reps, scratch.Sub("restore"), report, scratch.Interrupted);
        }

        var text = new StringBuilder();
        text.AppendLine("==== aurora scheduler domain benchmark: summary ====");
        text.AppendLine($"machine: {Machine.Describe(scratch.Path)}");
        text.AppendLine($"load average: start {loadBefore}, end {Machine.LoadAverage()}");
        text.AppendLine($"{settings}");
        foreach (var line in workload.Describe())
        {
            text.AppendLine(line);
        }

        text.Append(report.Text);
        text.AppendLine("==== end ====");
        Console.WriteLine();
        Console.Write(text);
        return report.AllGoalsMet ? 0 : 1;
    }

    internal sealed record Settings(ClusterShape Shape, int Reps, string? Directory)
    {
        public static Settings Parse(IReadOnlyList<string> args)
        {
            var parsed = new Arguments(args, "seed", "jobs", "tasks", "roles", "hosts", "hours", "reps", "dir");
            var shape = new ClusterShape(
                Seed: (int)parsed.Long("seed", 42, 0),
                Jobs: (int)parsed.Long("jobs", 10_000, 10),
                Tasks: (int)parsed.Long("tasks", 100_000, 10),
                Roles: (int)parsed.Long("roles", 200, 10),
                Hosts: (int)parsed.Long("hosts", 1_000, 40),
                ChurnHours: (int)parsed.Long("hours", 48, 0));
            if (shape.Tasks < shape.Jobs)
            {
                throw new ArgumentException("--tasks must be at least --jobs (every job has an instance)");
            }

            return new Settings(shape, (int)parsed.Long("reps", 5, 1), parsed.String("dir"));
        }

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Shape} reps={Reps}");
    }
}

/// <summary>Summary lines and goal verdicts, collected from the modes that ran.</summary>
internal sealed class Report
{
    private readonly StringBuilder _text = new();

    public bool AllGoalsMet { get; private set; } = true;

    public string Text => _text.ToString();

    public void Line(FormattableString line)
    {
        var text = line.ToString(CultureInfo.InvariantCulture);
        _text.AppendLine(text);
        Console.WriteLine(text);
    }

    /// <summary>Records a goal; returns "PASS" or "MISS" for the line that states it.</summary>
    public string Goal(bool met)
    {
        AllGoalsMet &= met;
        return met ? "PASS" : "MISS";
    }
}
