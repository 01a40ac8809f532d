namespace Aurora.CommandLine.Tests;

public class AmountsTests
{
    [Theory]
    [InlineData("1hrs", 3600)]
    [InlineData("30mins", 1800)]
    [InlineData("5secs", 5)]
    [InlineData("2days", 172800)]
    [InlineData("90", 90)]
    [InlineData("1.5h", 5400)]
    [InlineData("250ms", 0.25)]
    public void Durations_are_read_in_Auroras_units(string text, double seconds)
    {
        Assert.True(Amounts.TryParseDuration(text, TimeSpan.FromSeconds(1), out var duration));
        Assert.Equal(TimeSpan.FromSeconds(seconds), duration);
    }

    [Theory]
    [InlineData("")]
    [InlineData("hrs")]
    [InlineData("1 fortnight")]
    [InlineData("-5secs")]
    [InlineData("1e3secs")]
    public void Malformed_durations_are_refused(string text) =>
        Assert.False(Amounts.TryParseDuration(text, TimeSpan.FromSeconds(1), out _));

    [Theory]
    [InlineData("512KB", 512L << 10)]
    [InlineData("32MB", 32L << 20)]
    [InlineData("2GB", 2L << 30)]
    [InlineData("1TiB", 1L << 40)]
    [InlineData("1.5GB", 3L << 29)]
    [InlineData("100", 100L << 20)]
    public void Sizes_are_binary_multiples(string text, long bytes)
    {
        Assert.True(Amounts.TryParseBytes(text, 1L << 20, out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("32QB")]
    [InlineData("MB")]
    [InlineData("0.5B")]
    [InlineData("99999999999TB")]
    public void Malformed_sizes_are_refused(string text) => Assert.False(Amounts.TryParseBytes(text, 1, out _));

    [Fact]
    public void Formatting_picks_the_largest_unit_that_divides()
    {
        Assert.Equal("1hrs", Amounts.FormatDuration(TimeSpan.FromHours(1)));
        Assert.Equal("90secs", Amounts.FormatDuration(TimeSpan.FromSeconds(90)));
        Assert.Equal("250ms", Amounts.FormatDuration(TimeSpan.FromMilliseconds(250)));
        Assert.Equal("512KB", Amounts.FormatBytes(512 << 10));
        Assert.Equal("2GB", Amounts.FormatBytes(2L << 30));
        Assert.Equal("1000B", Amounts.FormatBytes(1000));
    }

    [Fact]
    public void Formatting_round_trips()
    {
        foreach (var bytes in new[] { 1L, 1000, 1024, 3L << 20, 5L << 30 })
        {
            Assert.True(Amounts.TryParseBytes(Amounts.FormatBytes(bytes), 1, out var parsed));
            Assert.Equal(bytes, parsed);
        }
    }
}
