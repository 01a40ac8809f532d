return await Aurora.Admin.AdminCli.App.RunProcessAsync(args).ConfigureAwait(false);
