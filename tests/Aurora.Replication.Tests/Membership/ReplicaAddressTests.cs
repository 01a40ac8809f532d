using Aurora.Replication.Membership;

namespace Aurora.Replication.Tests.Membership;

public sealed class ReplicaAddressTests
{
    [Theory]
    [InlineData("replica1.example.com:8083", "replica1.example.com", 8083, "replica1.example.com:8083")]
    [InlineData("Replica1.EXAMPLE.com:8083", "replica1.example.com", 8083, "replica1.example.com:8083")]
    [InlineData("  localhost:1  ", "localhost", 1, "localhost:1")]
    [InlineData("10.0.0.7:65535", "10.0.0.7", 65535, "10.0.0.7:65535")]
    [InlineData("0.0.0.0:8083", "0.0.0.0", 8083, "0.0.0.0:8083")]
    [InlineData("[::1]:8083", "::1", 8083, "[::1]:8083")]
    [InlineData("[0:0:0:0:0:0:0:1]:8083", "::1", 8083, "[::1]:8083")]
    [InlineData("[FE80::A:1]:8083", "fe80::a:1", 8083, "[fe80::a:1]:8083")]
    [InlineData("a-b.c1:8083", "a-b.c1", 8083, "a-b.c1:8083")]
    [InlineData("1a.example.com:8083", "1a.example.com", 8083, "1a.example.com:8083")]
    public void Addresses_parse_to_one_canonical_id(string text, string host, int port, string id)
    {
        var address = ReplicaAddress.Parse(text);
        Assert.Equal((host, port, id), (address.Host, address.Port, address.Id));
        Assert.Equal(id, address.ToString());
        Assert.Equal(address, ReplicaAddress.Parse(id));
        Assert.Equal(host.Contains(':', StringComparison.Ordinal), address.IsIPv6);
    }

    [Fact]
    public void Names_and_addresses_are_never_resolved_so_loopback_spellings_differ()
    {
        var ids = new[] { "localhost:8083", "127.0.0.1:8083", "[::1]:8083", "[::ffff:127.0.0.1]:8083" }.Select(t => ReplicaAddress.Parse(t).Id);
        Assert.Equal(4, ids.Distinct().Count());
    }

    [Theory]
    [InlineData("replica1", "expected host:port, e.g. replica1.example.com:8083 or [::1]:8083")]
    [InlineData("replica1:", "the port is missing; expected host:port, e.g. replica1.example.com:8083 or [::1]:8083")]
    [InlineData(":8083", "the host is missing; expected host:port, e.g. replica1.example.com:8083 or [::1]:8083")]
    [InlineData("a:0", "port 0 is not a number from 1 to 65535")]
    [InlineData("a:65536", "port 65536 is not a number from 1 to 65535")]
    [InlineData("a:-1", "port -1 is not a number from 1 to 65535")]
    [InlineData("a:+80", "port +80 is not a number from 1 to 65535")]
    [InlineData("a:80a", "port 80a is not a number from 1 to 65535")]
    [InlineData("a:99999999999", "port 99999999999 is not a number from 1 to 65535")]
    [InlineData("::1:8083", "an IPv6 address must be written in brackets, e.g. [::1]:8083")]
    [InlineData("[::1:8083", "the IPv6 address has no closing ']'; expected [address]:port, e.g. [::1]:8083")]
    [InlineData("[::1]", "expected :port after [::1], e.g. [::1]:8083")]
    [InlineData("[::1]8083", "expected :port after [::1], e.g. [::1]:8083")]
    [InlineData("[]:8083", "host [] is not an IPv6 address; write an IPv4 address without brackets")]
    [InlineData("[10.0.0.1]:8083", "host [10.0.0.1] is not an IPv6 address; write an IPv4 address without brackets")]
    [InlineData("[replica1]:8083", "host [replica1] is not an IPv6 address")]
    [InlineData("[::1/64]:8083", "host [::1/64] is not an IPv6 address")]
    [InlineData("10.1:8083", "host 10.1 is not an IPv4 address (four numbers from 0 to 255 without leading zeros, e.g. 10.0.0.7) nor a DNS name")]
    [InlineData("256.0.0.1:8083", "host 256.0.0.1 is not an IPv4 address (four numbers from 0 to 255 without leading zeros, e.g. 10.0.0.7) nor a DNS name")]
    [InlineData("010.0.0.1:8083", "host 010.0.0.1 is not an IPv4 address (four numbers from 0 to 255 without leading zeros, e.g. 10.0.0.7) nor a DNS name")]
    [InlineData("1.2.3.4.5:8083", "host 1.2.3.4.5 is not an IPv4 address (four numbers from 0 to 255 without leading zeros, e.g. 10.0.0.7) nor a DNS name")]
    [InlineData("a..b:8083", "host a..b is not a DNS name: it has an empty label (two dots in a row, or a dot at either end)")]
    [InlineData("replica1.:8083", "host replica1. is not a DNS name: it has an empty label (two dots in a row, or a dot at either end)")]
    [InlineData("-a:8083", "host -a is neither a DNS name nor an IP address: its label '-a' may hold only letters, digits and '-', and may not start or end with '-'")]
    [InlineData("a_b.example.com:8083", "host a_b.example.com is neither a DNS name nor an IP address: its label 'a_b' may hold only letters, digits and '-', and may not start or end with '-'")]
    [InlineData("my host:8083", "host my host is neither a DNS name nor an IP address: its label 'my host' may hold only letters, digits and '-', and may not start or end with '-'")]
    [InlineData("rëplica:8083", "host rëplica is neither a DNS name nor an IP address: its label 'rëplica' may hold only letters, digits and '-', and may not start or end with '-'")]
    public void Bad_addresses_name_the_bad_part(string text, string problem)
    {
        Assert.False(ReplicaAddress.TryParse(text, out var address, out var found));
        Assert.Null(address);
        Assert.Equal(problem, found);
        Assert.Equal($"\"{text}\": {problem}", Assert.Throws<FormatException>(() => ReplicaAddress.Parse(text)).Message);
    }

    [Fact]
    public void Labels_and_names_have_dns_lengths()
    {
        var label63 = new string('a', 63);
        Assert.True(ReplicaAddress.TryParse($"{label63}.example.com:1", out _, out _));
        Assert.False(ReplicaAddress.TryParse($"{label63}a.example.com:1", out _, out var labelProblem));
        Assert.Equal($"host {label63[..37]}... is not a DNS name: its label {label63[..37]}... is longer than 63 characters", labelProblem);

        var name253 = string.Join(".", Enumerable.Repeat(label63, 3)) + "." + new string('b', 61);
        Assert.Equal(253, name253.Length);
        Assert.True(ReplicaAddress.TryParse($"{name253}:1", out _, out _));
        Assert.False(ReplicaAddress.TryParse($"{name253}b:1", out _, out var nameProblem));
        Assert.Equal($"host {name253[..37]}... is longer than 253 characters, the most a DNS name may have", nameProblem);
    }

    [Theory]
    [InlineData("Replica1.Example.com", "replica1.example.com")]
    [InlineData("::1", "::1")]
    [InlineData("[::1]", "::1")]
    [InlineData("10.0.0.7", "10.0.0.7")]
    public void A_host_alone_parses_to_the_same_spelling(string text, string host)
    {
        Assert.True(ReplicaAddress.TryParseHost(text, out var parsed, out var problem), problem);
        Assert.Equal(host, parsed);
    }
}
