using System.Text;
using Aurora.Storage.IO;
using Aurora.Storage.Log;

namespace Aurora.LogTool;

/// <summary>What a command runs against: its output streams and its seams to the world.</summary>
internal sealed record ToolContext(TextWriter Out, TextWriter Error, IFileSystem FileSystem, TimeProvider Time, IPayloadFormatter Formatter)
{
    /// <summary>The size of the segment <c>initialize</c> creates; the replica later uses its own setting.</summary>
    public long SegmentSize { get; init; } = LogOptions.DefaultSegmentSize;

    /// <summary>Where an operator's answers come from (<c>repair</c> asks for confirmation).</summary>
    public TextReader Input { get; init; } = TextReader.Null;

    /// <summary>Whether <see cref="Input"/> is a terminal, where someone can answer; if not, <c>repair</c> needs <c>--yes</c>.</summary>
    public bool InputIsTerminal { get; init; }
}

/// <summary>One <c>aurora-log</c> command.</summary>
internal sealed record Command(string Name, string Summary, IReadOnlyList<FlagSpec> FlagSpecs, Func<ParsedFlags, ToolContext, int> Run)
{
    public Flags Flags { get; } = new(FlagSpecs);
}

/// <summary>Exit codes, the same for every command.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>verify found problems, or the operation failed (I/O error, corrupt log).</summary>
    public const int Failed = 1;

    /// <summary>Bad command line, initialize or recover refused to touch a non-empty log, or repair refused (and changed nothing).</summary>
    public const int Usage = 2;
}

/// <summary><c>aurora-log</c>: the operator's tool for a replica's local log, after Mesos' <c>mesos-log</c>.</summary>
public static class Program
{
    internal const string Name = "aurora-log";

    internal static readonly IReadOnlyList<Command> Commands =
    [
        InitializeCommand.Command,
        InfoCommand.Command,
        VerifyCommand.Command,
        DumpCommand.Command,
        StateCommand.Command,
        BackupsCommand.Command,
        RecoverCommand.Command,
        RepairCommand.Command,
    ];

    public static int Main(string[] args)
    {
        // Dumps can be long: buffer stdout instead of flushing every line.
        using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        var exitCode = Run(args, stdout, Console.Error);
        try
        {
            stdout.Flush();
        }
        catch (IOException)
        {
            // The reader went away (aurora-log dump | head): nothing left to tell it.
        }

        return exitCode;
    }

    /// <summary>Runs one command line; never throws. Output goes to <paramref name="stdout"/>, the one-line error to <paramref name="stderr"/>.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) =>
        Run(args, new ToolContext(stdout, stderr, PhysicalFileSystem.Instance, TimeProvider.System, OpaquePayloadFormatter.Instance)
        {
            Input = Console.In,
            InputIsTerminal = !Console.IsInputRedirected,
        });

    internal static int Run(IReadOnlyList<string> args, ToolContext context)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            return Dispatch(args, context);
        }
        catch (UsageException e)
        {
            return Fail(context, e.Message + $" (see '{Name} --help')", ExitCodes.Usage);
        }
        catch (Exception e) when (e is InitializeRefusedException or RecoverRefusedException or RepairRefusedException)
        {
            return Fail(context, e.Message, ExitCodes.Usage);
        }
        catch (LogCorruptedException e)
        {
            return Fail(context, $"{e.Message} ('{Name} verify' lists every problem)", ExitCodes.Failed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or InvalidOperationException)
        {
            return Fail(context, e.Message, ExitCodes.Failed);
        }
        catch (Exception e)
        {
            // The last resort: an operator gets one line, never a stack trace.
            return Fail(context, $"unexpected {e.GetType().Name}: {e.Message}", ExitCodes.Failed);
        }
    }

    private static int Dispatch(IReadOnlyList<string> args, ToolContext context)
    {
        if (args.Count == 0)
        {
            throw new UsageException("no command given");
        }

        if (args[0] == "help" || args.Any(Flags.IsHelp))
        {
            context.Out.Write(Usage());
            return ExitCodes.Ok;
        }

        var name = args[0];
        if (name.StartsWith('-'))
        {
            throw new UsageException($"the command comes first, as in '{Name} info --path=DIR'; got '{name}'");
        }

        var command = Commands.FirstOrDefault(c => c.Name == name)
            ?? throw new UsageException($"unknown command '{name}'; the commands are {string.Join(", ", Commands.Select(c => c.Name))}");
        var flags = command.Flags.Parse(args.Skip(1).ToList(), $"command {command.Name}");
        if (flags.Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{flags.Positionals[0]}' for command {command.Name}");
        }

        return command.Run(flags, context);
    }

    internal static string Usage()
    {
        var text = new StringBuilder();
        text.Append(Name).Append(": prepare and inspect an Aurora.NET replica's local log, audit the scheduler's history in it, rebuild it from a backup, and repair a damaged replica.\n\n");
        text.Append("Usage: ").Append(Name).Append(" COMMAND --path=DIR [flags]\n\nCommands:\n");
        foreach (var command in Commands)
        {
            text.Append("  ").Append(command.Name).Append('\n');
            text.Append("      ").Append(command.Summary).Append('\n');
            Flags.WriteUsage(text, command.FlagSpecs, "      ");
        }

        text.Append("  help\n      Show this text (also --help or -help).\n\n");
        text.Append("Flags are accepted as --name=value, --name value, -name=value and -name value.\n");
        text.Append("Exit codes: 0 ok; 1 problems found or the operation failed; 2 usage error, or initialize, recover or repair refused.\n");
        text.Append("See docs/aurora-log.md for output examples and troubleshooting.\n");
        return text.ToString();
    }

    private static int Fail(ToolContext context, string message, int exitCode)
    {
        // One line, whatever the message holds: operators grep for it and scripts log it.
        context.Error.WriteLine($"{Name}: {message.ReplaceLineEndings(" ").Trim()}");
        return exitCode;
    }
}
