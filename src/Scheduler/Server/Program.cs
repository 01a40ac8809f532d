using Aurora.CommandLine;
using Aurora.Scheduler.Server;

if (args.Any(Flags.IsHelp))
{
    Console.Out.Write(SchedulerFlags.Usage());
    return ExitCodes.Ok;
}

ServerOptions options;
try
{
    options = ServerOptions.FromFlags(SchedulerFlags.Parse(args));
}
catch (UsageException e)
{
    Console.Error.WriteLine($"aurora-scheduler: {e.Message}");
    return ExitCodes.Usage;
}

SchedulerServer server;
try
{
    server = await SchedulerServer.StartAsync(options);
}
catch (IOException e)
{
    // Typically the port is taken, or a directory cannot be created.
    Console.Error.WriteLine($"aurora-scheduler: cannot start: {e.Message}");
    return ExitCodes.FatalStorageError;
}

using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    server.Stop(ExitCodes.Ok);
});
using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, context =>
{
    context.Cancel = true;
    server.Stop(ExitCodes.Ok);
});

return await server.Exited;
