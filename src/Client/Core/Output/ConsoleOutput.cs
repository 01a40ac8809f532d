using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aurora.Client.Api;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Aurora.Client.Output;

/// <summary>
/// Where a command writes: results on stdout (Spectre.Console tables by default, JSON with
/// <c>--json</c>), errors and progress on stderr, so that stdout stays parseable. Tables get borders
/// and colour only on a terminal; redirected, they are plain aligned columns.
/// </summary>
/// <remarks>One per command run; not for concurrent use.</remarks>
public sealed class ConsoleOutput
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly ClientEnvironment _environment;
    private readonly Lazy<IAnsiConsole> _stdout;
    private readonly Lazy<IAnsiConsole> _stderr;

    public ConsoleOutput(TextWriter stdout, TextWriter stderr, ClientEnvironment environment)
    {
        Out = stdout ?? throw new ArgumentNullException(nameof(stdout));
        Error = stderr ?? throw new ArgumentNullException(nameof(stderr));
        _environment = environment ?? throw new ArgumentNullException(nameof(environment));
        _stdout = new Lazy<IAnsiConsole>(() => CreateConsole(Out, environment.StdoutIsTerminal));
        _stderr = new Lazy<IAnsiConsole>(() => CreateConsole(Error, environment.StderrIsTerminal));
    }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    public void Line(string text) => Out.WriteLine(text);

    /// <summary>A notice for people on stderr, which never reaches a script reading stdout.</summary>
    public void Note(string text) => Error.WriteLine(text);

    public void Warning(string text) => Error.WriteLine($"warning: {text}");

    /// <summary>One line on stdout for a write: what was done, and the scheduler's message when it says more than OK.</summary>
    public void Done(string what, WriteResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        Out.WriteLine(result.Message.Length == 0 || result.Message == "OK" ? what : $"{what}: {result.Message}");
    }

    /// <summary>Indented JSON on stdout, and nothing else.</summary>
    public void Json(JsonNode? node) => Out.WriteLine(node is null ? "null" : node.ToJsonString(JsonOptions));

    public static string JsonText(JsonNode? node) => node is null ? "null" : node.ToJsonString(JsonOptions);

    /// <summary>A table on stdout; null cells show as <c>-</c>.</summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string?>> rows)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(rows);
        var terminal = _environment.StdoutIsTerminal;
        var table = new Table { Border = terminal ? TableBorder.Rounded : TableBorder.None, ShowHeaders = true };
        foreach (var header in headers)
        {
            table.AddColumn(new TableColumn(new Text(header, terminal ? new Style(decoration: Decoration.Bold) : Style.Plain)) { NoWrap = true });
        }

        foreach (var row in rows)
        {
            table.AddRow(row.Select(cell => (IRenderable)new Text(cell ?? "-")).ToArray());
        }

        if (terminal)
        {
            _stdout.Value.Write(table);
            return;
        }

        // Redirected: plain columns without the padding Spectre leaves after the last one, so that
        // `awk`, `cut` and line comparisons see clean lines.
        using var buffer = new StringWriter();
        CreateConsole(buffer, terminal: false).Write(table);
        foreach (var line in buffer.ToString().ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'))
        {
            Out.WriteLine(line.TrimEnd());
        }
    }

    /// <summary><c>name: value</c> lines, aligned, on stdout.</summary>
    public void Properties(IEnumerable<(string Name, string? Value)> properties)
    {
        var list = properties.ToList();
        var width = list.Count == 0 ? 0 : list.Max(p => p.Name.Length) + 1;
        foreach (var (name, value) in list)
        {
            Out.WriteLine($"{(name + ":").PadRight(width)} {value ?? "-"}");
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> while showing what it reports on stderr: a Spectre status line on a
    /// terminal, one line per change otherwise. Nothing is written to stdout.
    /// </summary>
    public async Task<T> ProgressAsync<T>(string initial, Func<Action<string>, Task<T>> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (_environment.StderrIsTerminal)
        {
            return await _stderr.Value.Status().StartAsync(Markup.Escape(initial), context =>
                work(text => context.Status(Markup.Escape(text)))).ConfigureAwait(false);
        }

        string? last = null;
        void Report(string text)
        {
            if (text != last)
            {
                last = text;
                Error.WriteLine(text);
            }
        }

        Report(initial);
        return await work(Report).ConfigureAwait(false);
    }

    private IAnsiConsole CreateConsole(TextWriter writer, bool terminal)
    {
        var colour = terminal && _environment.Variable("NO_COLOR") is null;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = colour ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = colour ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = Width(terminal);
        return console;
    }

    // Redirected output is read by programs, which prefer long lines to wrapped cells.
    private int Width(bool terminal)
    {
        if (_environment.Variable("COLUMNS") is { } columns
            && int.TryParse(columns, NumberStyles.None, CultureInfo.InvariantCulture, out var width) && width >= 40)
        {
            return width;
        }

        if (terminal)
        {
            try
            {
                return Math.Max(Console.WindowWidth, 40);
            }
            catch (IOException)
            {
                return 120;
            }
        }

        return 400;
    }
}
