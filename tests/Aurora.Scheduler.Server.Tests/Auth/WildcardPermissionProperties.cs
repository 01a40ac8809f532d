using Aurora.Scheduler.Server.Auth;

namespace Aurora.Scheduler.Server.Tests.Auth;

/// <summary>
/// Laws of Shiro's implication over seeded random permissions. A failure names the seed and the
/// permissions, so it can be kept as a named case in <see cref="WildcardPermissionTests"/>.
/// </summary>
public class WildcardPermissionProperties
{
    private const int Cases = 2000;

    // A small alphabet so that random permissions overlap often enough for implication to be interesting.
    private static readonly string[] Names = ["*", "a", "B", "c", "thrift.AuroraAdmin", "setQuota", "SETQUOTA"];

    [Fact]
    public void Every_permission_implies_itself_and_its_equal() => ForAll(1, random =>
    {
        var text = RandomPermission(random);
        var permission = WildcardPermission.Parse(text);
        Assert.True(permission.Implies(permission), text);
        Assert.True(permission.Implies(WildcardPermission.Parse(text.ToUpperInvariant())), text);
    });

    [Fact]
    public void Star_implies_everything() => ForAll(2, random =>
    {
        var star = WildcardPermission.Parse("*");
        var text = RandomPermission(random);
        Assert.True(star.Implies(WildcardPermission.Parse(text)), text);
    });

    [Fact]
    public void A_prefix_implies_every_permission_it_starts() => ForAll(3, random =>
    {
        var text = RandomPermission(random);
        var parts = text.Split(':');
        var prefix = string.Join(':', parts.Take(random.Next(1, parts.Length + 1)));
        Assert.True(WildcardPermission.Parse(prefix).Implies(WildcardPermission.Parse(text)), $"{prefix} => {text}");
    });

    [Fact]
    public void Implication_is_transitive() => ForAll(4, random =>
    {
        var (a, b, c) = (RandomPermission(random), RandomPermission(random), RandomPermission(random));
        var (pa, pb, pc) = (WildcardPermission.Parse(a), WildcardPermission.Parse(b), WildcardPermission.Parse(c));
        if (pa.Implies(pb) && pb.Implies(pc))
        {
            Assert.True(pa.Implies(pc), $"{a} => {b} => {c}");
        }
    });

    [Fact]
    public void Permissions_that_imply_each_other_without_stars_are_equal() => ForAll(5, random =>
    {
        var (a, b) = (RandomPermission(random, stars: false), RandomPermission(random, stars: false));
        var (pa, pb) = (WildcardPermission.Parse(a), WildcardPermission.Parse(b));
        if (pa.Implies(pb) && pb.Implies(pa))
        {
            Assert.Equal(pa, pb);
        }
    });

    [Fact]
    public void Removing_a_sub_part_from_the_holder_never_grants_more() => ForAll(6, random =>
    {
        var (held, wanted) = (RandomPermission(random), RandomPermission(random));
        var parts = held.Split(':');
        var index = random.Next(parts.Length);
        var subparts = parts[index].Split(',');
        if (subparts.Length < 2)
        {
            return;
        }

        parts[index] = string.Join(',', subparts.Skip(1));
        var narrower = string.Join(':', parts);
        if (WildcardPermission.Parse(narrower).Implies(WildcardPermission.Parse(wanted)))
        {
            Assert.True(WildcardPermission.Parse(held).Implies(WildcardPermission.Parse(wanted)), $"{narrower} grants {wanted} but {held} does not");
        }
    });

    private static void ForAll(int seed, Action<Random> property)
    {
        var random = new Random(seed);
        for (var i = 0; i < Cases; i++)
        {
            try
            {
                property(random);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidOperationException($"Property failed at seed {seed}, case {i}: {e.Message}", e);
            }
        }
    }

    private static string RandomPermission(Random random, bool stars = true)
    {
        var names = stars ? Names : Names.Where(n => n != "*").ToArray();
        var parts = Enumerable.Range(0, random.Next(1, 5))
            .Select(_ => string.Join(',', Enumerable.Range(0, random.Next(1, 3)).Select(_ => names[random.Next(names.Length)])));
        return string.Join(':', parts);
    }
}
