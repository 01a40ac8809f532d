using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Aurora.Scheduler.Benchmarks.Micro;

/// <summary>Entry point of <c>micro</c>: BenchmarkDotNet's switcher over the classes in this folder.</summary>
internal static class MicroBenchmarks
{
    public static int Run(string[] args)
    {
        // In process, as in the storage benchmarks: no child project is built, and BenchmarkDotNet
        // 0.14 needs no .NET 10 toolchain. Apply mutates its state, so the Apply benchmarks get a
        // fresh state per iteration ([IterationSetup], one invocation each): 15 iterations rather
        // than ShortRun's 3 keep that readable.
        var config = DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithIterationCount(15).WithToolchain(InProcessEmitToolchain.Instance))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "aurora-benchmarks", "BenchmarkDotNet.Artifacts"));

        // Without a filter the switcher asks interactively which benchmarks to run; run them all.
        if (!args.Any(a => a.StartsWith("--filter", StringComparison.Ordinal) || a == "-f"))
        {
            args = [.. args, "--filter", "*"];
        }

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(MicroBenchmarks).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
