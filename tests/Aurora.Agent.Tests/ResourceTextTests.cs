using Aurora.Agent.Node;
using Aurora.Agent.Protocol;
using Aurora.CommandLine;
using FsCheck;
using FsCheck.Fluent;

namespace Aurora.Agent.Tests;

public sealed class ResourceTextTests
{
    [Fact]
    public void Reads_every_resource_mesos_style()
    {
        var amounts = ResourceText.Parse("cpus:4.5;mem:8192;disk:20480;gpus:2;ports:[31000-31999,33000-33099]", "resources");
        Assert.Equal(4.5, amounts.Cpus);
        Assert.Equal(8192, amounts.RamMb);
        Assert.Equal(20480, amounts.DiskMb);
        Assert.Equal(2, amounts.Gpus);
        Assert.Equal([new PortRange(31000, 31999), new PortRange(33000, 33099)], amounts.Ports!);
    }

    [Fact]
    public void Missing_resources_stay_null_and_are_completed_from_defaults()
    {
        var amounts = ResourceText.Parse(" mem : 512 ; ", "resources");
        Assert.Null(amounts.Cpus);
        Assert.Null(amounts.Ports);
        var set = amounts.Complete(new ResourceSet(2, 1000, 3000, [new PortRange(1, 2)], 1));
        Assert.Equal((2.0, 512L, 3000L, 1L), (set.Cpus, set.RamMb, set.DiskMb, set.Gpus));
        Assert.Equal([new PortRange(1, 2)], set.Ports);
    }

    [Fact]
    public void Port_ranges_are_sorted_adjacent_ones_allowed_and_empty_brackets_mean_no_ports()
    {
        Assert.Equal([new PortRange(100, 199), new PortRange(200, 300)], ResourceText.Parse("ports:[200-300, 100-199]", "resources").Ports!);
        Assert.Empty(ResourceText.Parse("ports:[]", "resources").Ports!);
        Assert.Equal([new PortRange(8080, 8080)], ResourceText.Parse("ports:[8080-8080]", "resources").Ports!);
    }

    [Theory]
    [InlineData("cpus:four", "-resources: \"cpus:four\": cpus must be a positive number")]
    [InlineData("cpus:0", "-resources: \"cpus:0\": cpus must be a positive number")]
    [InlineData("cpus:-1", "-resources: \"cpus:-1\": cpus must be a positive number")]
    [InlineData("cpus:NaN", "-resources: \"cpus:NaN\": cpus must be a positive number")]
    [InlineData("mem:1.5", "-resources: \"mem:1.5\": mem must be a positive whole number of MB")]
    [InlineData("mem:0", "-resources: \"mem:0\": mem must be a positive whole number of MB")]
    [InlineData("disk:lots", "-resources: \"disk:lots\": disk must be a positive whole number of MB")]
    [InlineData("gpus:-2", "-resources: \"gpus:-2\": gpus must be a whole number (0 or more)")]
    [InlineData("cpus", "-resources: \"cpus\": expected name:value")]
    [InlineData(":4", "-resources: \":4\": the resource name is empty")]
    [InlineData("cpu:4", "-resources: \"cpu:4\": unknown resource cpu (known: cpus, mem, disk, gpus, ports)")]
    [InlineData("cpus:1;cpus:2", "-resources: \"cpus:2\": cpus is given more than once")]
    [InlineData("ports:31000-31999", "-resources: \"ports:31000-31999\": ports must be ranges in brackets, e.g. [31000-31999,33000-33099]")]
    [InlineData("ports:[31000]", "-resources: \"ports:[31000]\": port range \"31000\" must be FIRST-LAST, e.g. 31000-31999")]
    [InlineData("ports:[a-b]", "-resources: \"ports:[a-b]\": port range \"a-b\" must be FIRST-LAST, e.g. 31000-31999")]
    [InlineData("ports:[0-10]", "-resources: \"ports:[0-10]\": port 0 is outside 1-65535")]
    [InlineData("ports:[65000-65536]", "-resources: \"ports:[65000-65536]\": port 65536 is outside 1-65535")]
    [InlineData("ports:[32000-31000]", "-resources: \"ports:[32000-31000]\": port range 32000-31000 ends before it starts")]
    [InlineData("ports:[31000-31999,31500-32000]", "-resources: \"ports:[31000-31999,31500-32000]\": port ranges 31000-31999 and 31500-32000 overlap")]
    public void Bad_resources_name_the_flag_the_item_and_the_problem(string text, string message)
    {
        var error = Assert.Throws<UsageException>(() => ResourceText.Parse(text, "resources"));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Ports_cannot_be_revocable()
    {
        var error = Assert.Throws<UsageException>(() => ResourceText.Parse("cpus:1;ports:[1-2]", "revocable_resources", allowPorts: false));
        Assert.Equal("-revocable_resources: \"ports:[1-2]\": ports cannot be revocable", error.Message);
    }

    [Fact]
    public void Formatted_resources_parse_back_to_the_same_set()
    {
        var resourceSets =
            from cpuTenths in Gen.Choose(1, 6400)
            from mem in Gen.Choose(1, int.MaxValue)
            from disk in Gen.Choose(1, int.MaxValue)
            from gpus in Gen.Choose(0, 8)
            from cuts in Gen.ListOf(Gen.Choose(ResourceText.LowestPort, ResourceText.HighestPort))
            select new ResourceSet(cpuTenths / 10.0, mem, disk, RangesFrom(cuts), gpus);

        Prop.ForAll(resourceSets.ToArbitrary(), set =>
        {
            var back = ResourceText.Parse(ResourceText.Format(set), "resources").Complete(new ResourceSet(0, 0, 0, []));
            return back.Cpus == set.Cpus && back.RamMb == set.RamMb && back.DiskMb == set.DiskMb && back.Gpus == set.Gpus
                && back.Ports.SequenceEqual(set.Ports);
        }).QuickCheckThrowOnFailure();
    }

    /// <summary>Disjoint ranges from cut points: each pair of distinct sorted cuts is a range.</summary>
    private static List<PortRange> RangesFrom(IEnumerable<int> cuts)
    {
        var sorted = cuts.Distinct().Order().ToList();
        var ranges = new List<PortRange>();
        for (var i = 0; i + 1 < sorted.Count; i += 2)
        {
            ranges.Add(new PortRange(sorted[i], sorted[i + 1]));
        }

        return ranges;
    }
}
