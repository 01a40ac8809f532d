using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Testing.Faults;

namespace Aurora.Storage.Tests.Log;

/// <summary>
/// A deterministic, seeded sequence of append requests (single entries and batches, empty to
/// several chunks long, some bigger than a whole segment, terms that sometimes rise). Every call
/// to <see cref="Requests"/> builds fresh entry objects, since the log takes ownership of them.
/// </summary>
public sealed class Workload(int seed, int requestCount = 24)
{
    public int Seed { get; } = seed;

    public List<List<LogEntry>> Requests()
    {
        var random = new Random(Seed);
        var term = 1UL;
        var requests = new List<List<LogEntry>>();
        for (var r = 0; r < requestCount; r++)
        {
            var batch = new List<LogEntry>();
            var count = random.Next(4) == 0 ? random.Next(2, 4) : 1;
            for (var i = 0; i < count; i++)
            {
                term += random.Next(6) == 0 ? 1UL : 0UL;
                var size = random.Next(10) switch
                {
                    0 => 0,
                    < 5 => random.Next(1, 300),
                    < 8 => random.Next(300, 1200),
                    8 => random.Next(1200, 3500),
                    _ => random.Next(8000, 10000),
                };
                var kind = random.Next(3) == 0 ? PayloadKind.Text : PayloadKind.Random;
                batch.Add(LogKit.Entry($"w{Seed}-{r}-{i}", size, kind, LogKit.Principals[random.Next(LogKit.Principals.Length)], term, seed: random.Next()));
            }

            requests.Add(batch);
        }

        return requests;
    }

    /// <summary>Runs the workload without faults and returns the file-system operations it made.</summary>
    public static async Task<IReadOnlyList<FsOperation>> DryRunAsync(Workload workload, Func<SimulatedFileSystem, LogOptions> options)
    {
        var fs = new SimulatedFileSystem(workload.Seed);
        using (var log = SegmentedLog.Open(options(fs)))
        {
            foreach (var request in workload.Requests())
            {
                await log.AppendAsync(request);
            }
        }

        return fs.History;
    }

    /// <summary>
    /// For each operation matching <paramref name="match"/>, in order: whether a rename (a segment
    /// roll) follows it, i.e. whether the log ever used what that operation prepared.
    /// </summary>
    public static List<bool> FollowedByRoll(IReadOnlyList<FsOperation> history, Func<FsOperation, bool> match)
    {
        var lastRename = history.Select((op, i) => (op, i)).LastOrDefault(x => x.op.Kind == FsOperationKind.Rename, (default, -1)).Item2;
        return history.Select((op, i) => (op, i)).Where(x => match(x.op)).Select(x => x.i < lastRename).ToList();
    }
}
