using Aurora.Storage.CrashChild;
using Aurora.Storage.Log;

namespace Aurora.Storage.Tests.Process;

/// <summary>What a verified log looked like, to compare with what the next child recovers.</summary>
internal sealed record VerifiedLog(ulong LastDurablePosition, TornTail? TornTail, int SegmentCount);

/// <summary>Opens a log the crash children wrote and checks everything they acknowledged is there, intact.</summary>
internal static class CrashLogVerifier
{
    /// <summary>
    /// Checks: the log starts at position 1 and is contiguous; every entry in it, acknowledged or not,
    /// is byte for byte one the children generated, and each writer's entries of a round appear in
    /// order without gaps or duplicates (a writer appends only after its previous append returned, so
    /// a later entry cannot survive without the earlier ones); every acknowledged position holds exactly
    /// the acknowledged entry; a torn tail lies in the last segment, past all durable data.
    /// </summary>
    public static VerifiedLog Verify(LogOptions options, AckLedger ledger, int seed, string context)
    {
        void Check(bool condition, string problem)
        {
            if (!condition)
            {
                Assert.Fail($"{context}: {problem} (log at {options.Directory})");
            }
        }

        using var log = SegmentedLog.Open(options);
        var last = log.LastDurablePosition;
        Check(log.FirstRetainedPosition == 1, $"the log starts at position {log.FirstRetainedPosition}, not 1");
        var entries = log.Read(1).ToList();
        Check((ulong)entries.Count == last, $"reading from position 1 returned {entries.Count} entries, the log ends at {last}");

        var nextSequence = new Dictionary<(int Round, int Writer), long>();
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            Check(entry.Position == (ulong)i + 1, $"entry {i} of the log has position {entry.Position}: the log is not contiguous");
            Check(CrashWorkload.TryIdentify(entry, out var id, out var problem), $"position {entry.Position} holds an entry no child wrote: {problem}");
            Check(id.Seed == seed, $"position {entry.Position} was written with seed {id.Seed}");
            var expected = nextSequence.GetValueOrDefault((id.Round, id.Writer));
            Check(id.Sequence == expected,
                $"position {entry.Position} holds sequence {id.Sequence} of writer {id.Writer} of round {id.Round}, expected {expected}: an entry is missing or duplicated");
            nextSequence[(id.Round, id.Writer)] = expected + 1;
        }

        foreach (var ack in ledger.All)
        {
            Check(ack.Position <= last, $"acknowledged position {ack.Position} ({ack}) is gone: the log ends at {last}");
            var entry = entries[(int)(ack.Position - 1)];
            CrashWorkload.TryIdentify(entry, out var id, out _);
            Check(id == ack.Identity(seed), $"acknowledged position {ack.Position} was {ack.Identity(seed)}, the log holds {id} there");
            Check(CrashWorkload.Digest(entry) == ack.Digest,
                $"acknowledged position {ack.Position} had digest {ack.Digest}, the entry there now has {CrashWorkload.Digest(entry)}");
        }

        var segments = log.Segments;
        if (log.TornTail is { } torn)
        {
            Check(segments.Count > 0 && torn.File == segments[^1].Path, $"torn tail {torn} is not in the last segment {segments.LastOrDefault()?.Path}");
            Check(torn.Offset >= segments[^1].DataBytes, $"torn tail {torn} starts before the end {segments[^1].DataBytes} of the durable records");
            Check(ledger.Highest <= last, $"torn tail {torn} cut off acknowledged position {ledger.Highest}");
        }

        return new VerifiedLog(last, log.TornTail, segments.Count);
    }

    /// <summary>A child opening the log must recover exactly what the last verification saw.</summary>
    public static void CheckRecoveredAsVerified(OpenedLine opened, VerifiedLog? verified, string context)
    {
        if (verified is null)
        {
            return;
        }

        if (opened.LastDurablePosition != verified.LastDurablePosition)
        {
            Assert.Fail($"{context}: the child recovered up to position {opened.LastDurablePosition}, the read-only verification up to {verified.LastDurablePosition}");
        }

        var verifiedTorn = verified.TornTail is { } torn ? (Path.GetFileName(torn.File), torn.Offset) : (null, -1);
        if ((opened.TornFileName, opened.TornOffset) != verifiedTorn)
        {
            Assert.Fail($"{context}: the child cut a torn tail at {opened.TornFileName}:{opened.TornOffset}, the read-only verification found {verifiedTorn}");
        }
    }
}
