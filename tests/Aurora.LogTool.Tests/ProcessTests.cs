using System.Diagnostics;
using Aurora.Storage.IO;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;

namespace Aurora.LogTool.Tests;

/// <summary>The built executable, run as operators run it: a child process with real exit codes and streams.</summary>
public class ProcessTests
{
    [Fact]
    public async Task The_executable_initializes_then_refuses_to_initialize_again_with_exit_code_2()
    {
        using var dir = new TempDirectory();
        var path = dir.Sub("replica");

        var first = await RunAsync("initialize", $"--path={path}");
        var second = await RunAsync("initialize", $"-path={path}");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(ReplicaStatus.Voting, new ReplicaMetadataStore(PhysicalFileSystem.Instance, path).Load().Status);
        Assert.True(second.ExitCode == 2, second.ToString());
        Assert.Equal(string.Empty, second.Out);
        var line = Assert.Single(second.ErrorLines);
        Assert.StartsWith($"aurora-log: refusing to initialize {path}: it is already initialized", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_executable_reports_a_missing_directory_in_one_line_without_a_stack_trace()
    {
        using var dir = new TempDirectory();

        var result = await RunAsync("info", "--path", dir.Sub("missing"));

        Tool.AssertOneLineError(result, 2, $"log directory {dir.Sub("missing")} does not exist");
    }

    [Fact]
    public async Task The_executable_dumps_a_log_to_stdout()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 3);

        var result = await RunAsync("dump", $"--path={dir.Path}", "--from=2");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(2, result.OutLines.Length);
        Assert.StartsWith("position=2 term=1 time=2024-05-17T12:30:47.000000Z ", result.OutLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_is_deterministic_across_processes_so_a_child_rebuilds_the_stores_state_hash()
    {
        using var dir = new TempDirectory();
        using var log = SchedulerLog.Create(dir.Path);
        var story = await Story.WriteAsync(log);
        await story.WriteSnapshotAndTailAsync(log);

        // The store is still open: state reads a live log.
        var latest = await RunAsync("state", $"--path={dir.Path}", "--json");
        var early = await RunAsync("state", "--json", "-path", dir.Path, "-at", "9");

        Assert.True(latest.ExitCode == 0, latest.ToString());
        Assert.True(early.ExitCode == 0, early.ToString());
        using var latestJson = System.Text.Json.JsonDocument.Parse(latest.Out);
        using var earlyJson = System.Text.Json.JsonDocument.Parse(early.Out);
        Assert.Equal(log.Hash, latestJson.RootElement.GetProperty("stateHash").GetString());
        Assert.Equal(16UL, latestJson.RootElement.GetProperty("position").GetUInt64());
        Assert.Equal(12UL, latestJson.RootElement.GetProperty("snapshot").GetProperty("position").GetUInt64());
        Assert.Equal(story.Hashes[9], earlyJson.RootElement.GetProperty("stateHash").GetString());
        Assert.Equal(latest.Out, Tool.Run("state", $"--path={dir.Path}", "--json").Out);
    }

    /// <summary>
    /// Runs <c>dist/bin/aurora-log</c>, the executable operators get from <c>./build.sh</c> (which
    /// <c>./test.sh</c> runs first), killing it if it has not ended within <see cref="SpecialFiles.HangBound"/>.
    /// </summary>
    internal static async Task<ToolResult> RunDistAsync(params string[] args)
    {
        var executable = Path.Combine(RepositoryRoot.Find(), "dist", "bin", "aurora-log");
        Assert.True(File.Exists(executable), $"{executable} is missing: run ./build.sh first (./test.sh does)");
        using var process = ChildProcess.Start(executable, args);
        var exitCode = await process.WaitForExitAsync(SpecialFiles.HangBound);
        return new ToolResult(exitCode, process.StandardOutput, process.StandardError);
    }

    internal static Task<ToolResult> RunAsync(params string[] args) => RunAsync(args, closedStdin: false);

    /// <summary>Runs the tool's dll; with <paramref name="closedStdin"/> its standard input is a closed pipe (no terminal, no answers).</summary>
    internal static async Task<ToolResult> RunAsync(IReadOnlyList<string> args, bool closedStdin)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "aurora-log.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the test project must reference the tool's project");
        var start = new ProcessStartInfo(ChildProcess.DotnetHost())
        {
            RedirectStandardInput = closedStdin,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        if (closedStdin)
        {
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        // A generous guard so a hung child fails the test instead of hanging the run; not a timing assertion.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new ToolResult(process.ExitCode, (await stdout).ReplaceLineEndings("\n"), (await stderr).ReplaceLineEndings("\n"));
    }

}
