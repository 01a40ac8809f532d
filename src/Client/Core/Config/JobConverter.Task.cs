using System.Globalization;
using Aurora.CommandLine;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Client.Config;

// Thermos' Task, Process, Resources and Logger (thermos/config/schema_base.py).
internal static partial class JobConverter
{
    private const long Megabyte = 1L << 20;

    // Thermos caps finalization_wait at 60 seconds.
    private const int MaxFinalizationWaitSecs = 60;

    private static readonly Schema TaskSchema = Schema.Of(
            "name", "processes", "constraints", "resources", "max_failures", "max_concurrency", "finalization_wait")
        .Refusing("user", "cannot be mapped: processes run as the job's role; remove it");

    private static readonly Schema ProcessSchema = Schema.Of(
        "name", "cmdline", "max_failures", "daemon", "ephemeral", "min_duration", "final", "logger");

    private static readonly Schema OrderSchema = Schema.Of("order");

    private static readonly Schema ResourcesSchema = Schema.Of("cpu", "ram", "disk", "gpu")
        .Refusing("ports", "is not written: the ports a task asks for are the names it references as {{thermos.ports[NAME]}}");

    private static readonly Schema LoggerSchema = Schema.Of("destination", "mode", "rotate");

    private static readonly Schema RotateSchema = Schema.Of("log_size", "backups");

    private sealed record TaskParts(
        string? Name, List<Process> Processes, List<ProcessOrder> Order, Resources Resources, int FinalizationWaitSecs);

    private static TaskParts Task(StructReader task, bool runsDockerImage)
    {
        var processes = Processes(task, runsDockerImage);
        var order = Order(task, processes);
        var resources = task.Struct("resources", ResourcesSchema) ?? throw task.Fail("resources", "required");

        // The model has no per-task failure budget or concurrency limit: only Thermos' defaults are mapped faithfully.
        if (task.Int("max_failures", 1) != 1)
        {
            throw task.Fail("max_failures", "cannot be mapped: Aurora.NET's agent fails a task when one of its processes fails (Thermos' default, 1)");
        }

        if (task.Int("max_concurrency", 0) != 0)
        {
            throw task.Fail("max_concurrency", "cannot be mapped: Aurora.NET's agent does not limit how many processes run at once (Thermos' default, 0)");
        }

        return new TaskParts(
            task.String("name") ?? processes.FirstOrDefault()?.Name,
            processes,
            order,
            Resources(resources),
            Math.Min(task.Int("finalization_wait", 30, 0), MaxFinalizationWaitSecs));
    }

    private static List<Process> Processes(StructReader task, bool runsDockerImage)
    {
        var nodes = task.List("processes");
        if (nodes.Count == 0 && !runsDockerImage)
        {
            throw task.Fail("processes", "required: at least one process (only a task with a Docker container may have none)");
        }

        var processes = new List<Process>();
        for (var i = 0; i < nodes.Count; i++)
        {
            var fields = new StructReader(task.Source, nodes[i], FieldPath.Index(task.PathOf("processes"), i), ProcessSchema);
            var name = fields.RequiredString("name");
            if (!JobKeys.IsGoodIdentifier(name))
            {
                throw fields.Fail("name", $"{Quoting.Quote(name)} is not a valid process name: it must be {JobKeys.IdentifierRule}");
            }

            if (processes.Any(p => p.Name == name))
            {
                throw fields.Fail("name", $"another process is already named {Quoting.Quote(name)}");
            }

            processes.Add(new Process
            {
                Name = name,
                Cmdline = fields.RequiredString("cmdline"),
                MaxFailures = fields.Int("max_failures", 1, 0),
                Daemon = fields.Bool("daemon", false),
                Ephemeral = fields.Bool("ephemeral", false),
                MinDurationSecs = fields.Int("min_duration", 5, 0),
                Final = fields.Bool("final", false),
                Logger = fields.Struct("logger", LoggerSchema) is { } logger ? Logger(logger) : null,
            });
        }

        return processes;
    }

    private static ProcessLogger Logger(StructReader logger)
    {
        var destination = logger.String("destination") ?? "file";
        if (destination != "file")
        {
            throw logger.Fail("destination", destination is "console" or "both" or "none"
                ? $"{Quoting.Quote(destination)} cannot be mapped: Aurora.NET's agent always writes process output to files in the sandbox (\"file\")"
                : $"{Quoting.Quote(destination)} is not one of file, console, both, none");
        }

        var mode = logger.String("mode") ?? string.Empty;
        if (mode is not ("" or "standard" or "rotate"))
        {
            throw logger.Fail("mode", $"{Quoting.Quote(mode)} is not one of standard, rotate");
        }

        var result = new ProcessLogger { Mode = mode };
        if (logger.Struct("rotate", RotateSchema) is { } rotate)
        {
            result.RotateLogSizeMb = rotate.Has("log_size") ? Megabytes(rotate, "log_size") : 0;
            result.RotateLogBackups = rotate.Int("backups", 0, 1);
        }

        return result;
    }

    private static List<ProcessOrder> Order(StructReader task, List<Process> processes)
    {
        var constraints = task.List("constraints");
        var result = new List<ProcessOrder>();
        for (var i = 0; i < constraints.Count; i++)
        {
            var constraint = new StructReader(task.Source, constraints[i], FieldPath.Index(task.PathOf("constraints"), i), OrderSchema);
            var names = constraint.List("order");
            if (names.Count == 0)
            {
                throw constraint.Fail("order", "required: the processes to run in order");
            }

            var order = new ProcessOrder();
            for (var j = 0; j < names.Count; j++)
            {
                var path = FieldPath.Index(constraint.PathOf("order"), j);
                var name = Values.String(task.Source, path, names[j]);
                order.Order.Add(processes.Any(p => p.Name == name)
                    ? name
                    : throw Values.Fail(task.Source, path, names[j], $"{Quoting.Quote(name)} is not a process of this task"));
            }

            result.Add(order);
        }

        return result;
    }

    private static Resources Resources(StructReader resources)
    {
        var cpu = resources.RequiredDouble("cpu");
        if (cpu <= 0)
        {
            throw resources.Fail("cpu", string.Create(CultureInfo.InvariantCulture, $"must be greater than 0, got {cpu}"));
        }

        return new Resources
        {
            NumCpus = cpu,
            RamMb = Megabytes(resources, "ram"),
            DiskMb = Megabytes(resources, "disk"),
            NumGpus = resources.Long("gpu", 0, 0),
        };
    }

    /// <summary>
    /// A size such as <c>"32MB"</c>, <c>"2GB"</c>, <c>"512MiB"</c> or a number of bytes, in whole
    /// megabytes. Aurora truncates a fraction of a megabyte away; we refuse it instead, because the
    /// task would silently get less than it asked for (or nothing).
    /// </summary>
    private static long Megabytes(StructReader fields, string key)
    {
        var node = fields.Node(key) ?? throw fields.Fail(key, "required");
        var text = node is ScalarNode { Kind: ScalarKind.String or ScalarKind.Number } scalar
            ? scalar.Text
            : throw fields.Fail(key, $"expected a size such as \"32MB\", got {node.Describe()}");
        if (!Amounts.TryParseBytes(text, 1, out var bytes))
        {
            throw fields.Fail(key, $"{node.Describe()} is not a size (write it as \"32MB\", \"2GB\", \"512MiB\" or a whole number of bytes)");
        }

        if (bytes <= 0)
        {
            throw fields.Fail(key, $"must be greater than 0, got {node.Describe()}");
        }

        return bytes % Megabyte == 0
            ? bytes / Megabyte
            : throw fields.Fail(key, string.Create(CultureInfo.InvariantCulture,
                $"{node.Describe()} is not a whole number of megabytes ({bytes} bytes); Aurora.NET counts {key} in MB"));
    }
}
