namespace Aurora.Client.Tests;

public sealed class ClustersTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string Root => _directory.Sub("root");

    private string Etc => _directory.Sub("etc");

    private string Home => _directory.Sub("home");

    private ClientEnvironment Environment(bool withRoot = true) => new()
    {
        Variables = withRoot ? new Dictionary<string, string> { ["AURORA_CONFIG_ROOT"] = Root } : new Dictionary<string, string>(),
        HomeDirectory = Home,
        SystemConfigDirectory = Etc,
        UserName = "alice",
    };

    private void Write(string directory, string json)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "clusters.json"), json);
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Search_path_is_config_root_then_etc_then_home()
    {
        Assert.Equal(
            [Path.Combine(Root, "clusters.json"), Path.Combine(Etc, "clusters.json"), Path.Combine(Home, ".aurora", "clusters.json")],
            Clusters.SearchPath(Environment()));
        Assert.Equal(
            [Path.Combine(Etc, "clusters.json"), Path.Combine(Home, ".aurora", "clusters.json")],
            Clusters.SearchPath(Environment(withRoot: false)));
    }

    [Fact]
    public void A_cluster_in_several_files_is_taken_from_the_first_in_search_order()
    {
        Write(Root, """[{"name": "west", "scheduler_uri": "http://root:8081"}]""");
        Write(Etc, """[{"name": "west", "scheduler_uri": "http://etc:8081"}, {"name": "east", "scheduler_uri": "http://etc-east:8081"}]""");
        Write(Path.Combine(Home, ".aurora"), """[{"name": "east", "scheduler_uri": "http://home:8081"}, {"name": "north", "scheduler_uri": "http://home-north:8081"}]""");

        var clusters = Clusters.Load(Environment());

        Assert.Equal("http://root:8081/", clusters.Get("west").SchedulerUri!.ToString());
        Assert.Equal(Path.Combine(Root, "clusters.json"), clusters.Get("west").Source);
        Assert.Equal("http://etc-east:8081/", clusters.Get("east").SchedulerUri!.ToString());
        Assert.Equal("http://home-north:8081/", clusters.Get("north").SchedulerUri!.ToString());
    }

    [Fact]
    public void Devcluster_is_built_in_when_no_file_defines_it()
    {
        var clusters = Clusters.Load(Environment());

        var dev = clusters.Get("devcluster");
        Assert.Equal(new Uri("http://127.0.0.1:8081"), dev.SchedulerUri);
        Assert.Equal(Clusters.BuiltIn, dev.Source);
        Assert.Equal(AuthMechanism.Unauthenticated, dev.AuthMechanism);
    }

    [Fact]
    public void A_file_may_redefine_devcluster()
    {
        Write(Etc, """[{"name": "devcluster", "scheduler_uri": "http://10.0.0.1:9000", "auth_mechanism": "BASIC"}]""");

        var dev = Clusters.Load(Environment()).Get("devcluster");

        Assert.Equal(new Uri("http://10.0.0.1:9000"), dev.SchedulerUri);
        Assert.Equal(AuthMechanism.Basic, dev.AuthMechanism);
    }

    [Fact]
    public void Aurora_fields_are_read_and_the_ones_not_used_yet_are_accepted()
    {
        var cluster = Assert.Single(Clusters.Parse(
            """
            [{"name": "c", "zk": "zk1", "zk_port": 2182, "scheduler_zk_path": "/aurora/scheduler",
              "scheduler_uri": "https://sched:443/prefix", "proxy_url": "https://aurora.example/",
              "auth_mechanism": "basic", "slave_root": "/var/lib/mesos", "slave_run_directory": "latest",
              "docker_registry": "registry:5000"}]
            """,
            "f.json"));

        Assert.Equal(("c", "zk1", 2182, "/aurora/scheduler"), (cluster.Name, cluster.Zk, cluster.ZkPort, cluster.SchedulerZkPath));
        Assert.Equal(AuthMechanism.Basic, cluster.AuthMechanism);
        Assert.Equal("https://aurora.example", cluster.WebBase);
        Assert.Equal(Clusters.DefaultZkPort, Assert.Single(Clusters.Parse("""[{"name": "d", "zk": "z"}]""", "f.json")).ZkPort);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""{"name": "c"}""", "must be a JSON list")]
    [InlineData("""[{"scheduler_uri": "http://x:1"}]""", "entry 0 has no \"name\"")]
    [InlineData("""[42]""", "entry 0 must be an object")]
    [InlineData("""[{"name": "c", "scheduler_url": "http://x:1"}]""", "cluster 'c' has unknown field \"scheduler_url\"")]
    [InlineData("""[{"name": "c", "scheduler_uri": "x:1"}]""", "\"scheduler_uri\" must be an http:// or https:// URI, got 'x:1'")]
    [InlineData("""[{"name": "c", "scheduler_uri": 8081}]""", "\"scheduler_uri\" must be a string")]
    [InlineData("""[{"name": "c", "zk_port": 0}]""", "\"zk_port\" must be a port number")]
    [InlineData("""[{"name": "c", "auth_mechanism": "KERBEROS"}]""", "KERBEROS is not supported")]
    [InlineData("""[{"name": "c", "auth_mechanism": "TOKEN"}]""", "auth_mechanism must be UNAUTHENTICATED or BASIC, got 'TOKEN'")]
    [InlineData("""[{"name": "c"}, {"name": "c"}]""", "cluster 'c' is defined more than once")]
    public void Bad_files_are_errors_that_name_the_file_and_the_problem(string json, string problem)
    {
        var path = Path.Combine(Etc, "clusters.json");
        Write(Etc, json);

        var error = Assert.Throws<ClientException>(() => Clusters.Load(Environment()));

        Assert.Equal(ExitCodes.InvalidConfiguration, error.ExitCode);
        Assert.Contains($"invalid clusters file {path}", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_cluster_names_the_known_ones_and_the_files_searched()
    {
        Write(Etc, """[{"name": "west", "scheduler_uri": "http://etc:8081"}]""");

        var error = Assert.Throws<ClientException>(() => Clusters.Load(Environment()).Get("east"));

        Assert.Equal(ExitCodes.InvalidParameter, error.ExitCode);
        Assert.Contains("unknown cluster 'east'", error.Message, StringComparison.Ordinal);
        Assert.Contains("devcluster, west", error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(Home, ".aurora", "clusters.json"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cluster_with_only_zookeeper_fails_when_used_and_says_discovery_is_not_supported()
    {
        Write(Etc, """[{"name": "zk-only", "zk": "zk.example", "scheduler_zk_path": "/aurora"}, {"name": "ok", "scheduler_uri": "http://x:1"}]""");
        var clusters = Clusters.Load(Environment());

        var error = Assert.Throws<ClientException>(() => clusters.Get("zk-only").RequireSchedulerUri());

        Assert.Equal(ExitCodes.InvalidConfiguration, error.ExitCode);
        Assert.Contains("ZooKeeper discovery is not supported by this client yet", error.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(Etc, "clusters.json"), error.Message, StringComparison.Ordinal);
        Assert.Equal(new Uri("http://x:1"), clusters.Get("ok").RequireSchedulerUri());
    }
}
