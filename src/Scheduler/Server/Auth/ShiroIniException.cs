namespace Aurora.Scheduler.Server.Auth;

/// <summary>
/// A Shiro INI file that cannot be used: missing, unreadable, or with a line that is wrong. The message
/// starts with <c>file:line:</c> (or <c>file:</c> when no single line is at fault) and says what to fix.
/// </summary>
internal sealed class ShiroIniException : Exception
{
    public ShiroIniException(string fileName, int? line, string detail, Exception? inner = null)
        : base(line is { } n ? $"{fileName}:{n}: {detail}" : $"{fileName}: {detail}", inner)
    {
        FileName = fileName;
        Line = line;
        Detail = detail;
    }

    /// <summary>The file (or source name) the text came from.</summary>
    public string FileName { get; }

    /// <summary>The 1-based line at fault, or null when the whole file is.</summary>
    public int? Line { get; }

    /// <summary>The message without its <c>file:line:</c> prefix.</summary>
    public string Detail { get; }
}
