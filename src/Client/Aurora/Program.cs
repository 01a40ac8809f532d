return await Aurora.Cli.AuroraCli.App.RunProcessAsync(args).ConfigureAwait(false);
