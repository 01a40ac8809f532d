using Range = Aurora.Scheduler.Protos.Range;

namespace Aurora.Scheduler.Model;

/// <summary>Instance ids as closed ranges, the way Aurora's update instructions carry them.</summary>
public static class Ranges
{
    /// <summary>The fewest closed ranges covering exactly <paramref name="instances"/>, ascending.</summary>
    public static List<Range> Of(IEnumerable<int> instances)
    {
        var ranges = new List<Range>();
        foreach (var instance in instances.Distinct().Order())
        {
            if (ranges.Count > 0 && ranges[^1].Last == instance - 1)
            {
                ranges[^1].Last = instance;
            }
            else
            {
                ranges.Add(new Range { First = instance, Last = instance });
            }
        }

        return ranges;
    }

    /// <summary>Every instance id the ranges cover.</summary>
    public static HashSet<int> Expand(IEnumerable<Range> ranges)
    {
        var instances = new HashSet<int>();
        foreach (var range in ranges)
        {
            for (var i = range.First; i <= range.Last; i++)
            {
                instances.Add(i);
            }
        }

        return instances;
    }
}
