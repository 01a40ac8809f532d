namespace Aurora.Testing.Linearizability;

/// <summary>A register operation: write a value, or read the current one.</summary>
public sealed record RegisterInput(bool IsWrite, int Value)
{
    public static RegisterInput Write(int value) => new(true, value);

    public static RegisterInput Read() => new(false, 0);

    public override string ToString() => IsWrite ? $"Write({Value})" : "Read";
}

/// <summary>What a register operation returned: the value read, or the acknowledgement of a write.</summary>
public sealed record RegisterOutput(int Value)
{
    /// <summary>The acknowledgement of a write (its value is not looked at).</summary>
    public static readonly RegisterOutput Written = new(0);

    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// A single integer register, initially <see cref="RegisterModel.Initial"/>: a read returns the last
/// value written. The textbook model, here to test the checker itself.
/// </summary>
public sealed class RegisterModel : IModel<int, RegisterInput, RegisterOutput>
{
    /// <summary>The value read before any write.</summary>
    public const int Initial = 0;

    public int Init() => Initial;

    public (bool Ok, int Next) Step(int state, RegisterInput input, RegisterOutput? output)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.IsWrite)
        {
            return (true, input.Value);
        }

        return (output is null || output.Value == state, state);
    }

    public bool Equal(int a, int b) => a == b;

    public bool IsReadOnly(RegisterInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return !input.IsWrite;
    }

    public int Hash(int state) => state;

    public string DescribeOperation(RegisterInput input, RegisterOutput? output)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.IsWrite ? $"Write({input.Value})" : $"Read -> {(output is null ? "?" : output.ToString())}";
    }

    public string ExplainRejection(int state, RegisterInput input, RegisterOutput? output) =>
        $"read {output} but the register holds {state}";
}
