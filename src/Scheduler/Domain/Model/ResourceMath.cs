using System.Globalization;
using Aurora.Scheduler.Protos;

namespace Aurora.Scheduler.Model;

/// <summary>Arithmetic on the quota resources (CPU, RAM, disk); ports and GPUs never count against quota.</summary>
public static class ResourceMath
{
    public static Resources Zero => new();

    public static Resources Add(Resources a, Resources b) => new()
    {
        NumCpus = a.NumCpus + b.NumCpus,
        RamMb = a.RamMb + b.RamMb,
        DiskMb = a.DiskMb + b.DiskMb,
    };

    public static Resources Scale(Resources r, long factor) => new()
    {
        NumCpus = r.NumCpus * factor,
        RamMb = r.RamMb * factor,
        DiskMb = r.DiskMb * factor,
    };

    public static Resources Max(Resources a, Resources b) => new()
    {
        NumCpus = Math.Max(a.NumCpus, b.NumCpus),
        RamMb = Math.Max(a.RamMb, b.RamMb),
        DiskMb = Math.Max(a.DiskMb, b.DiskMb),
    };

    public static bool AnyNegative(Resources r) => r.NumCpus < 0 || r.RamMb < 0 || r.DiskMb < 0;

    /// <summary>Each quota resource of <paramref name="use"/> beyond <paramref name="limit"/>, in Aurora's words ("CPU quota exceeded by 2.00 core(s)"), joined with "; ".</summary>
    public static string? Excess(Resources use, Resources limit)
    {
        var parts = new List<string>(3);
        // A tolerance keeps sums of fractional CPUs (0.1 + 0.2) from failing on rounding alone.
        if (use.NumCpus - limit.NumCpus > 1e-9)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"CPU quota exceeded by {use.NumCpus - limit.NumCpus:F2} core(s)"));
        }

        if (use.RamMb > limit.RamMb)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"RAM quota exceeded by {use.RamMb - limit.RamMb:F2} MB"));
        }

        if (use.DiskMb > limit.DiskMb)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"disk quota exceeded by {use.DiskMb - limit.DiskMb:F2} MB"));
        }

        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    /// <summary><c>ResourceAggregate(numCpus:2.0, ramMb:1024, diskMb:2048)</c>, as Aurora prints a quota.</summary>
    public static string Describe(Resources r) =>
        string.Create(CultureInfo.InvariantCulture, $"ResourceAggregate(numCpus:{r.NumCpus:0.0##}, ramMb:{r.RamMb}, diskMb:{r.DiskMb})");
}
