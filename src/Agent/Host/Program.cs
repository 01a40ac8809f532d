using System.Runtime.InteropServices;
using Aurora.Agent.Node;
using Aurora.CommandLine;

if (args.Any(Flags.IsHelp))
{
    Console.Out.Write(AgentFlags.Usage());
    return 0;
}

AgentOptions options;
try
{
    options = AgentFlags.Parse(args);
}
catch (UsageException e)
{
    Console.Error.WriteLine($"aurora-agent: {e.Message}");
    return 2;
}

using var loggers = LoggerFactory.Create(logging =>
{
    logging.AddSimpleConsole(o =>
    {
        o.SingleLine = true;
        o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
        o.UseUtcTimestamp = true;
    });
    logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
    logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
});

AgentNode node;
try
{
    node = await AgentNode.StartAsync(options, loggers);
}
catch (Exception e)
{
    // Typically the port is taken, the work dir cannot be written, or its agent id or checkpoints are damaged.
    Console.Error.WriteLine($"aurora-agent: cannot start: {e.Message}");
    return 1;
}

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.TrySetResult();
});
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
{
    context.Cancel = true;
    stop.TrySetResult();
});

await stop.Task;

// Tasks keep running: the next start of this agent reattaches to them.
await node.StopAsync();
return 0;
