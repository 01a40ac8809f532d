using System.Text;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;

namespace Aurora.Storage.CrashChild;

/// <summary>
/// Opens a <see cref="SegmentedLog"/>, appends from several concurrent writers, and writes one
/// <see cref="AckLine"/> per entry to stdout after its append returned, until the test kills it,
/// an injected fdatasync failure ends it, or every writer reaches its cap.
/// </summary>
internal static class Program
{
    private static readonly object OutputLock = new();
    private static readonly Stream Stdout = Console.OpenStandardOutput();

    public static async Task<int> Main(string[] args)
    {
        var arguments = CrashChildArguments.Parse(args);
        ExitWhenStdinCloses();
        try
        {
            SegmentedLog? log = null;
            IFileSystem fileSystem = PhysicalFileSystem.Instance;
            if (arguments.SplitWritesAtPages)
            {
                fileSystem = new PageSplittingFileSystem(fileSystem);
            }

            FailingSyncFileSystem? failing = null;
            if (arguments.FailSyncAfter is { } successfulSyncs)
            {
                // The failing sync runs on the log's writer thread, which holds no lock there, so
                // reading the durable position is safe and nothing can become durable after it.
                failing = new FailingSyncFileSystem(fileSystem, successfulSyncs, number => Emit(new SyncFailingLine(number, log?.LastDurablePosition ?? 0)));
                fileSystem = failing;
            }

            // The default OnFatalError stays: the fsync test checks that it really ends the process.
            log = SegmentedLog.Open(arguments.LogOptions with { FileSystem = fileSystem });
            using (log)
            {
                var torn = log.TornTail;
                Emit(new OpenedLine(log.LastDurablePosition, torn is null ? null : Path.GetFileName(torn.File), torn?.Offset ?? -1));
                failing?.Arm();
                var writers = Enumerable.Range(0, arguments.Writers).Select(writer => Task.Run(() => WriteAsync(log, arguments, writer)));
                await Task.WhenAll(writers);
            }

            Emit(new DoneLine());
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"crash child: {e}");
            return 1;
        }
    }

    private static async Task WriteAsync(SegmentedLog log, CrashChildArguments arguments, int writer)
    {
        for (long sequence = 0; sequence < arguments.MaxEntriesPerWriter;)
        {
            var first = new EntryIdentity(arguments.Seed, arguments.Round, writer, sequence);
            var entries = new List<LogEntry>();
            for (var i = 0; i < CrashWorkload.BatchSize(first); i++)
            {
                entries.Add(CrashWorkload.Entry(first with { Sequence = sequence + i }, arguments.MaxEntrySize));
            }

            try
            {
                await log.AppendAsync(entries);
            }
            catch (IOException e) when (arguments.FailSyncAfter is not null)
            {
                // The log has already called OnFatalError, which ends the process. Returning from
                // Main instead would race it and exit with this program's own code.
                Console.Error.WriteLine($"crash child: writer {writer} append failed: {e.Message}");
                await Task.Delay(Timeout.Infinite);
            }

            // Only now, after AppendAsync returned, is the entry acknowledged.
            foreach (var entry in entries)
            {
                Emit(new AckLine(entry.Position, arguments.Round, writer, sequence, CrashWorkload.Digest(entry)));
                sequence++;
            }
        }
    }

    /// <summary>One write(2) per line, so a kill can cut off at most the line being written.</summary>
    private static void Emit(ChildLine line)
    {
        var bytes = Encoding.UTF8.GetBytes(line.Format() + "\n");
        lock (OutputLock)
        {
            Stdout.Write(bytes);
            Stdout.Flush();
        }
    }

    /// <summary>The test holds stdin open; if the test process dies, the child must not run on.</summary>
    private static void ExitWhenStdinCloses()
    {
        var watcher = new Thread(() =>
        {
            using var stdin = Console.OpenStandardInput();
            var buffer = new byte[256];
            while (stdin.Read(buffer) > 0)
            {
            }

            Environment.Exit(3);
        })
        {
            IsBackground = true,
            Name = "stdin-watcher",
        };
        watcher.Start();
    }
}
