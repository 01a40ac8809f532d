using System.Net;
using System.Text.Json;
using Aurora.Agent.Node;
using Aurora.Agent.Protocol;
using Aurora.Agent.Tests.Support;

namespace Aurora.Agent.Tests;

/// <summary>The sandbox HTTP server: state, browse, read, tail, the HTML index, and paths kept inside the sandbox.</summary>
public sealed class SandboxHttpTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly CapturedLogs _logs = new();
    private readonly FakeExecutor _executor = new();
    private FakeScheduler? _scheduler;
    private AgentNode? _node;
    private HttpClient? _http;

    private HttpClient Http => _http!;

    private string Sandbox => Path.Combine(_directory.Path, "sandbox");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Sandbox, ".logs", "main", "0"));
        await File.WriteAllTextAsync(Path.Combine(Sandbox, ".logs", "main", "0", "stdout"), string.Join('\n', Enumerable.Range(1, 250).Select(i => $"line {i}")) + "\n");
        await File.WriteAllTextAsync(Path.Combine(Sandbox, "hello.txt"), "0123456789");
        await File.WriteAllTextAsync(Path.Combine(_directory.Path, "secret.txt"), "outside");
        File.CreateSymbolicLink(Path.Combine(Sandbox, "escape"), Path.Combine(_directory.Path, "secret.txt"));
        File.CreateSymbolicLink(Path.Combine(Sandbox, "escape-dir"), _directory.Path);
        File.CreateSymbolicLink(Path.Combine(Sandbox, "inside"), Path.Combine(Sandbox, "hello.txt"));
        _executor.Hold(FakeExecutor.Report("t-1", AgentTaskState.Running, "healthy"));
        _executor.SetSandbox("t-1", Sandbox);

        _scheduler = await FakeScheduler.StartAsync((request, n, s, http) =>
            request.WaitMs > 0 ? s.HoldAsync(request, http) : FakeScheduler.WriteAsync(http, FakeScheduler.Empty()));
        _node = await AgentNode.StartAsync(Agents.Options(Path.Combine(_directory.Path, "work"), _scheduler.BaseUri), _logs.Factory, _ => _executor);
        _http = new HttpClient { BaseAddress = _node.SandboxUri };
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_node is not null)
        {
            await _node.StopAsync();
        }

        if (_scheduler is not null)
        {
            await _scheduler.DisposeAsync();
        }

        _logs.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task Health_is_plain_ok()
    {
        using var response = await Http.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("OK\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task State_shows_the_agent_and_its_tasks()
    {
        using var state = JsonDocument.Parse(await Http.GetStringAsync("state"));
        var root = state.RootElement;
        Assert.Equal(_node!.AgentId, root.GetProperty("agentId").GetString());
        Assert.Equal("agent-host", root.GetProperty("hostname").GetString());
        Assert.Equal(2, root.GetProperty("resources").GetProperty("cpus").GetDouble());
        Assert.Equal("rack", root.GetProperty("attributes")[1].GetProperty("name").GetString());
        var task = Assert.Single(root.GetProperty("tasks").EnumerateArray());
        Assert.Equal("t-1", task.GetProperty("taskId").GetString());
        Assert.Equal("RUNNING", task.GetProperty("state").GetString());
        Assert.Equal("healthy", task.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Browse_lists_a_directory_with_sizes_times_and_kinds()
    {
        using var root = JsonDocument.Parse(await Http.GetStringAsync("tasks/t-1/browse"));
        var entries = root.RootElement.EnumerateArray().ToList();
        Assert.Equal([".logs", "escape", "escape-dir", "hello.txt", "inside"], entries.Select(e => e.GetProperty("name").GetString()));
        var hello = entries.Single(e => e.GetProperty("name").GetString() == "hello.txt");
        Assert.Equal(10, hello.GetProperty("size").GetInt64());
        Assert.False(hello.GetProperty("isDirectory").GetBoolean());
        Assert.True(hello.GetProperty("mtime").GetInt64() > 1_600_000_000);
        Assert.True(entries[0].GetProperty("isDirectory").GetBoolean());

        using var logs = JsonDocument.Parse(await Http.GetStringAsync("tasks/t-1/browse?path=.logs/main/0"));
        var stdout = Assert.Single(logs.RootElement.EnumerateArray());
        Assert.Equal(".logs/main/0/stdout", stdout.GetProperty("path").GetString());
    }

    [Fact]
    public async Task Read_returns_the_bytes_asked_for()
    {
        Assert.Equal("0123456789", await Http.GetStringAsync("tasks/t-1/read?path=hello.txt"));
        using var part = await Http.GetAsync("tasks/t-1/read?path=hello.txt&offset=3&length=4");
        Assert.Equal("3456", await part.Content.ReadAsStringAsync());
        Assert.Equal("10", part.Headers.GetValues("X-File-Size").Single());
        Assert.StartsWith("text/plain", part.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, await Http.GetStringAsync("tasks/t-1/read?path=hello.txt&offset=50"));
        Assert.Equal("0123456789", await Http.GetStringAsync("tasks/t-1/read?path=inside"));
    }

    [Fact]
    public async Task Tail_returns_the_last_lines()
    {
        var tail = await Http.GetStringAsync("tasks/t-1/tail?path=.logs/main/0/stdout&lines=3");
        Assert.Equal("line 248\nline 249\nline 250\n", tail);
        var lines = (await Http.GetStringAsync("tasks/t-1/tail?path=.logs/main/0/stdout")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(100, lines.Length);
        Assert.Equal("line 151", lines[0]);
        Assert.Equal("0123456789", await Http.GetStringAsync("tasks/t-1/tail?path=hello.txt&lines=5"));
    }

    [Fact]
    public async Task The_index_page_links_every_file_without_script()
    {
        var html = await Http.GetStringAsync("tasks/t-1");
        Assert.Contains("<a href=\"/tasks/t-1/read?path=hello.txt\">hello.txt</a>", html, StringComparison.Ordinal);
        Assert.Contains("<a href=\"/tasks/t-1/tail?path=hello.txt\">tail</a>", html, StringComparison.Ordinal);
        Assert.Contains("<a href=\"/tasks/t-1?path=.logs\">.logs/</a>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        var nested = await Http.GetStringAsync("tasks/t-1?path=.logs%2Fmain%2F0");
        Assert.Contains("read?path=.logs%2Fmain%2F0%2Fstdout", nested, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tasks/t-1/read?path=../secret.txt", "contains '..'")]
    [InlineData("tasks/t-1/browse?path=.logs/../..", "contains '..'")]
    [InlineData("tasks/t-1/read?path=%2Fetc%2Fpasswd", "is absolute")]
    [InlineData("tasks/t-1/read?path=escape", "resolves outside the sandbox")]
    [InlineData("tasks/t-1/browse?path=escape-dir", "resolves outside the sandbox")]
    [InlineData("tasks/t-1/tail?path=escape-dir/secret.txt", "resolves outside the sandbox")]
    [InlineData("tasks/t-1/read?path=.logs", "is a directory")]
    [InlineData("tasks/t-1/browse?path=hello.txt", "is a file")]
    [InlineData("tasks/t-1/read", "path is required")]
    [InlineData("tasks/t-1/read?path=hello.txt&offset=-1", "offset must be a whole number")]
    [InlineData("tasks/t-1/tail?path=hello.txt&lines=0", "lines must be a whole number from 1 to 10000")]
    public async Task Paths_that_leave_the_sandbox_and_bad_parameters_are_refused_with_the_reason(string url, string reason)
    {
        using var response = await Http.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("BAD_PATH", body.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(reason, body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tasks/nope/browse", "no task nope on this agent")]
    [InlineData("tasks/nope", "no task nope on this agent")]
    [InlineData("tasks/t-1/read?path=missing.txt", "no file or directory 'missing.txt'")]
    public async Task Unknown_tasks_and_files_are_404(string url, string reason)
    {
        using var response = await Http.GetAsync(url);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("NOT_FOUND", body.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(reason, body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
