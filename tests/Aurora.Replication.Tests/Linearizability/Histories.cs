using Aurora.Testing.Linearizability;

namespace Aurora.Replication.Tests.Linearizability;

/// <summary>Short names for writing histories by hand.</summary>
internal static class Reg
{
    public static Operation<RegisterInput, RegisterOutput> Write(int client, int value, long call, long ret) =>
        new(client, RegisterInput.Write(value), call, RegisterOutput.Written, ret);

    public static Operation<RegisterInput, RegisterOutput> Read(int client, int value, long call, long ret) =>
        new(client, RegisterInput.Read(), call, new RegisterOutput(value), ret);

    public static Operation<RegisterInput, RegisterOutput> WriteUnknown(int client, int value, long call) =>
        Operation.Unknown<RegisterInput, RegisterOutput>(client, RegisterInput.Write(value), call);

    public static LinearizabilityResult<RegisterInput, RegisterOutput> Check(params Operation<RegisterInput, RegisterOutput>[] history) =>
        LinearizabilityChecker.Check(new RegisterModel(), history);
}

/// <summary>Short names for writing replicated-log histories by hand; values are ulongs, positions start at 1.</summary>
internal static class Log
{
    public static Operation<LogInput<ulong>, LogOutput<ulong>> Append(int client, ulong value, long call, long ret, ulong position) =>
        new(client, ReplicatedLogModel.Append(value), call, ReplicatedLogModel.Appended<ulong>(position), ret);

    public static Operation<LogInput<ulong>, LogOutput<ulong>> AppendUnknown(int client, ulong value, long call) =>
        Operation.Unknown<LogInput<ulong>, LogOutput<ulong>>(client, ReplicatedLogModel.Append(value), call);

    public static Operation<LogInput<ulong>, LogOutput<ulong>> Read(int client, long call, long ret, params ulong[] values) =>
        new(client, ReplicatedLogModel.Read<ulong>(), call, ReplicatedLogModel.ReadReturned<ulong>(values), ret);

    public static Operation<LogInput<ulong>, LogOutput<ulong>> ReadUnknown(int client, long call) =>
        Operation.Unknown<LogInput<ulong>, LogOutput<ulong>>(client, ReplicatedLogModel.Read<ulong>(), call);

    /// <summary>Checks with the model that learns from the history, as a simulator would.</summary>
    public static LinearizabilityResult<LogInput<ulong>, LogOutput<ulong>> Check(params Operation<LogInput<ulong>, LogOutput<ulong>>[] history) =>
        ReplicatedLogModel.Check(history);

    /// <summary>Checks with the plain specification, learning nothing.</summary>
    public static LinearizabilityResult<LogInput<ulong>, LogOutput<ulong>> CheckPlain(params Operation<LogInput<ulong>, LogOutput<ulong>>[] history) =>
        LinearizabilityChecker.Check(new ReplicatedLogModel<ulong>(), history);
}
