using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Aurora.Replication.Membership;

/// <summary>
/// Where a replica listens for its peers: a host and a port, as written in
/// <c>-native_log_replicas</c> (<c>replica1.example.com:8083</c>, <c>10.0.0.7:8083</c>,
/// <c>[::1]:8083</c>). Its <see cref="Id"/> is the replica's name on the wire and in
/// <c>replica.meta</c>.
/// </summary>
/// <remarks>
/// <para>
/// The host is kept in one canonical spelling so that two spellings of one address compare equal:
/// a DNS name in lower case (DNS names are case-insensitive), an IPv4 address as a dotted quad, an
/// IPv6 address as <see cref="IPAddress.ToString"/> writes it (compressed, lower case). Nothing is
/// resolved: <c>localhost</c>, <c>127.0.0.1</c> and <c>[::1]</c> are three different hosts, and a
/// name is never equal to its address. A replica is named the same way in every replica's list, so
/// literal comparison is what keeps ids identical across the cluster.
/// </para>
/// <para>
/// Refused: an IPv6 address without brackets (<c>::1:8083</c> is ambiguous), brackets around anything
/// but an IPv6 address, digits-and-dots that are not four numbers from 0 to 255 without leading zeros
/// (<c>10.1</c>, <c>010.0.0.1</c>: resolvers read those in surprising ways), DNS names with labels
/// that are empty, longer than 63 characters or hold anything but letters, digits and inner hyphens,
/// names longer than 253 characters, and ports outside 1-65535.
/// </para>
/// <para>Immutable; safe to share between threads.</para>
/// </remarks>
public sealed record ReplicaAddress
{
    /// <summary>The lowest port a replica may listen on.</summary>
    public const int MinPort = 1;

    /// <summary>The highest port a replica may listen on.</summary>
    public const int MaxPort = 65535;

    /// <summary>What a replica address looks like, for messages.</summary>
    public const string Example = "replica1.example.com:8083 or [::1]:8083";

    private const int MaxNameLength = 253;
    private const int MaxLabelLength = 63;

    private ReplicaAddress(string host, int port, bool isIPv6)
    {
        Host = host;
        Port = port;
        IsIPv6 = isIPv6;
        Id = isIPv6
            ? string.Create(CultureInfo.InvariantCulture, $"[{host}]:{port}")
            : string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");
    }

    /// <summary>The host in its canonical spelling; an IPv6 address without brackets.</summary>
    public string Host { get; }

    public int Port { get; }

    /// <summary>True when <see cref="Host"/> is an IPv6 address (bracketed in <see cref="Id"/>).</summary>
    public bool IsIPv6 { get; }

    /// <summary>The canonical <c>host:port</c> (<c>[host]:port</c> for IPv6): the replica's id.</summary>
    public string Id { get; }

    /// <summary>Parses <c>host:port</c> or <c>[ipv6]:port</c>.</summary>
    /// <param name="text">The address; surrounding white space is ignored.</param>
    /// <param name="address">The address, when it parses.</param>
    /// <param name="problem">Otherwise what is wrong, in a phrase that names the bad part (without the flag or the text itself).</param>
    public static bool TryParse(string text, [NotNullWhen(true)] out ReplicaAddress? address, [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        address = null;
        text = text.Trim();
        string hostText;
        string portText;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                problem = "the IPv6 address has no closing ']'; expected [address]:port, e.g. [::1]:8083";
                return false;
            }

            if (close + 1 >= text.Length || text[close + 1] != ':')
            {
                problem = $"expected :port after {text[..(close + 1)]}, e.g. [::1]:8083";
                return false;
            }

            hostText = text[..(close + 1)];
            portText = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                problem = $"expected host:port, e.g. {Example}";
                return false;
            }

            hostText = text[..colon];
            portText = text[(colon + 1)..];
            if (hostText.Contains(':', StringComparison.Ordinal))
            {
                problem = "an IPv6 address must be written in brackets, e.g. [::1]:8083";
                return false;
            }
        }

        if (!TryParsePort(portText, out var port, out problem) || !TryParseHost(hostText, out var host, out var isIPv6, out problem))
        {
            return false;
        }

        address = new ReplicaAddress(host, port, isIPv6);
        return true;
    }

    /// <summary>As <see cref="TryParse"/>, throwing <see cref="FormatException"/> with the problem.</summary>
    public static ReplicaAddress Parse(string text) =>
        TryParse(text, out var address, out var problem) ? address : throw new FormatException($"\"{text}\": {problem}");

    /// <summary>
    /// Parses a host alone (as <c>-hostname</c> gives it) into the canonical spelling
    /// <see cref="Host"/> uses; an IPv6 address may come with or without brackets.
    /// </summary>
    public static bool TryParseHost(string text, [NotNullWhen(true)] out string? host, [NotNullWhen(false)] out string? problem)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (!text.StartsWith('[') && text.Contains(':', StringComparison.Ordinal))
        {
            text = $"[{text}]";
        }

        return TryParseHost(text, out host, out _, out problem);
    }

    /// <summary>The <see cref="Id"/>.</summary>
    public override string ToString() => Id;

    private static bool TryParsePort(string text, out int port, [NotNullWhen(false)] out string? problem)
    {
        port = 0;
        if (text.Length == 0)
        {
            problem = $"the port is missing; expected host:port, e.g. {Example}";
            return false;
        }

        if (!text.All(char.IsAsciiDigit)
            || !int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port)
            || port is < MinPort or > MaxPort)
        {
            problem = $"port {text} is not a number from {MinPort} to {MaxPort}";
            return false;
        }

        problem = null;
        return true;
    }

    private static bool TryParseHost(string text, [NotNullWhen(true)] out string? host, out bool isIPv6, [NotNullWhen(false)] out string? problem)
    {
        host = null;
        isIPv6 = false;
        if (text.Length == 0)
        {
            problem = $"the host is missing; expected host:port, e.g. {Example}";
            return false;
        }

        if (text.StartsWith('['))
        {
            var inner = text.Length >= 2 && text.EndsWith(']') ? text[1..^1] : text[1..];
            if (!text.EndsWith(']') || inner.Any(c => c is '[' or ']' or '/' || char.IsWhiteSpace(c))
                || !IPAddress.TryParse(inner, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
            {
                problem = inner.All(c => char.IsAsciiDigit(c) || c == '.')
                    ? $"host {text} is not an IPv6 address; write an IPv4 address without brackets"
                    : $"host {text} is not an IPv6 address";
                return false;
            }

            host = address.ToString();
            isIPv6 = true;
            problem = null;
            return true;
        }

        if (text.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            return TryParseIPv4(text, out host, out problem);
        }

        return TryParseName(text, out host, out problem);
    }

    private static bool TryParseIPv4(string text, [NotNullWhen(true)] out string? host, [NotNullWhen(false)] out string? problem)
    {
        host = null;
        var parts = text.Split('.');
        var valid = parts.Length == 4 && parts.All(p =>
            p.Length is >= 1 and <= 3
            && (p.Length == 1 || p[0] != '0')
            && int.Parse(p, NumberStyles.None, CultureInfo.InvariantCulture) <= 255);
        if (!valid)
        {
            problem = $"host {text} is not an IPv4 address (four numbers from 0 to 255 without leading zeros, e.g. 10.0.0.7) nor a DNS name";
            return false;
        }

        host = text;
        problem = null;
        return true;
    }

    private static bool TryParseName(string text, [NotNullWhen(true)] out string? host, [NotNullWhen(false)] out string? problem)
    {
        host = null;
        if (text.Length > MaxNameLength)
        {
            problem = $"host {Shorten(text)} is longer than {MaxNameLength} characters, the most a DNS name may have";
            return false;
        }

        foreach (var label in text.Split('.'))
        {
            if (label.Length == 0)
            {
                problem = $"host {text} is not a DNS name: it has an empty label (two dots in a row, or a dot at either end)";
                return false;
            }

            if (label.Length > MaxLabelLength)
            {
                problem = $"host {Shorten(text)} is not a DNS name: its label {Shorten(label)} is longer than {MaxLabelLength} characters";
                return false;
            }

            if (!label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') || label[0] == '-' || label[^1] == '-')
            {
                problem = $"host {text} is neither a DNS name nor an IP address: its label '{label}' may hold only letters, digits and '-', and may not start or end with '-'";
                return false;
            }
        }

        host = text.ToLowerInvariant();
        problem = null;
        return true;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : $"{text[..37]}...";
}
