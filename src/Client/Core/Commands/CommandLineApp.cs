using System.Text;
using Aurora.Client.Config;
using Aurora.Client.Output;
using Aurora.CommandLine;

namespace Aurora.Client.Commands;

/// <summary>
/// Dispatches a command line to a verb, either <c>program noun verb ...</c> (<c>aurora</c>) or
/// <c>program verb ...</c> (<c>aurora_admin</c>), prints help for <c>-help</c> at any level, and
/// turns every failure into one <c>error: ...</c> line on stderr and an exit code from
/// <see cref="ExitCodes"/>.
/// </summary>
/// <remarks>Immutable; <see cref="RunAsync"/> may run concurrently with different writers.</remarks>
public sealed class CommandLineApp
{
    private readonly string _program;
    private readonly string _summary;
    private readonly IReadOnlyList<Noun>? _nouns;
    private readonly IReadOnlyList<Verb>? _verbs;

    /// <summary>A <c>program noun verb</c> application.</summary>
    public CommandLineApp(string program, string summary, IReadOnlyList<Noun> nouns)
    {
        _program = program;
        _summary = summary;
        _nouns = nouns;
    }

    /// <summary>A <c>program verb</c> application.</summary>
    public CommandLineApp(string program, string summary, IReadOnlyList<Verb> verbs)
    {
        _program = program;
        _summary = summary;
        _verbs = verbs;
    }

    /// <summary>Flags several verbs share.</summary>
    public static readonly FlagSpec JsonFlag = new("json", "print JSON on stdout instead of a table");

    /// <summary>
    /// The process entry point of a client: runs the command line against the real console and
    /// environment. The first Ctrl-C cancels a waiting command cleanly (exit 130); a second one ends the process.
    /// </summary>
    public async Task<int> RunProcessAsync(string[] args)
    {
        using var interrupted = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (!interrupted.IsCancellationRequested)
            {
                e.Cancel = true;
                interrupted.Cancel();
            }
        };

        return await RunAsync(args, Console.Out, Console.Error, ClientEnvironment.FromProcess(), interrupted.Token).ConfigureAwait(false);
    }

    public async Task<int> RunAsync(
        IReadOnlyList<string> args,
        TextWriter stdout,
        TextWriter stderr,
        ClientEnvironment environment,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        var output = new ConsoleOutput(stdout, stderr, environment);
        string? usage = null;
        try
        {
            var (command, verb, rest) = Resolve(args, output, out var exit);
            if (verb is null)
            {
                return exit;
            }

            usage = VerbUsage(command, verb);
            if (rest.Any(Flags.IsHelp))
            {
                stdout.Write(VerbHelp(command, verb));
                return ExitCodes.Ok;
            }

            var parsed = new Flags(verb.Flags).Parse(rest, command);
            var count = parsed.Positionals.Count;
            if (count < verb.MinArguments || count > verb.MaxArguments)
            {
                var expected = verb.MinArguments == verb.MaxArguments
                    ? $"{verb.MinArguments}"
                    : $"{verb.MinArguments} to {verb.MaxArguments}";
                throw new UsageException($"{command} takes {expected} argument(s) ({verb.Arguments}), got {count}");
            }

            using var context = new CommandContext(command, environment, output, cancellationToken);
            return await verb.Run(context, parsed).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            if (usage is not null)
            {
                stderr.WriteLine($"usage: {usage}");
            }

            return ExitCodes.Usage;
        }
        catch (JobConfigException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return ExitCodes.InvalidConfiguration;
        }
        catch (ClientException e)
        {
            stderr.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            stderr.WriteLine("interrupted");
            return ExitCodes.Interrupted;
        }
#pragma warning disable CA1031 // The last resort: a client bug becomes a message and exit 20, not a stack dump.
        catch (Exception e)
#pragma warning restore CA1031
        {
            stderr.WriteLine($"error: unexpected failure ({e.GetType().Name}): {e.Message}");
            if (environment.Variable("AURORA_CLIENT_DEBUG") is not null)
            {
                stderr.WriteLine(e.ToString());
            }
            else
            {
                stderr.WriteLine("(set AURORA_CLIENT_DEBUG=1 to see where; this is a bug in the client)");
            }

            return ExitCodes.UnknownError;
        }
    }

    /// <summary>Finds the verb; prints help or a usage error and returns a null verb when there is none to run.</summary>
    private (string Command, Verb? Verb, IReadOnlyList<string> Arguments) Resolve(IReadOnlyList<string> args, ConsoleOutput output, out int exit)
    {
        exit = ExitCodes.Ok;
        if (args.Count > 0 && args[0] == "help")
        {
            // "aurora help job create" is "aurora job create -help".
            return Resolve([.. args.Skip(1), "-help"], output, out exit);
        }

        if (args.Count == 0 || Flags.IsHelp(args[0]))
        {
            (args.Count == 0 ? output.Error : output.Out).Write(ProgramHelp());
            exit = args.Count == 0 ? ExitCodes.Usage : ExitCodes.Ok;
            return (_program, null, []);
        }

        IReadOnlyList<Verb> verbs;
        string prefix;
        var next = 0;
        if (_nouns is not null)
        {
            var noun = _nouns.FirstOrDefault(n => n.Name == args[0])
                ?? throw new UsageException($"unknown command '{args[0]}' for {_program}; the commands are {string.Join(", ", _nouns.Select(n => n.Name))} (see {_program} -help)");
            prefix = $"{_program} {noun.Name}";
            next = 1;
            if (args.Count == 1 || Flags.IsHelp(args[1]))
            {
                (args.Count == 1 ? output.Error : output.Out).Write(NounHelp(noun));
                exit = args.Count == 1 ? ExitCodes.Usage : ExitCodes.Ok;
                return (prefix, null, []);
            }

            verbs = noun.Verbs;
        }
        else
        {
            prefix = _program;
            verbs = _verbs!;
        }

        var verb = verbs.FirstOrDefault(v => v.Name == args[next])
            ?? throw new UsageException($"unknown verb '{args[next]}' for {prefix}; the verbs are {string.Join(", ", verbs.Select(v => v.Name))} (see {prefix} -help)");
        return ($"{prefix} {verb.Name}", verb, [.. args.Skip(next + 1)]);
    }

    private string ProgramHelp()
    {
        var help = new StringBuilder();
        help.Append(_summary).Append("\n\n");
        if (_nouns is not null)
        {
            help.Append($"usage: {_program} NOUN VERB [ARGS] [FLAGS]\n");
            foreach (var noun in _nouns)
            {
                help.Append('\n').Append(noun.Name).Append(": ").Append(noun.Summary).Append('\n');
                AppendVerbList(help, $"{_program} {noun.Name}", noun.Verbs);
            }

            help.Append($"\n'{_program} NOUN -help' and '{_program} NOUN VERB -help' say more.\n");
        }
        else
        {
            help.Append($"usage: {_program} VERB [ARGS] [FLAGS]\n\n");
            AppendVerbList(help, _program, _verbs!);
            help.Append($"\n'{_program} VERB -help' says more.\n");
        }

        help.Append("Exit codes: see docs/clients.md (0 ok, 2 bad command line, 3 bad configuration, 4 failed, 6 not found, 7 unreachable, 8 not permitted, 10 refused).\n");
        return help.ToString();
    }

    private static string NounHelp(Noun noun)
    {
        var help = new StringBuilder();
        help.Append(noun.Summary).Append("\n\n");
        AppendVerbList(help, string.Empty, noun.Verbs, prefixed: false);
        return help.ToString();
    }

    private static void AppendVerbList(StringBuilder help, string prefix, IReadOnlyList<Verb> verbs, bool prefixed = true)
    {
        var lines = verbs.Select(v => ((prefixed ? $"{prefix} " : string.Empty) + $"{v.Name} {v.Arguments}".TrimEnd(), v.Summary)).ToList();
        var width = lines.Max(l => l.Item1.Length);
        foreach (var (usage, summary) in lines)
        {
            help.Append("  ").Append(usage.PadRight(width + 2)).Append(summary).Append('\n');
        }
    }

    private static string VerbUsage(string command, Verb verb)
    {
        var flags = string.Concat(verb.Flags.Select(f => $" [{f.Usage}]"));
        return $"{command} {verb.Arguments}".TrimEnd() + flags;
    }

    private static string VerbHelp(string command, Verb verb)
    {
        var help = new StringBuilder();
        help.Append("usage: ").Append(VerbUsage(command, verb)).Append("\n\n").Append(verb.Summary).Append('\n');
        if (verb.Details is not null)
        {
            help.Append('\n').Append(verb.Details.TrimEnd()).Append('\n');
        }

        if (verb.Flags.Count > 0)
        {
            help.Append("\nflags:\n");
            Flags.WriteUsage(help, verb.Flags, "  ");
        }

        return help.ToString();
    }
}
