using Aurora.Agent.Node;
using Aurora.Agent.Protocol;
using Aurora.CommandLine;
using FsCheck;
using FsCheck.Fluent;

namespace Aurora.Agent.Tests;

public sealed class AttributeTextTests
{
    [Fact]
    public void Reads_pairs_and_gathers_a_repeated_name_into_one_attribute_with_several_values()
    {
        var attributes = AttributeText.Parse("host:a;rack:r1;dedicated:db_team/redis;zone:x;zone:y;zone:x;url:http://h:1", "attributes");
        Assert.Equal(["host", "rack", "dedicated", "zone", "url"], attributes.Select(a => a.Name));
        Assert.Equal(["db_team/redis"], attributes[2].Values);
        Assert.Equal(["x", "y"], attributes[3].Values);
        Assert.Equal(["http://h:1"], attributes[4].Values);
    }

    [Theory]
    [InlineData("rack", "-attributes: \"rack\": expected name:value")]
    [InlineData(":r1", "-attributes: \":r1\": the attribute name is empty")]
    [InlineData("  :r1", "-attributes: \":r1\": the attribute name is empty")]
    [InlineData("rack:", "-attributes: \"rack:\": rack has an empty value")]
    [InlineData("rack:   ", "-attributes: \"rack:\": rack has an empty value")]
    [InlineData("ra ck:r1", "-attributes: \"ra ck:r1\": attribute name \"ra ck\" contains whitespace")]
    public void Bad_attributes_name_the_flag_the_item_and_the_problem(string text, string message)
    {
        var error = Assert.Throws<UsageException>(() => AttributeText.Parse(text, "attributes"));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void The_host_attribute_comes_from_the_host_name_unless_given()
    {
        Assert.Equal([("host", "h1"), ("rack", "r1")], Pairs(AttributeText.WithHost(AttributeText.Parse("rack:r1", "attributes"), "h1")));
        Assert.Equal([("rack", "r1"), ("host", "other")], Pairs(AttributeText.WithHost(AttributeText.Parse("rack:r1;host:other", "attributes"), "h1")));
    }

    [Fact]
    public void Formatted_attributes_parse_back_to_the_same_attributes()
    {
        var nameChars = "abcdefghijklmnopqrstuvwxyz0123456789_-.".ToCharArray();
        var valueChars = "abcXYZ019_-./:= ".ToCharArray();
        var names = Gen.NonEmptyListOf(Gen.Elements(nameChars)).Select(cs => new string([.. cs]));
        var values = Gen.NonEmptyListOf(Gen.Elements(valueChars)).Select(cs => new string([.. cs]).Trim()).Where(v => v.Length > 0);
        var attributes =
            from list in Gen.ListOf(from name in names from vs in Gen.NonEmptyListOf(values) select (name, vs))
            select list.GroupBy(p => p.name).Select(g => new AgentAttribute(g.Key, [.. g.SelectMany(p => p.vs).Distinct()])).ToList();

        Prop.ForAll(attributes.ToArbitrary(), list =>
        {
            var back = AttributeText.Parse(AttributeText.Format(list), "attributes");
            return Pairs(back).SequenceEqual(Pairs(list));
        }).QuickCheckThrowOnFailure();
    }

    private static List<(string, string)> Pairs(IReadOnlyList<AgentAttribute> attributes) =>
        [.. attributes.SelectMany(a => a.Values.Select(v => (a.Name, v)))];
}
