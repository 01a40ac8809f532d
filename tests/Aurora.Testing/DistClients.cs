using System.Text.Json.Nodes;

namespace Aurora.Testing;

/// <summary>What a client run printed and how it ended.</summary>
public sealed record ClientRun(int ExitCode, string Out, string Err)
{
    public JsonNode Json => JsonNode.Parse(Out) ?? throw new InvalidOperationException($"no JSON on stdout:\n{Out}\n{Err}");

    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Out}\nstderr:\n{Err}";
}

/// <summary>
/// The built executables in dist/bin (./build.sh, which ./test.sh runs before the tests), run as a
/// user runs them: the clients with their own clusters.json and home directory.
/// </summary>
public static class DistClients
{
    private static readonly Lazy<string> Bin = new(() =>
    {
        var bin = Path.Combine(RepositoryRoot.Find(), "dist", "bin");
        return new[] { "aurora", "aurora_admin", "aurora-scheduler", "aurora-agent" }.All(name => File.Exists(Path.Combine(bin, name)))
            ? bin
            : throw new InvalidOperationException($"{bin} lacks the aurora executables: run ./build.sh first (./test.sh does)");
    });

    public static string DistBin => Bin.Value;

    /// <summary>Runs <paramref name="tool"/> (aurora, aurora_admin) with the clusters of <paramref name="configRoot"/>, in <paramref name="workingDirectory"/>.</summary>
    public static async Task<ClientRun> RunAsync(string tool, IReadOnlyList<string> args, string configRoot, string home, string workingDirectory)
    {
        var environment = new Dictionary<string, string>
        {
            ["AURORA_CONFIG_ROOT"] = configRoot,
            ["HOME"] = home,
            ["USER"] = "tester",
            ["NO_COLOR"] = "1",
            ["COLUMNS"] = "250",
        };
        using var process = ChildProcess.Start(Path.Combine(DistBin, tool), args, environment, workingDirectory);
        var code = await process.WaitForExitAsync(TimeSpan.FromMinutes(2)).ConfigureAwait(false);
        return new ClientRun(code, process.StandardOutput, process.StandardError);
    }

    /// <summary>A loopback port free right now, for a process that must be started on a known port (and restarted on the same one).</summary>
    public static int FreePort() => FreePorts(1)[0];

    /// <summary><paramref name="count"/> distinct loopback ports free a moment ago, for processes told their ports before they start.</summary>
    public static int[] FreePorts(int count) => Aurora.Benchmarks.Shared.LoopbackPorts.Free(count);
}
