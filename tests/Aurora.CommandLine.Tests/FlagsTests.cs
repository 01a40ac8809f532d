namespace Aurora.CommandLine.Tests;

public class FlagsTests
{
    private static readonly Flags Parser = new([
        new FlagSpec("path", "the directory", "DIR"),
        new FlagSpec("from", "a position", "POS"),
        new FlagSpec("json", "a switch"),
    ]);

    [Theory]
    [InlineData("--path=/x")]
    [InlineData("--path", "/x")]
    [InlineData("-path=/x")]
    [InlineData("-path", "/x")]
    public void Every_spelling_of_a_flag_gives_its_value(params string[] args)
    {
        var flags = Parser.Parse(args, "test");

        Assert.Equal("/x", flags.GetString("path"));
        Assert.Empty(flags.Positionals);
    }

    [Fact]
    public void A_value_may_contain_equals_signs_and_a_switch_takes_none()
    {
        var flags = Parser.Parse(["--path=/a=b", "--json", "pos1", "-from", "7", "pos2"], "test");

        Assert.Equal("/a=b", flags.GetString("path"));
        Assert.True(flags.GetSwitch("json"));
        Assert.Equal(7UL, flags.GetUInt64("from"));
        Assert.Equal(["pos1", "pos2"], flags.Positionals);
    }

    [Fact]
    public void A_switch_can_be_set_false_explicitly_and_is_false_when_absent()
    {
        Assert.False(Parser.Parse(["--json=false"], "test").GetSwitch("json"));
        Assert.True(Parser.Parse(["-json=true"], "test").GetSwitch("json"));
        Assert.False(Parser.Parse([], "test").GetSwitch("json"));
        Assert.Null(Parser.Parse([], "test").GetUInt64("from"));
    }

    [Theory]
    [InlineData("unknown flag --nope for test", "--nope")]
    [InlineData("unknown flag -nope for test", "-nope=1")]
    [InlineData("flag --path is given more than once", "--path=a", "-path=b")]
    [InlineData("flag --path needs a value: --path=DIR", "--path")]
    [InlineData("flag --path needs a value: --path=DIR", "--path", "--json")]
    [InlineData("unexpected argument '--=x'", "--=x")]
    public void Bad_flags_are_usage_errors_naming_the_flag(string expected, params string[] args)
    {
        var e = Assert.Throws<UsageException>(() => Parser.Parse(args, "test"));

        Assert.Equal(expected, e.Message);
    }

    [Fact]
    public void Numbers_that_look_like_flags_are_values()
    {
        var flags = Parser.Parse(["--from", "-1"], "test");

        var e = Assert.Throws<UsageException>(() => flags.GetUInt64("from"));
        Assert.Equal("flag --from must be a non-negative whole number, got '-1'", e.Message);
    }
}
