namespace Aurora.Benchmarks.Shared;

/// <summary>
/// The entry point of a benchmark program: usage, a mode and its options, and the exit codes every
/// harness shares: 0 every goal met, 1 a goal missed, 2 bad arguments, 130 interrupted.
/// </summary>
internal static class HarnessMain
{
    public const int BadArguments = 2;
    public const int Interrupted = 130;

    /// <summary>Runs <paramref name="run"/> with the mode (the first argument) and the rest.</summary>
    /// <param name="defaultMode">The mode run when there are no arguments, or they start with an option; null: usage and exit 2.</param>
    public static async Task<int> RunAsync(string[] args, string usage, Func<string, string[], Task<int>> run, string? defaultMode = null)
    {
        if (args.Length > 0 && args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(usage);
            return 0;
        }

        if (defaultMode is not null && (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal)))
        {
            args = [defaultMode, .. args];
        }

        if (args.Length == 0)
        {
            Console.WriteLine(usage);
            return BadArguments;
        }

        try
        {
            return await run(args[0], args[1..]);
        }
        catch (OperationCanceledException)
        {
            // A signal stopped the run; the scratch directory was deleted on the way out.
            return Interrupted;
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine(usage);
            return BadArguments;
        }
    }

    /// <summary>The error for a mode a program does not have.</summary>
    public static ArgumentException UnknownMode(string mode) => new($"unknown mode '{mode}'");
}
