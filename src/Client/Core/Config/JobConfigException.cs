using System.Globalization;

namespace Aurora.Client.Config;

/// <summary>
/// A job configuration file that cannot be read or mapped onto the scheduler's model. The message
/// names the file, the field and what is wrong, and is shown to users as is:
/// <c>hello.json: jobs[0].task.resources.ram: "32QB" is not a size ... (line 12)</c>.
/// </summary>
public sealed class JobConfigException : Exception
{
    public JobConfigException(string sourceName, string? fieldPath, int line, string problem, Exception? inner = null, int column = 0)
        : base(Compose(sourceName, fieldPath, line, column, problem), inner)
    {
        SourceName = sourceName;
        FieldPath = string.IsNullOrEmpty(fieldPath) ? null : fieldPath;
        Line = line > 0 ? line : null;
        Problem = problem;
    }

    /// <summary>The file (or the name the caller gave the text).</summary>
    public string SourceName { get; }

    /// <summary>Where in the file, such as <c>jobs[0].task.resources.ram</c>; null for file-level problems.</summary>
    public string? FieldPath { get; }

    /// <summary>The 1-based line the problem is on, when known.</summary>
    public int? Line { get; }

    /// <summary>What is wrong, without the file and field.</summary>
    public string Problem { get; }

    private static string Compose(string sourceName, string? fieldPath, int line, int column, string problem)
    {
        var where = string.IsNullOrEmpty(fieldPath) ? sourceName : $"{sourceName}: {fieldPath}";
        return (line, column) switch
        {
            ( <= 0, _) => $"{where}: {problem}",
            (_, <= 0) => string.Create(CultureInfo.InvariantCulture, $"{where}: {problem} (line {line})"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{where}: {problem} (line {line}, column {column})"),
        };
    }
}
