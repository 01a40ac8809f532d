using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Aurora.Storage.Benchmarks.Micro;

/// <summary>Entry point of <c>micro</c>: BenchmarkDotNet's switcher over the classes in this folder.</summary>
internal static class MicroBenchmarks
{
    public static int Run(string[] args)
    {
        // In process: no child project is generated and built (a few minutes each on 2 shared
        // cores), and the .NET 10 runtime needs no toolchain support from BenchmarkDotNet 0.14.
        var config = DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
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
