using System.Globalization;
using Aurora.Storage.Backups;

namespace Aurora.LogTool;

/// <summary>
/// <c>aurora-log backups --backup_dir=DIR [--verify] [--json]</c>: lists the backups in a backup
/// directory, newest first, and with --verify checks every one completely (header and blob checksum).
/// Offline counterpart of <c>aurora_admin scheduler_list_backups</c>; reads only.
/// </summary>
internal static class BackupsCommand
{
    private static readonly FlagSpec BackupDirFlag = new("backup_dir", "the backup directory (the scheduler's -backup_dir)", "DIR");
    private static readonly FlagSpec VerifyFlag = new("verify", "read every backup completely and check its checksums");

    public static Command Command { get; } = new(
        "backups",
        "List the backups in a backup directory, newest first: cluster, position, term, time, size, checksum. With --verify, check each completely. Read-only.",
        [BackupDirFlag, VerifyFlag, LogDirectory.JsonFlag],
        Run);

    private static int Run(ParsedFlags flags, ToolContext context)
    {
        var directory = LogDirectory.RequireExistingDirectory(
            flags.RequireString(BackupDirFlag.Name, $"{Program.Name} backups --backup_dir=DIR"), context, "--backup_dir", "backup directory");

        // The cluster name only stamps new backups; listing and verifying write nothing.
        var manager = new BackupManager(new BackupOptions
        {
            BackupDirectory = directory,
            ClusterName = Program.Name,
            FileSystem = context.FileSystem,
            Time = context.Time,
        });
        var backups = manager.List();
        var problems = flags.GetSwitch(VerifyFlag.Name) ? manager.Verify() : [];
        var problemByPath = problems.ToDictionary(p => p.Path, p => p.Problem);
        if (flags.GetSwitch(LogDirectory.JsonFlag.Name))
        {
            context.Out.WriteLine(LogDirectory.Json(
                w =>
                {
                    w.WriteStartObject();
                    w.WriteString("directory", directory);
                    w.WriteStartArray("backups");
                    foreach (var b in backups)
                    {
                        w.WriteStartObject();
                        w.WriteString("file", b.Path);
                        w.WriteString("cluster", b.ClusterName);
                        w.WriteNumber("position", b.Position);
                        w.WriteNumber("term", b.Term);
                        w.WriteString("created", LogDirectory.FormatTime(b.CreatedAt));
                        w.WriteNumber("bytes", b.BlobLength);
                        w.WriteString("crc32c", Hex(b.BlobCrc32C));
                        w.WriteString("type", b.BlobType);
                        w.WriteNumber("format_version", b.FormatVersion);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteStartArray("problems");
                    foreach (var p in problems)
                    {
                        w.WriteStartObject();
                        w.WriteString("file", p.Path);
                        w.WriteString("problem", p.Problem);
                        w.WriteEndObject();
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                },
                indented: true));
        }
        else
        {
            foreach (var b in backups)
            {
                var verdict = problemByPath.ContainsKey(b.Path) ? "  DAMAGED" : string.Empty;
                context.Out.WriteLine(
                    $"{Path.GetFileName(b.Path)}  cluster={b.ClusterName} position={b.Position} term={b.Term} "
                    + $"created={LogDirectory.FormatTime(b.CreatedAt)} size={LogDirectory.FormatBytes(b.BlobLength)} crc32c={Hex(b.BlobCrc32C)} format=v{b.FormatVersion}{verdict}");
            }

            foreach (var p in problems)
            {
                context.Out.WriteLine($"ERROR {p.Path}: {p.Problem}");
            }

            var verified = flags.GetSwitch(VerifyFlag.Name) ? $", {problems.Count} damaged" : string.Empty;
            context.Out.WriteLine($"{backups.Count} backup(s) in {directory}{verified}.");
        }

        return problems.Count > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    }

    private static string Hex(uint value) => value.ToString("x8", CultureInfo.InvariantCulture);
}
