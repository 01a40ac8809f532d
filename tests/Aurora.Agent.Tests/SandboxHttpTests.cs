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
    private System.Net.Sockets.Socket? _socket;
    private bool _hasDevice;
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
        SpecialFiles.MakeFifo(Path.Combine(Sandbox, "pipe"));
        _socket = SpecialFiles.MakeSocket(Path.Combine(Sandbox, "sock"));
        _hasDevice = SpecialFiles.TryMakeDevice(Path.Combine(Sandbox, "null-device"), block: false, 1, 3);
        await File.WriteAllTextAsync(Path.Combine(Sandbox, "linked.txt"), "twice");
        SpecialFiles.HardLink(Path.Combine(Sandbox, "linked.txt"), Path.Combine(Sandbox, "linked-too.txt"));
        SpecialFiles.HardLink(Path.Combine(_directory.Path, "secret.txt"), Path.Combine(Sandbox, "stolen"));
        _executor.Hold(FakeExecutor.Report("t-1", AgentTaskState.Running, "healthy"));
        _executor.SetSandbox("t-1", Sandbox);

        _scheduler = await FakeScheduler.StartIdleAsync();
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

        _socket?.Dispose();
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
        var entries = root.RootElement.EnumerateArray().Where(e => e.GetProperty("name").GetString() != "null-device").ToList();
        Assert.Equal(
            [(".logs", "directory"), ("escape", "symlink"), ("escape-dir", "symlink"), ("hello.txt", "file"), ("inside", "symlink"), ("linked-too.txt", "file"), ("linked.txt", "file"), ("pipe", "fifo"), ("sock", "socket"), ("stolen", "file")],
            entries.Select(e => (e.GetProperty("name").GetString(), e.GetProperty("kind").GetString())));
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
        Assert.Contains("<tr><td>pipe</td><td>fifo</td>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("path=pipe", html, StringComparison.Ordinal);
        var nested = await Http.GetStringAsync("tasks/t-1?path=.logs%2Fmain%2F0");
        Assert.Contains("read?path=.logs%2Fmain%2F0%2Fstdout", nested, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tasks/t-1/read?path=../secret.txt", "contains '..'")]
    [InlineData("tasks/t-1/browse?path=.logs/../..", "contains '..'")]
    [InlineData("tasks/t-1/read?path=%2Fetc%2Fpasswd", "is absolute")]
    [InlineData("tasks/t-1/read?path=hello.txt%00.png", "must not contain NUL")]
    [InlineData("tasks/t-1/read?path=escape", "resolves outside the sandbox")]
    [InlineData("tasks/t-1/browse?path=escape-dir", "resolves outside the sandbox")]
    [InlineData("tasks/t-1/tail?path=escape-dir/secret.txt", "resolves outside the sandbox")]
    public async Task Paths_that_are_malformed_or_leave_the_sandbox_are_BAD_PATH(string url, string reason) =>
        await AssertRefusedAsync(url, HttpStatusCode.BadRequest, "BAD_PATH", reason);

    [Fact]
    public async Task Names_too_long_for_the_file_system_are_BAD_PATH()
    {
        await AssertRefusedAsync($"tasks/t-1/read?path={new string('n', 300)}", HttpStatusCode.BadRequest, "BAD_PATH", "longer than the file system allows");
        await AssertRefusedAsync($"tasks/t-1/read?path={string.Join('/', Enumerable.Repeat("d", 2100))}", HttpStatusCode.BadRequest, "BAD_PATH", "at most 4096 are allowed");
    }

    [Theory]
    [InlineData("tasks/t-1/read", "path is required")]
    [InlineData("tasks/t-1/tail", "path is required")]
    [InlineData("tasks/t-1/read?path=hello.txt&offset=-1", "offset must be a whole number from 0 to")]
    [InlineData("tasks/t-1/read?path=hello.txt&offset=abc", "offset must be a whole number from 0 to 9223372036854775807, got 'abc'")]
    [InlineData("tasks/t-1/read?path=hello.txt&length=99999999999", "length must be a whole number from 0 to 2147483647")]
    [InlineData("tasks/t-1/tail?path=hello.txt&lines=0", "lines must be a whole number from 1 to 10000")]
    [InlineData("tasks/t-1/tail?path=hello.txt&lines=-1", "lines must be a whole number from 1 to 10000")]
    [InlineData("tasks/t-1/read?path=hello.txt&path=inside", "path is given 2 times")]
    public async Task Bad_parameters_are_INVALID_REQUEST(string url, string reason) =>
        await AssertRefusedAsync(url, HttpStatusCode.BadRequest, "INVALID_REQUEST", reason);

    [Theory]
    [InlineData("tasks/t-1/read?path=.logs", "NOT_A_FILE", "'.logs' is a directory: use browse")]
    [InlineData("tasks/t-1/read?path=pipe", "NOT_A_FILE", "'pipe' is a FIFO (named pipe); only regular files are served")]
    [InlineData("tasks/t-1/tail?path=pipe", "NOT_A_FILE", "'pipe' is a FIFO (named pipe); only regular files are served")]
    [InlineData("tasks/t-1/read?path=sock", "NOT_A_FILE", "'sock' is a Unix socket; only regular files are served")]
    [InlineData("tasks/t-1/browse?path=hello.txt", "NOT_A_DIRECTORY", "'hello.txt' is a regular file, not a directory: use read or tail")]
    [InlineData("tasks/t-1/browse?path=pipe", "NOT_A_DIRECTORY", "'pipe' is a FIFO (named pipe), not a directory")]
    [InlineData("tasks/t-1?path=sock", "NOT_A_DIRECTORY", "'sock' is a Unix socket, not a directory")]
    [InlineData("tasks/t-1/read?path=stolen", "HARD_LINKED", "'stolen' is a regular file with 2 hard links")]
    [InlineData("tasks/t-1/tail?path=linked.txt", "HARD_LINKED", "'linked.txt' is a regular file with 2 hard links")]
    public async Task Anything_but_the_kind_asked_for_is_refused_naming_its_kind(string url, string code, string reason) =>
        await AssertRefusedAsync(url, HttpStatusCode.BadRequest, code, reason);

    [Fact]
    public async Task A_device_node_is_refused_without_being_opened()
    {
        if (!_hasDevice)
        {
            // mknod needs CAP_MKNOD (root outside a user namespace); the fuzzer covers devices where it can.
            return;
        }

        await AssertRefusedAsync("tasks/t-1/read?path=null-device", HttpStatusCode.BadRequest, "NOT_A_FILE", "'null-device' is a character device");
        using var root = JsonDocument.Parse(await Http.GetStringAsync("tasks/t-1/browse"));
        Assert.Equal("char_device", root.RootElement.EnumerateArray().Single(e => e.GetProperty("name").GetString() == "null-device").GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Reads_of_a_fifo_never_hold_it_open()
    {
        var reads = Enumerable.Range(0, 20).Select(_ => Http.GetAsync("tasks/t-1/read?path=pipe")).ToList();
        foreach (var response in await Task.WhenAll(reads))
        {
            using (response)
            {
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            }
        }

        Assert.False(SpecialFiles.FifoHasReader(Path.Combine(Sandbox, "pipe")), "a request left the FIFO open for reading");
    }

    [Fact]
    public async Task Symbolic_links_are_followed_only_beneath_the_sandbox_whatever_their_form()
    {
        Directory.CreateDirectory(Path.Combine(Sandbox, "d"));
        File.CreateSymbolicLink(Path.Combine(Sandbox, "d", "up"), "../hello.txt");
        File.CreateSymbolicLink(Path.Combine(Sandbox, "d", "chain"), "up");
        File.CreateSymbolicLink(Path.Combine(Sandbox, "d", "out"), "../../secret.txt");
        File.CreateSymbolicLink(Path.Combine(Sandbox, "d", "out-dir"), "..");
        File.CreateSymbolicLink(Path.Combine(Sandbox, "d", "passwd"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Combine(Sandbox, "d", "loop"), "loop");

        // Relative, chained, and absolute ('inside' names the sandbox's own path) links inside are served.
        Assert.Equal("0123456789", await Http.GetStringAsync("tasks/t-1/read?path=d%2Fup"));
        Assert.Equal("0123456789", await Http.GetStringAsync("tasks/t-1/read?path=d%2Fchain"));
        Assert.Equal("0123456789", await Http.GetStringAsync("tasks/t-1/read?path=inside"));
        Assert.Equal("0123456789", await Http.GetStringAsync("tasks/t-1/read?path=d%2Fout-dir%2Fhello.txt"));

        await AssertRefusedAsync("tasks/t-1/read?path=d%2Fout", HttpStatusCode.BadRequest, "BAD_PATH", "resolves outside the sandbox");
        await AssertRefusedAsync("tasks/t-1/read?path=d%2Fout-dir%2F..%2Fsecret.txt", HttpStatusCode.BadRequest, "BAD_PATH", "contains '..'");
        await AssertRefusedAsync("tasks/t-1/browse?path=d%2Fout-dir%2Fout-dir", HttpStatusCode.NotFound, "NOT_FOUND", "no file or directory");
        await AssertRefusedAsync("tasks/t-1/read?path=d%2Fpasswd", HttpStatusCode.BadRequest, "BAD_PATH", "resolves outside the sandbox");
        await AssertRefusedAsync("tasks/t-1/read?path=d%2Floop", HttpStatusCode.BadRequest, "BAD_PATH", "too many symbolic links");
        await AssertRefusedAsync("tasks/t-1/read?path=hello.txt%2Fx", HttpStatusCode.NotFound, "NOT_FOUND", "a part of it is not a directory");
    }

    [Fact]
    public async Task A_sandbox_owned_by_the_tasks_user_is_served_with_that_users_rights_not_the_agents()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            // Handing files to another user needs root, as the agent that runs tasks as their roles' users does.
            return;
        }

        const string Nobody = "65534:65534";
        var sandbox = Path.Combine(_directory.Path, "sandbox-of-nobody");
        Directory.CreateDirectory(Path.Combine(sandbox, "closed"));
        Write(Path.Combine(sandbox, "mine.txt"), "mine", UnixFileMode.UserRead | UnixFileMode.UserWrite, Nobody);
        Write(Path.Combine(sandbox, "roots.txt"), "root only", UnixFileMode.UserRead | UnixFileMode.UserWrite, "0:0");
        Write(Path.Combine(sandbox, "world.txt"), "everyone", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, "0:0");
        Write(Path.Combine(sandbox, "closed", "f.txt"), "behind a closed directory", UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead, "0:0");
        File.SetUnixFileMode(Path.Combine(sandbox, "closed"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.CreateSymbolicLink(Path.Combine(sandbox, "via-link"), "roots.txt");
        Chown(sandbox, Nobody);
        _executor.SetSandbox("t-2", sandbox);

        Assert.Equal("mine", await Http.GetStringAsync("tasks/t-2/read?path=mine.txt"));
        Assert.Equal("everyone", await Http.GetStringAsync("tasks/t-2/read?path=world.txt"));
        await AssertRefusedAsync("tasks/t-2/read?path=roots.txt", HttpStatusCode.Forbidden, "PERMISSION_DENIED", "the task's user (uid 65534) may not read 'roots.txt'");
        await AssertRefusedAsync("tasks/t-2/tail?path=via-link", HttpStatusCode.Forbidden, "PERMISSION_DENIED", "may not read 'via-link'");
        await AssertRefusedAsync("tasks/t-2/read?path=closed%2Ff.txt", HttpStatusCode.Forbidden, "PERMISSION_DENIED", "may not search a directory of 'closed/f.txt'");
        await AssertRefusedAsync("tasks/t-2/browse?path=closed", HttpStatusCode.Forbidden, "PERMISSION_DENIED", "may not read 'closed'");

        // The agent's own sandbox (the task runs as the agent's user) is served with the agent's rights, as before.
        Write(Path.Combine(Sandbox, "roots.txt"), "root only", UnixFileMode.UserRead | UnixFileMode.UserWrite, "0:0");
        Assert.Equal("root only", await Http.GetStringAsync("tasks/t-1/read?path=roots.txt"));

        [System.Runtime.Versioning.SupportedOSPlatform("linux")]
        static void Write(string path, string text, UnixFileMode mode, string owner)
        {
            File.WriteAllText(path, text);
            File.SetUnixFileMode(path, mode);
            Chown(path, owner);
        }

        static void Chown(string path, string owner)
        {
            using var chown = System.Diagnostics.Process.Start("chown", ["-h", owner, path]);
            chown.WaitForExit();
            Assert.Equal(0, chown.ExitCode);
        }
    }

    [Fact]
    public async Task Every_answer_says_nosniff_so_sandbox_text_is_never_taken_for_html()
    {
        using var ok = await Http.GetAsync("tasks/t-1/read?path=hello.txt");
        using var refused = await Http.GetAsync("tasks/t-1/read?path=pipe");
        Assert.Equal("nosniff", ok.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("nosniff", refused.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Theory]
    [InlineData("tasks/nope/browse", "no task nope on this agent")]
    [InlineData("tasks/nope", "no task nope on this agent")]
    [InlineData("tasks/t-1/read?path=missing.txt", "no file or directory 'missing.txt'")]
    [InlineData("tasks/t-1/read?path=hello.txt/more", "no file or directory 'hello.txt/more'")]
    [InlineData("tasks/t-1/read?path=pipe/more", "no file or directory 'pipe/more'")]
    [InlineData("tasks/t-1/nothing", "no endpoint GET /tasks/t-1/nothing; the agent serves GET /health, /state")]
    [InlineData("files/browse", "no endpoint GET /files/browse")]
    public async Task Unknown_tasks_and_files_are_404(string url, string reason) =>
        await AssertRefusedAsync(url, HttpStatusCode.NotFound, "NOT_FOUND", reason);

    private async Task AssertRefusedAsync(string url, HttpStatusCode status, string code, string reason)
    {
        using var response = await Http.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{url}: expected {status}, got {response.StatusCode}: {text}");
        using var body = JsonDocument.Parse(text);
        Assert.Equal(code, body.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains(reason, body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
