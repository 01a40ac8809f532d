using Aurora.Storage.Log;

namespace Aurora.LogTool.Tests;

/// <summary>Every kind of bad input gets one clear line on stderr and a non-zero exit, never a stack trace.</summary>
public class BadInputTests
{
    public static TheoryData<string[], string> UsageErrors => new()
    {
        { [], "no command given" },
        { ["info"], "missing flag --path: aurora-log info --path=DIR" },
        { ["dump", "--json"], "missing flag --path" },
        { ["frobnicate", "--path={dir}"], "unknown command 'frobnicate'; the commands are initialize, info, verify, dump, state, backups, recover" },
        { ["--path={dir}", "info"], "the command comes first" },
        { ["info", "--path={dir}", "--bogus"], "unknown flag --bogus for command info" },
        { ["info", "--path={dir}", "-bogus=1"], "unknown flag -bogus for command info" },
        { ["info", "--path={dir}", "--from=1"], "unknown flag --from for command info" },
        { ["initialize", "--path={dir}", "--json"], "unknown flag --json for command initialize" },
        { ["info", "--path"], "flag --path needs a value: --path=DIR" },
        { ["info", "--path", "--json"], "flag --path needs a value" },
        { ["info", "--path="], "flag --path needs a value" },
        { ["info", "--path={dir}", "--path={dir}"], "flag --path is given more than once" },
        { ["info", "--path={dir}", "extra"], "unexpected argument 'extra' for command info" },
        { ["info", "--path={dir}", "--json=yes"], "flag --json is a switch" },
        { ["dump", "--path={dir}", "--from=abc"], "flag --from must be a non-negative whole number, got 'abc'" },
        { ["dump", "--path={dir}", "--to", "-3"], "flag --to must be a non-negative whole number, got '-3'" },
        { ["dump", "--path={dir}", "--to=1.5"], "flag --to must be a non-negative whole number, got '1.5'" },
        { ["dump", "--path={dir}", "--from=9", "--to=3"], "--from=9 is after --to=3" },
        { ["dump", "--path={dir}", "--from=0"], "positions start at 1; got --from=0" },
        { ["info", "--path={dir}/missing"], "log directory {dir}/missing does not exist; check --path" },
        { ["verify", "--path={dir}/missing"], "log directory {dir}/missing does not exist" },
        { ["dump", "--path={dir}/missing"], "log directory {dir}/missing does not exist" },
        { ["info", "--path={dir}/file"], "--path={dir}/file is a file; it must be the log directory" },
        { ["verify", "--path={dir}/file"], "--path={dir}/file is a file" },
        { ["dump", "--path={dir}/file"], "--path={dir}/file is a file" },
        { ["initialize", "--path={dir}/file"], "--path={dir}/file is a file" },
        { ["info", "--path={dir}/file/below"], "log directory {dir}/file/below does not exist" },
        { ["dump", "--path={dir}", "--job=hello"], "--job=hello is not a job key ROLE/ENV/NAME: Job key 'hello' is not of the form role/environment/name." },
        { ["dump", "--path={dir}", "--job=www-data//hello"], "--job=www-data//hello is not a job key ROLE/ENV/NAME: Job environment '' is invalid" },
        { ["dump", "--path={dir}", "--role=a/b"], "--role=a/b is not a role: it must be 1 to 255" },
        { ["dump", "--path={dir}", "--job=a/b/c", "--role=x"], "--job=a/b/c is not a job of --role=x, so nothing could match" },
        { ["dump", "--path={dir}", "--since=yesterday"], "--since=yesterday is not a time: use ISO-8601 such as 2026-01-01T00:00:00Z, or a date such as 2026-01-01" },
        { ["dump", "--path={dir}", "--until=2026-13-01"], "--until=2026-13-01 is not a time" },
        { ["dump", "--path={dir}", "--until=01/02/2026"], "--until=01/02/2026 is not a time" },
        { ["dump", "--path={dir}", "--since=2026-01-02", "--until=2026-01-01T12:00:00Z"], "--since=2026-01-02 is after --until=2026-01-01T12:00:00Z" },
        { ["dump", "--path={dir}", "--principal"], "flag --principal needs a value: --principal=NAME" },
        { ["dump", "--path={dir}", "--verbose=yes"], "flag --verbose is a switch" },
        { ["state"], "missing flag --path: aurora-log state --path=DIR" },
        { ["state", "--path={dir}", "--at=abc"], "--at=abc is neither a position nor a time: use a whole number, or ISO-8601" },
        { ["state", "--path={dir}", "--at=-3"], "--at=-3 is neither a position nor a time" },
        { ["state", "--path={dir}", "--at=0"], "positions start at 1; got --at=0" },
        { ["state", "--path={dir}", "--at=99999999999999999999999"], "--at=99999999999999999999999 is not a position: it is too large" },
        { ["state", "--path={dir}", "--from=1"], "unknown flag --from for command state" },
        { ["state", "--path={dir}/missing"], "log directory {dir}/missing does not exist" },
        { ["state", "--path={dir}/file"], "--path={dir}/file is a file" },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public void Usage_errors_print_one_line_and_exit_2(string[] args, string expected)
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Sub("file"), "not a directory");
        string Fill(string s) => s.Replace("{dir}", dir.Path, StringComparison.Ordinal);

        var result = Tool.Run([.. args.Select(Fill)]);

        Tool.AssertOneLineError(result, 2, Fill(expected));
        Assert.EndsWith("(see 'aurora-log --help')", result.ErrorLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Initialize_below_a_file_fails_in_one_line()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Sub("file"), "not a directory");

        var result = Tool.Run("initialize", $"--path={dir.Sub("file")}/replica");

        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.StartsWith("aurora-log: ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("info")]
    [InlineData("verify")]
    [InlineData("dump")]
    [InlineData("state")]
    public void An_unreadable_directory_fails_in_one_line_instead_of_looking_empty(string command)
    {
        using var dir = new TempDirectory();

        var result = Tool.Run(new UnreadableDirectoryFileSystem(dir.Path), command, $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 1, $"cannot read log directory {dir.Path}: Access to the path '{dir.Path}' is denied.");
    }

    [Fact]
    public async Task An_unreadable_segment_directory_fails_info_in_one_line()
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 3);

        var result = Tool.Run(new UnreadableDirectoryFileSystem(dir.Sub("log")), "info", $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 1, "is denied");
    }

    [Theory]
    [InlineData("info")]
    [InlineData("dump")]
    public async Task A_corrupt_log_fails_info_and_dump_with_its_message(string command)
    {
        using var dir = new TempDirectory();
        await TestLog.AppendAsync(dir.Path, 600);
        var segment = TestLog.SegmentFiles(dir.Path)[0]; // not the last: damage there is never a torn tail
        var record = TestLog.Records(segment)[20];
        TestLog.FlipBit(segment, record.Offset + 45);

        var result = Tool.Run(command, $"--path={dir.Path}");

        Tool.AssertOneLineError(result, 1, LogCorruptedException.Describe(segment, record.Offset, record.Position, "record payload checksum mismatch"));
        Assert.EndsWith("('aurora-log verify' lists every problem)", result.ErrorLines[0], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-help")]
    [InlineData("help")]
    [InlineData("-h")]
    public void Help_lists_every_command_and_flag(string help)
    {
        var result = Tool.Run(help);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Empty, result.Error);
        foreach (var command in Program.Commands)
        {
            Assert.Contains($"  {command.Name}\n", result.Out, StringComparison.Ordinal);
            foreach (var flag in command.FlagSpecs)
            {
                Assert.Contains(flag.Usage, result.Out, StringComparison.Ordinal);
            }
        }

        Assert.Contains("Exit codes: 0 ok; 1 problems found or the operation failed; 2 usage error, or initialize, recover or repair refused.", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_after_a_command_prints_usage_too()
    {
        var result = Tool.Run("dump", "--help");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("--from=POS", result.Out, StringComparison.Ordinal);
    }
}
