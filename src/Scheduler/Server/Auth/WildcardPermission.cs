namespace Aurora.Scheduler.Server.Auth;

/// <summary>
/// A permission in Apache Shiro's wildcard syntax, as Aurora writes them: parts separated by <c>:</c>,
/// each part a set of sub-parts separated by <c>,</c>, where <c>*</c> matches anything
/// (<c>thrift.AuroraSchedulerManager:createJob,killTasks:webapp</c>).
/// </summary>
/// <remarks>
/// <para>
/// Matching follows Shiro's <c>WildcardPermission.implies</c>: part by part, a held part implies the
/// wanted one when it contains <c>*</c> or every wanted sub-part; a held permission with fewer parts
/// implies everything below it (<c>thrift.AuroraAdmin</c> implies <c>thrift.AuroraAdmin:setQuota</c>);
/// one with more parts implies a shorter one only if each extra part contains <c>*</c>. A <c>*</c> in the
/// wanted permission is an ordinary sub-part: <c>a:b</c> does not imply <c>a:*</c>.
/// </para>
/// <para>
/// Case-insensitive, as Shiro's <c>WildcardPermission(String)</c> is by default (it lower-cases the
/// whole string), so <c>thrift.AuroraAdmin:SetQuota</c> and <c>thrift.auroraadmin:setquota</c> are the
/// same permission. <see cref="Text"/> keeps the spelling it was written with, for messages.
/// </para>
/// <para>
/// Stricter than Shiro where Shiro silently accepts a permission that can never match what was meant:
/// empty parts or sub-parts (<c>a::b</c>, <c>a:b,</c>, a trailing <c>:</c>) and whitespace inside the
/// permission (Shiro keeps <c>" b"</c> as a sub-part with its space) are refused with a
/// <see cref="FormatException"/> that says why.
/// </para>
/// <para>Immutable and safe to share between threads.</para>
/// </remarks>
internal sealed class WildcardPermission : IEquatable<WildcardPermission>
{
    public const string Wildcard = "*";
    public const char PartDivider = ':';
    public const char SubpartDivider = ',';

    // Each part's sub-parts lower-cased, distinct and sorted ordinally, so equality is a sequence
    // comparison and a sub-part lookup is a binary search.
    private readonly string[][] _parts;

    private WildcardPermission(string text, string[][] parts)
    {
        Text = text;
        _parts = parts;
        Parts = Array.AsReadOnly(parts.Select(p => (IReadOnlyList<string>)Array.AsReadOnly(p)).ToArray());
    }

    /// <summary>The permission as written (trimmed), for messages.</summary>
    public string Text { get; }

    /// <summary>The parts in order, each its distinct sub-parts lower-cased and sorted.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Parts { get; }

    /// <exception cref="FormatException">The text is empty or has an empty part, an empty sub-part or whitespace inside it; the message says which.</exception>
    public static WildcardPermission Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var permission, out var error) ? permission : throw new FormatException(error);
    }

    /// <summary>Parses <paramref name="text"/>, or says in <paramref name="error"/> why it is not a permission.</summary>
    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out WildcardPermission? permission, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        permission = null;
        var trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            error = "A permission cannot be empty.";
            return false;
        }

        if (trimmed.Any(char.IsWhiteSpace))
        {
            error = $"Permission '{trimmed}' contains whitespace; write it without spaces (Shiro would keep them as part of the name, so it could never match).";
            return false;
        }

        var rawParts = trimmed.Split(PartDivider);
        var parts = new string[rawParts.Length][];
        for (var i = 0; i < rawParts.Length; i++)
        {
            if (rawParts[i].Length == 0)
            {
                error = $"Permission '{trimmed}' has an empty part (part {i + 1}); parts are separated by a single ':'.";
                return false;
            }

            var subparts = rawParts[i].Split(SubpartDivider);
            if (subparts.Any(s => s.Length == 0))
            {
                error = $"Permission '{trimmed}' has an empty sub-part in part {i + 1} ('{rawParts[i]}'); sub-parts are separated by a single ','.";
                return false;
            }

            parts[i] = subparts
                .Select(s => s.ToLowerInvariant())
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
                .ToArray();
        }

        permission = new WildcardPermission(trimmed, parts);
        error = null;
        return true;
    }

    /// <summary>True when holding this permission grants <paramref name="other"/> (Shiro's <c>implies</c>).</summary>
    public bool Implies(WildcardPermission other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var shared = Math.Min(_parts.Length, other._parts.Length);
        for (var i = 0; i < shared; i++)
        {
            var held = _parts[i];
            if (!IsWildcard(held) && !other._parts[i].All(wanted => Contains(held, wanted)))
            {
                return false;
            }
        }

        // Parts beyond the other's end must each allow anything; parts beyond ours are implied.
        for (var i = shared; i < _parts.Length; i++)
        {
            if (!IsWildcard(_parts[i]))
            {
                return false;
            }
        }

        return true;
    }

    public bool Equals(WildcardPermission? other) =>
        other is not null && _parts.Length == other._parts.Length && _parts.Zip(other._parts).All(p => p.First.AsSpan().SequenceEqual(p.Second));

    public override bool Equals(object? obj) => Equals(obj as WildcardPermission);

    public override int GetHashCode()
    {
        var hash = default(HashCode);
        foreach (var part in _parts)
        {
            foreach (var subpart in part)
            {
                hash.Add(subpart, StringComparer.Ordinal);
            }

            hash.Add(PartDivider);
        }

        return hash.ToHashCode();
    }

    public override string ToString() => Text;

    private static bool IsWildcard(string[] part) => Contains(part, Wildcard);

    private static bool Contains(string[] part, string subpart) => Array.BinarySearch(part, subpart, StringComparer.Ordinal) >= 0;
}
