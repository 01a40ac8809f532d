namespace Aurora.Scheduler.Commands;

/// <summary>A command was refused; nothing was written. The message is for the user, as Aurora words it where Aurora has words.</summary>
public class CommandRejectedException : Exception
{
    public CommandRejectedException(ErrorCode code, string message)
        : base(message)
    {
        Code = code;
    }

    public ErrorCode Code { get; }

    public static CommandRejectedException Invalid(string message) => new(ErrorCode.InvalidRequest, message);
}
