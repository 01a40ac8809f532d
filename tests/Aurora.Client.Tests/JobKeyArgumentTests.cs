using Aurora.CommandLine;
using FsCheck;
using FsCheck.Fluent;

namespace Aurora.Client.Tests;

public sealed class JobKeyArgumentTests
{
    [Fact]
    public void A_job_key_has_cluster_role_environment_and_name()
    {
        var key = JobKeyArgument.Parse("devcluster/www-data/prod/hello");

        Assert.Equal(("devcluster", "www-data", "prod", "hello"), (key.Cluster, key.Key.Role, key.Key.Environment, key.Key.Name));
        Assert.Null(key.Instances);
        Assert.Equal("devcluster/www-data/prod/hello", key.ToString());
    }

    [Theory]
    [InlineData("devcluster/www-data/prod")]
    [InlineData("devcluster/www-data/prod/hello/0")]
    [InlineData("hello")]
    [InlineData("a/b/c/d/e/f")]
    public void Keys_with_the_wrong_number_of_parts_are_refused(string text)
    {
        var error = Assert.Throws<UsageException>(() => JobKeyArgument.Parse(text));

        Assert.Equal($"bad job key '{text}': expected cluster/role/env/name", error.Message);
    }

    [Theory]
    [InlineData("devcluster/www data/prod/hello", "Job role 'www data' is invalid")]
    [InlineData("devcluster/www-data//hello", "Job environment '' is invalid")]
    [InlineData("/www-data/prod/hello", "the cluster name is empty")]
    public void Bad_parts_are_named(string text, string problem)
    {
        var error = Assert.Throws<UsageException>(() => JobKeyArgument.Parse(text));

        Assert.StartsWith($"bad job key '{text}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0", new[] { 0 })]
    [InlineData("0-3", new[] { 0, 1, 2, 3 })]
    [InlineData("0,2,5-7", new[] { 0, 2, 5, 6, 7 })]
    [InlineData("5-7,0,6", new[] { 0, 5, 6, 7 })]
    public void Instances_are_numbers_ranges_and_lists(string instances, int[] expected)
    {
        var key = JobKeyArgument.ParseWithInstances($"c/r/e/n/{instances}");

        Assert.Equal(expected, key.Instances);
        Assert.Equal("c/r/e/n", key.Text);
    }

    [Theory]
    [InlineData("", "expected a number")]
    [InlineData("a", "expected a number")]
    [InlineData("3-1", "range 3-1 ends before it starts")]
    [InlineData("1,,2", "expected a number")]
    [InlineData("-1", "expected a number")]
    [InlineData("0-100000", "instance ids 0 to 99999")]
    public void Bad_instances_are_refused(string instances, string problem)
    {
        var error = Assert.Throws<UsageException>(() => JobKeyArgument.ParseWithInstances($"c/r/e/n/{instances}"));

        Assert.Contains($"bad instances '{instances}' in job key 'c/r/e/n/{instances}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Formatting_instances_and_parsing_them_back_gives_the_same_set()
    {
        Prop.ForAll(
            Gen.ListOf(Gen.Choose(0, 200)).ToArbitrary(),
            instances =>
            {
                var expected = instances.Distinct().Order().ToList();
                if (expected.Count == 0)
                {
                    return true;
                }

                return InstanceRanges.Parse(InstanceRanges.Format(expected), "test").SequenceEqual(expected);
            }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData("devcluster", null, null, null)]
    [InlineData("devcluster/www-data", "www-data", null, null)]
    [InlineData("devcluster/www-data/prod", "www-data", "prod", null)]
    [InlineData("devcluster/*/prod/hello", null, "prod", "hello")]
    public void Job_specs_may_stop_early_or_use_a_wildcard(string text, string? role, string? environment, string? name)
    {
        var spec = JobSpec.Parse(text);

        Assert.Equal(("devcluster", role, environment, name), (spec.Cluster, spec.Role, spec.Environment, spec.Name));
        Assert.Equal(role is not null && environment is not null && name is not null, spec.IsSingleJob);
    }

    [Theory]
    [InlineData("")]
    [InlineData("*/www-data")]
    [InlineData("a/b/c/d/e")]
    [InlineData("devcluster/bad role")]
    public void Bad_job_specs_are_refused(string text)
    {
        var error = Assert.Throws<UsageException>(() => JobSpec.Parse(text));

        Assert.StartsWith($"bad job key '{text}'", error.Message, StringComparison.Ordinal);
    }
}
