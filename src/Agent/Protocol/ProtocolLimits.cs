using System.Globalization;
using System.Text;

namespace Aurora.Agent.Protocol;

/// <summary>
/// What the agent protocol's strings may hold: lengths, characters and URL schemes. The scheduler
/// refuses a heartbeat that breaks one (400, naming the field) before anything of it is stored or
/// published; the agent checks its own flags by the same rules at start-up. Free-text messages are
/// fitted, not refused: both sides pass them through <see cref="FitMessage"/> before they keep them.
/// </summary>
/// <remarks>
/// Every string that reaches the log, <c>/offers</c> or a log line is checked here: no control
/// characters (a NUL or a newline would forge log lines and break clients), bounded lengths (the
/// heartbeat body limit alone lets one field take megabytes), and sandbox links that can only be
/// http or https (a <c>javascript:</c> link would run in whoever clicks it).
/// </remarks>
public static class ProtocolLimits
{
    /// <summary>A DNS name's limit (RFC 1035): 253 characters.</summary>
    public const int MaxHostnameLength = 253;

    /// <summary>The agent's own ids are <c>{hostname}-{uuid}</c>.</summary>
    public const int MaxAgentIdLength = MaxHostnameLength + 1 + 36;

    /// <summary>
    /// The longest task id an agent can run: it names the sandbox directory and the checkpoint files
    /// <c>{id}.json</c>, <c>{id}.json.tmp</c> and <c>{id}.json.unreadable</c>, and a file name may
    /// have at most 255 bytes (NAME_MAX), so 255 − 16.
    /// </summary>
    public const int MaxTaskIdLength = 255 - 16;

    /// <summary>Attribute names, as Aurora's identifiers (255).</summary>
    public const int MaxAttributeNameLength = 255;

    public const int MaxAttributeValueLength = 1024;

    /// <summary>Distinct attribute names per agent, and values per attribute.</summary>
    public const int MaxAttributes = 256;

    /// <summary>
    /// The longest message of a task transition or kill. Messages are free text, so they are not
    /// refused but fitted (<see cref="FitMessage"/>) by whoever records them: a refused heartbeat
    /// would cost an agent all its tasks over a message it may only have passed on.
    /// </summary>
    public const int MaxMessageLength = 4096;

    /// <summary>Transitions one task report may carry (a task has a handful; the bound keeps a report small).</summary>
    public const int MaxHistoryLength = 1024;

    public const int MaxUrlLength = 2048;

    /// <summary>Null when <paramref name="hostname"/> can be an agent's host name, otherwise why not.</summary>
    public static string? HostnameProblem(string? hostname) =>
        hostname is null or "" ? "hostname is required."
        : hostname.Length > MaxHostnameLength ? $"hostname has {hostname.Length} characters; a host name has at most {MaxHostnameLength}."
        : !hostname.All(IsHostnameCharacter) ? $"hostname '{Printable(hostname)}' may hold only letters, digits, '.', '-', '_' and ':' (an IPv6 address)."
        : hostname[0] is '.' or '-' ? $"hostname '{hostname}' must not start with '{hostname[0]}'."
        : null;

    /// <summary>Null when <paramref name="agentId"/> is usable, otherwise why not.</summary>
    public static string? AgentIdProblem(string? agentId) =>
        agentId is null or "" ? "agentId is required."
        : agentId.Length > MaxAgentIdLength ? $"agentId has {agentId.Length} characters; at most {MaxAgentIdLength} are allowed."
        : !agentId.All(IsHostnameCharacter) ? $"agentId '{Printable(agentId)}' may hold only letters, digits, '.', '-', '_' and ':'."
        : null;

    /// <summary>Null when an agent can run a task of this id (name its sandbox and checkpoint files), otherwise why not.</summary>
    public static string? TaskIdProblem(string? taskId) =>
        taskId is null or "" ? "a task id is required."
        : taskId.Length > MaxTaskIdLength
            ? $"task id '{Printable(taskId)}' has {taskId.Length} characters; at most {MaxTaskIdLength} fit, because agents name its sandbox directory and checkpoint files ({{id}}.json.unreadable) after it and a file name has at most 255 bytes."
        : taskId is "." or ".." || !taskId.All(IsIdentifierCharacter)
            ? $"task id '{Printable(taskId)}' cannot name a sandbox directory: it may hold only letters, digits, '.', '_' and '-', and may not be '.' or '..'."
        : null;

    /// <summary>Null when the attribute is usable, otherwise why not; <paramref name="where"/> names it in the message.</summary>
    public static string? AttributeProblem(AgentAttribute? attribute, string where)
    {
        if (attribute is null || attribute.Name is null || attribute.Values is null)
        {
            return $"{where} needs a name and a list of values.";
        }

        if (attribute.Name.Length == 0 || attribute.Name.Length > MaxAttributeNameLength)
        {
            return $"{where}: an attribute name has 1 to {MaxAttributeNameLength} characters, not {attribute.Name.Length}.";
        }

        if (attribute.Name.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c is ':' or ';'))
        {
            return $"{where}: attribute name '{Printable(attribute.Name)}' may not hold whitespace, control characters, ':' or ';'.";
        }

        if (attribute.Values.Count == 0 || attribute.Values.Count > MaxAttributes)
        {
            return $"{where}: attribute {attribute.Name} has {attribute.Values.Count} values; 1 to {MaxAttributes} are allowed.";
        }

        foreach (var value in attribute.Values)
        {
            if (value is null || value.Length == 0 || value.Length > MaxAttributeValueLength)
            {
                return $"{where}: a value of attribute {attribute.Name} has 1 to {MaxAttributeValueLength} characters, not {value?.Length ?? 0}.";
            }

            if (value.Any(c => char.IsControl(c) || c == ';'))
            {
                return $"{where}: value '{Printable(value)}' of attribute {attribute.Name} may not hold control characters or ';'.";
            }
        }

        return null;
    }

    /// <summary>Null when <paramref name="url"/> is absent or an http(s) URL, otherwise why not.</summary>
    public static string? SandboxUrlProblem(string? url)
    {
        if (url is null)
        {
            return null;
        }

        if (url.Length > MaxUrlLength)
        {
            return $"sandboxUrl has {url.Length} characters; at most {MaxUrlLength} are allowed.";
        }

        return Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0
            && uri.UserInfo.Length == 0 && url.All(c => !char.IsControl(c) && !char.IsWhiteSpace(c))
            ? null
            : $"sandboxUrl '{Printable(url)}' must be an http:// or https:// URL with a host and no user name.";
    }

    /// <summary>
    /// <paramref name="message"/> as the protocol carries it: every control character (newlines and
    /// tabs too) turned into a space, and cut to <see cref="MaxMessageLength"/> with "..." at the end.
    /// </summary>
    public static string FitMessage(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return string.Empty;
        }

        if (message.Length <= MaxMessageLength && !message.Any(char.IsControl))
        {
            return message;
        }

        var builder = new StringBuilder(Math.Min(message.Length, MaxMessageLength));
        foreach (var c in message.AsSpan(0, Math.Min(message.Length, MaxMessageLength)))
        {
            builder.Append(char.IsControl(c) ? ' ' : c);
        }

        if (message.Length > MaxMessageLength)
        {
            builder.Length = MaxMessageLength - 3;
            if (char.IsHighSurrogate(builder[^1]))
            {
                builder.Length--;
            }

            builder.Append("...");
        }

        return builder.ToString();
    }

    /// <summary>What is wrong with a heartbeat's strings, or null; resource amounts are the scheduler's to bound.</summary>
    public static string? Problem(HeartbeatRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problem = AgentIdProblem(request.AgentId) ?? HostnameProblem(request.Hostname) ?? SandboxUrlProblem(request.SandboxUrl);
        if (problem is not null)
        {
            return problem;
        }

        if (request.Attributes is null)
        {
            return "attributes is required (an empty list when the host has none).";
        }

        if (request.Attributes.Count > MaxAttributes)
        {
            return $"attributes has {request.Attributes.Count} entries; at most {MaxAttributes} are allowed.";
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var attribute in request.Attributes)
        {
            if (AttributeProblem(attribute, $"attribute {(attribute?.Name is { } name ? Printable(name) : "(null)")}") is { } attributeProblem)
            {
                return attributeProblem;
            }

            if (!names.Add(attribute!.Name))
            {
                return $"attribute {attribute.Name} is given twice; give one entry with all its values.";
            }
        }

        if (request.Tasks is null)
        {
            return "tasks is required (an empty list when the agent holds none).";
        }

        var taskIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var task in request.Tasks)
        {
            if (task is null || task.History is not { Count: > 0 } || task.History.Any(h => h is null))
            {
                return $"Task report {(task?.TaskId is { } id ? Printable(id) : "(null)")} needs a task id and a non-empty history.";
            }

            if (TaskIdProblem(task.TaskId) is { } idProblem)
            {
                return $"Task report: {idProblem}";
            }

            if (!taskIds.Add(task.TaskId))
            {
                return $"Task {task.TaskId} is reported twice.";
            }

            if (task.History.Count > MaxHistoryLength)
            {
                return $"Task {task.TaskId} reports {task.History.Count} transitions; at most {MaxHistoryLength} are allowed.";
            }

            foreach (var transition in task.History)
            {
                if (!Enum.IsDefined(transition.State))
                {
                    return $"Task {task.TaskId}: state {transition.State} is not one of {string.Join(", ", Enum.GetNames<AgentTaskState>())}.";
                }

            }
        }

        return null;
    }

    private static bool IsHostnameCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or ':';

    private static bool IsIdentifierCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_';

    /// <summary>
    /// <paramref name="text"/> for a message about it: at most <paramref name="maxLength"/> characters
    /// (then "..."), and control characters shown as \uXXXX, so that a message about a bad value can
    /// neither be flooded by it nor forge lines.
    /// </summary>
    public static string Printable(string text, int maxLength = 64)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > maxLength)
        {
            text = text[..maxLength] + "...";
        }

        if (!text.Any(char.IsControl))
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            builder.Append(char.IsControl(c) ? string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}") : c);
        }

        return builder.ToString();
    }
}
