namespace Aurora.Client.Tests;

public sealed class NetrcTests
{
    [Fact]
    public void Machine_entries_give_login_and_password_by_host_case_insensitively()
    {
        var netrc = Netrc.Parse("machine sched.example login alice password apple\nmachine other login bob password pear\n", "n");

        Assert.Equal(new NetrcCredentials("alice", "apple"), netrc.Find("SCHED.example"));
        Assert.Equal(new NetrcCredentials("bob", "pear"), netrc.Find("other"));
        Assert.Null(netrc.Find("unknown"));
    }

    [Fact]
    public void Tokens_may_span_lines_and_comments_are_skipped()
    {
        var netrc = Netrc.Parse(
            """
            # scheduler credentials
            machine sched
              login alice   # the admin
              account ignored
              password apple
            """,
            "n");

        Assert.Equal(new NetrcCredentials("alice", "apple"), netrc.Find("sched"));
    }

    [Fact]
    public void Default_answers_for_hosts_without_an_entry_and_the_first_entry_for_a_host_wins()
    {
        var netrc = Netrc.Parse("machine a login first password 1 machine a login second password 2 default login anyone password any", "n");

        Assert.Equal("first", netrc.Find("a")!.Login);
        Assert.Equal(new NetrcCredentials("anyone", "any"), netrc.Find("b"));
    }

    [Fact]
    public void Quoted_tokens_and_a_password_starting_with_a_hash_are_read_whole()
    {
        var netrc = Netrc.Parse("machine a login \"al ice\" password #secret\\\"1", "n");

        Assert.Equal(new NetrcCredentials("al ice", "#secret\"1"), netrc.Find("a"));
    }

    [Fact]
    public void Macro_definitions_are_skipped_up_to_the_blank_line()
    {
        var netrc = Netrc.Parse("macdef init\ncd /pub\nmachine fake login x password y\n\nmachine real login alice password apple\n", "n");

        Assert.Null(netrc.Find("fake"));
        Assert.Equal("alice", netrc.Find("real")!.Login);
    }

    [Fact]
    public void An_entry_without_a_password_gives_no_credentials()
    {
        Assert.Null(Netrc.Parse("machine a login alice", "n").Find("a"));
    }

    [Theory]
    [InlineData("login alice password apple", "line 1: expected 'machine', 'default' or 'macdef', got 'login'")]
    [InlineData("machine", "line 1: 'machine' needs a value")]
    [InlineData("machine a\nlogin alice\npassword", "line 3: 'password' needs a value")]
    [InlineData("machine a login \"alice", "line 1: a quoted token is not closed")]
    public void Malformed_files_are_errors_naming_the_file_and_line(string text, string problem)
    {
        var error = Assert.Throws<ClientException>(() => Netrc.Parse(text, "/home/alice/.netrc"));

        Assert.Equal(ExitCodes.InvalidConfiguration, error.ExitCode);
        Assert.Equal($"invalid netrc file /home/alice/.netrc {problem}", error.Message);
    }

    [Fact]
    public void A_missing_file_is_empty()
    {
        using var directory = new TempDirectory();

        Assert.Null(Netrc.Load(directory.Sub(".netrc")).Find("anything"));
    }

    [Fact]
    public void Credentials_do_not_print_the_password()
    {
        Assert.DoesNotContain("apple", new NetrcCredentials("alice", "apple").ToString(), StringComparison.Ordinal);
    }
}
