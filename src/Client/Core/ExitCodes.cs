namespace Aurora.Client;

/// <summary>
/// The exit codes of <c>aurora</c> and <c>aurora_admin</c>, with Aurora's numbers
/// (<c>apache.aurora.client.cli</c>) where Aurora has one. docs/clients.md is the table scripts read.
/// </summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary><c>job diff</c> only: the local configuration differs from the scheduler's, as <c>diff(1)</c>.</summary>
    public const int Different = 1;

    /// <summary>The command line cannot be parsed (argparse's 2): unknown verb or flag, missing argument, bad job key.</summary>
    public const int Usage = 2;

    /// <summary>A job file, clusters.json or .netrc is missing or invalid.</summary>
    public const int InvalidConfiguration = 3;

    /// <summary>The command ran but its outcome is a failure, e.g. an update that did not roll forward.</summary>
    public const int CommandFailure = 4;

    /// <summary>The command does not fit the configuration, e.g. <c>job create</c> with a cron job.</summary>
    public const int InvalidCommand = 5;

    /// <summary>An argument names something that does not exist: an unknown cluster, job, update or backup.</summary>
    public const int InvalidParameter = 6;

    /// <summary>The scheduler cannot be reached, or it answers that it is not ready (no leader, recovery).</summary>
    public const int NetworkError = 7;

    /// <summary>The scheduler wants credentials (401) or refuses the user (403).</summary>
    public const int PermissionViolation = 8;

    /// <summary>The scheduler did not answer in time.</summary>
    public const int Timeout = 9;

    /// <summary>The scheduler refused the request for another reason (invalid request, job updating, internal error).</summary>
    public const int ApiError = 10;

    /// <summary>A bug in the client; the message says what happened.</summary>
    public const int UnknownError = 20;

    /// <summary>Interrupted by Ctrl-C.</summary>
    public const int Interrupted = 130;
}
