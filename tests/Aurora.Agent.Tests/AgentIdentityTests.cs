using Aurora.Agent.Node;

namespace Aurora.Agent.Tests;

public sealed class AgentIdentityTests
{
    [Fact]
    public void The_id_is_created_once_and_read_back_on_every_start()
    {
        using var directory = new TempDirectory();
        var guid = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");
        var first = AgentIdentity.LoadOrCreate(directory.Path, "node1", () => guid);
        Assert.Equal("node1-0f8fad5b-d9cb-469f-a165-70867728950e", first);
        Assert.Equal(first + "\n", File.ReadAllText(Path.Combine(directory.Path, "meta", "agent_id")));
        Assert.False(File.Exists(Path.Combine(directory.Path, "meta", "agent_id.tmp")));

        var again = AgentIdentity.LoadOrCreate(directory.Path, "renamed-host", () => throw new InvalidOperationException("no new id"));
        Assert.Equal(first, again);
    }

    [Fact]
    public void Different_work_dirs_get_different_ids()
    {
        using var a = new TempDirectory();
        using var b = new TempDirectory();
        Assert.NotEqual(AgentIdentity.LoadOrCreate(a.Path, "h"), AgentIdentity.LoadOrCreate(b.Path, "h"));
    }

    [Fact]
    public void A_leftover_temp_file_from_a_crash_is_replaced()
    {
        using var directory = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(directory.Path, "meta"));
        File.WriteAllText(Path.Combine(directory.Path, "meta", "agent_id.tmp"), "half");
        var id = AgentIdentity.LoadOrCreate(directory.Path, "h");
        Assert.StartsWith("h-", id, StringComparison.Ordinal);
        Assert.Equal(id, AgentIdentity.LoadOrCreate(directory.Path, "h"));
    }

    [Fact]
    public void An_empty_id_file_is_refused_with_the_cure()
    {
        using var directory = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(directory.Path, "meta"));
        File.WriteAllText(AgentIdentity.PathIn(directory.Path), "  \n");
        var error = Assert.Throws<InvalidDataException>(() => AgentIdentity.LoadOrCreate(directory.Path, "h"));
        Assert.Contains("Remove it to register as a new agent", error.Message, StringComparison.Ordinal);
    }
}
