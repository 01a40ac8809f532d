using System.Diagnostics;
using Aurora.Testing.Linearizability;
using Xunit.Abstractions;

namespace Aurora.Replication.Tests.Linearizability;

/// <summary>Time and depth: the timeout, long histories, and what typical histories cost.</summary>
public class CheckerLimitsTests(ITestOutputHelper output)
{
    /// <summary>Concurrent writes of distinct values, then a read of a value none wrote: refuting it means trying every subset of the writes.</summary>
    private static Operation<RegisterInput, RegisterOutput>[] Hopeless(int writes) =>
        [.. Enumerable.Range(1, writes).Select(v => Reg.Write(v, v, 0, 100)), Reg.Read(0, -1, 200, 300)];

    [Fact]
    public void A_search_that_runs_out_of_time_says_unknown_with_the_longest_prefix_so_far()
    {
        var result = LinearizabilityChecker.Check(new RegisterModel(), Hopeless(40), TimeSpan.FromMilliseconds(200));

        Assert.Equal(LinearizabilityVerdict.Unknown, result.Verdict);
        Assert.False(result.IsLinearizable);
        Assert.InRange(result.Elapsed, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30));
        Assert.Equal(40, result.Linearization.Count);
        Assert.StartsWith("linearizability unknown: the check timed out after", result.Report, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_search_without_a_timeout_finishes_when_small()
    {
        var result = LinearizabilityChecker.Check(new RegisterModel(), Hopeless(10));

        Assert.Equal(LinearizabilityVerdict.NotLinearizable, result.Verdict);
        Assert.Equal(10, result.Linearization.Count);
        Assert.Equal(-1, Assert.Single(result.Unplaced).Output!.Value);
    }

    [Fact]
    public void A_long_sequential_history_is_searched_without_recursion()
    {
        // 50,000 operations one after another: the search is 50,000 deep, on its own stack.
        var history = Enumerable.Range(0, 25_000)
            .SelectMany(i => new[] { Reg.Write(1, i, 4L * i, (4L * i) + 1), Reg.Read(2, i, (4L * i) + 2, (4L * i) + 3) })
            .ToList();

        var result = LinearizabilityChecker.Check(new RegisterModel(), history, TimeSpan.FromMinutes(1));

        Assert.True(result.IsLinearizable, result.Report);
        Assert.Equal(history.Count, result.Linearization.Count);
    }

    [Fact]
    public void A_long_log_history_with_a_stale_read_at_the_end_is_refuted_without_recursion()
    {
        var history = Enumerable.Range(1, 5_000)
            .Select(i => Log.Append(i % 4, (ulong)i, 10L * i, (10L * i) + 15, (ulong)i))
            .Append(Log.Read(9, 100_000, 100_010, [.. Enumerable.Range(1, 4_999).Select(i => (ulong)i)]))
            .ToList();

        var result = ReplicatedLogModel.Check(history, TimeSpan.FromMinutes(1));

        Assert.Equal(LinearizabilityVerdict.NotLinearizable, result.Verdict);
        Assert.Equal(5_000, result.Linearization.Count);
        Assert.Contains("the read misses positions 5000 to 5000", result.Report, StringComparison.Ordinal);
    }

    [Fact]
    public void Typical_log_histories_check_in_milliseconds()
    {
        // Warm up the JIT so the first measurement is of the search.
        ReplicatedLogModel.Check(GeneratedHistories.Log(new(1, 200, 5, 30, 5, 20)));

        foreach (var (operations, clients) in new[] { (200, 5), (2_000, 5), (2_000, 16) })
        {
            var times = new List<double>();
            var mutatedTimes = new List<double>();
            long steps = 0;
            for (var seed = 0; seed < 3; seed++)
            {
                var spec = new GeneratedHistories.Spec(seed, operations, clients, ReadPercent: 30, UnknownPercent: 5, MaxLatency: 20);
                var history = GeneratedHistories.Log(spec);
                var clock = Stopwatch.StartNew();
                var result = ReplicatedLogModel.Check(history, TimeSpan.FromSeconds(60));
                times.Add(clock.Elapsed.TotalMilliseconds);
                steps = Math.Max(steps, result.Steps);
                Assert.True(result.IsLinearizable, $"{spec}\n{result.Report}");

                var mutated = Mutations.Apply(history, Mutations.LogMutation.StaleRead, new Random(seed))!.Value.History;
                clock.Restart();
                var refuted = ReplicatedLogModel.Check(mutated, TimeSpan.FromSeconds(60));
                mutatedTimes.Add(clock.Elapsed.TotalMilliseconds);
                Assert.Equal(LinearizabilityVerdict.NotLinearizable, refuted.Verdict);
            }

            times.Sort();
            mutatedTimes.Sort();
            output.WriteLine(
                $"{operations} operations, {clients} clients, 30% reads, 5% unknown: linearizable in median {times[1]:F1} ms (max {times[^1]:F1}, "
                + $"at most {steps} steps); with one stale read refuted in median {mutatedTimes[1]:F1} ms (max {mutatedTimes[^1]:F1})");
            Assert.True(times[^1] < 20_000, $"{operations} operations took {times[^1]} ms");
        }
    }
}
