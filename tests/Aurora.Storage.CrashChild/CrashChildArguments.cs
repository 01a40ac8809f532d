using System.Globalization;
using Aurora.Storage.Log;

namespace Aurora.Storage.CrashChild;

/// <summary>The crash child's command line, built by the test and parsed by the child.</summary>
public sealed record CrashChildArguments
{
    /// <summary>The log directory (<see cref="LogOptions.Directory"/>).</summary>
    public required string Directory { get; init; }

    public required int Seed { get; init; }

    /// <summary>1-based; also the term of every entry this run appends.</summary>
    public required int Round { get; init; }

    public int Writers { get; init; } = 4;

    public long SegmentSize { get; init; } = 256 << 10;

    public int MaxEntrySize { get; init; } = 4096;

    public CompressionCodec Compression { get; init; } = CompressionCodec.None;

    /// <summary>A cap so that a child the test forgot to kill still stops on its own.</summary>
    public int MaxEntriesPerWriter { get; init; } = 5000;

    /// <summary>Write the active segment page by page (<see cref="PageSplittingFileSystem"/>) so kills tear writes.</summary>
    public bool SplitWritesAtPages { get; init; }

    /// <summary>When set, segment fdatasyncs after this many successful ones fail with EIO.</summary>
    public int? FailSyncAfter { get; init; }

    /// <summary>The log options the child opens with; verifiers open the same way.</summary>
    public LogOptions LogOptions => new()
    {
        Directory = Directory,
        SegmentSize = SegmentSize,
        MaxEntrySize = MaxEntrySize,
        Compression = Compression,
        CompressionMinBytes = 256,
    };

    public IReadOnlyList<string> ToArgs()
    {
        var args = new List<string>
        {
            "--dir", Directory,
            "--seed", Format(Seed),
            "--round", Format(Round),
            "--writers", Format(Writers),
            "--segment-size", Format(SegmentSize),
            "--max-entry-size", Format(MaxEntrySize),
            "--compression", Compression.ToString(),
            "--max-entries-per-writer", Format(MaxEntriesPerWriter),
            "--split-writes-at-pages", SplitWritesAtPages ? "true" : "false",
        };
        if (FailSyncAfter is { } failAfter)
        {
            args.AddRange(["--fail-sync-after", Format(failAfter)]);
        }

        return args;
    }

    public static CrashChildArguments Parse(IReadOnlyList<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count)
            {
                throw new ArgumentException($"expected '--name value' pairs, got '{string.Join(' ', args)}'");
            }

            values[args[i][2..]] = args[i + 1];
        }

        string Required(string name) =>
            values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"--{name} is required");

        return new CrashChildArguments
        {
            Directory = Required("dir"),
            Seed = int.Parse(Required("seed"), CultureInfo.InvariantCulture),
            Round = int.Parse(Required("round"), CultureInfo.InvariantCulture),
            Writers = int.Parse(Required("writers"), CultureInfo.InvariantCulture),
            SegmentSize = long.Parse(Required("segment-size"), CultureInfo.InvariantCulture),
            MaxEntrySize = int.Parse(Required("max-entry-size"), CultureInfo.InvariantCulture),
            Compression = Enum.Parse<CompressionCodec>(Required("compression")),
            MaxEntriesPerWriter = int.Parse(Required("max-entries-per-writer"), CultureInfo.InvariantCulture),
            SplitWritesAtPages = bool.Parse(Required("split-writes-at-pages")),
            FailSyncAfter = values.TryGetValue("fail-sync-after", out var failAfter)
                ? int.Parse(failAfter, CultureInfo.InvariantCulture)
                : null,
        };
    }

    private static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}
