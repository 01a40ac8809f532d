namespace Aurora.Scheduler.Commands;

/// <summary>Why a command was refused; the stable codes of Aurora's ResponseCode.</summary>
public enum ErrorCode
{
    /// <summary>The request is malformed or not allowed in the current state (INVALID_REQUEST).</summary>
    InvalidRequest,

    /// <summary>The job has an active update (JOB_UPDATING_ERROR).</summary>
    JobUpdating,

    /// <summary>The command refers to something that does not exist.</summary>
    NotFound,
}
