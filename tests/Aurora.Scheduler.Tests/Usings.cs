global using Aurora.Scheduler.Tests.Support;
