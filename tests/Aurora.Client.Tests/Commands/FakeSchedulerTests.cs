namespace Aurora.Client.Tests.Commands;

/// <summary>Command tests against a fresh <see cref="FakeScheduler"/> and client harness per test.</summary>
public abstract class FakeSchedulerTests : IAsyncLifetime
{
    private protected FakeScheduler Scheduler { get; private set; } = null!;

    private protected CliHarness Cli { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Scheduler = await FakeScheduler.StartAsync();
        Cli = new CliHarness(Scheduler.Uri);
    }

    public async Task DisposeAsync()
    {
        Cli.Dispose();
        await Scheduler.DisposeAsync();
    }
}
