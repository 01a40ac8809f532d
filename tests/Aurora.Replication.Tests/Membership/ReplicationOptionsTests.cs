using Aurora.Replication.Membership;

namespace Aurora.Replication.Tests.Membership;

public sealed class ReplicationOptionsTests : IDisposable
{
    private readonly StartUpFlags _startUp = new();

    public void Dispose() => _startUp.Dispose();

    [Fact]
    public void Valid_flags_give_every_option_and_the_defaults()
    {
        var result = ReplicationOptions.Build(_startUp.Flags(3));
        Assert.True(result.Succeeded, string.Join("\n", result.Problems));
        Assert.Empty(result.Problems);
        Assert.Empty(result.Warnings);
        var options = result.Options;
        Assert.Equal("replica1.example.com:8083", options.Membership.SelfId);
        Assert.Equal(["replica1.example.com:8083", "replica2.example.com:8083", "replica3.example.com:8083"], options.Membership.Current.VoterIds);
        Assert.Equal(2, options.QuorumSize);
        Assert.Equal(8083, options.ReplicationPort);
        Assert.Equal(StartUpFlags.Secret, options.Secret.Bytes.ToArray());
        Assert.Equal("devcluster", options.ClusterId);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.HeartbeatInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(300), options.ElectionTimeoutMin);
        Assert.Equal(TimeSpan.FromMilliseconds(600), options.ElectionTimeoutMax);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.LeaderLease);
        Assert.Equal(16 << 20, options.MaxFrameBytes);
        Assert.Equal(1 << 20, options.SnapshotChunkBytes);
    }

    [Fact]
    public void The_secret_never_shows_in_the_options_text()
    {
        var options = ReplicationOptions.Build(_startUp.Flags(3)).Options!;
        var text = options.ToString();
        Assert.Contains("(34 bytes, not shown)", text, StringComparison.Ordinal);
        Assert.DoesNotContain("shared-secret", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_hostname_a_port_that_only_this_replica_has_finds_it()
    {
        var result = ReplicationOptions.Build(_startUp.Flags(
            3,
            (ReplicationFlags.Replicas, "a:8083,b:8084,c:8085"),
            (ReplicationFlags.ReplicationPort, "8085"),
            (ReplicationFlags.Hostname, null)));
        Assert.True(result.Succeeded, string.Join("\n", result.Problems));
        Assert.Equal("c:8085", result.Options.Membership.SelfId);
    }

    [Fact]
    public void Aurora_durations_and_sizes_are_read_with_the_repositorys_parser()
    {
        var result = ReplicationOptions.Build(_startUp.Flags(
            3,
            (ReplicationFlags.HeartbeatInterval, "0.1secs"),
            (ReplicationFlags.LeaderLease, "500ms"),
            (ReplicationFlags.ElectionTimeoutMin, "1secs"),
            (ReplicationFlags.ElectionTimeoutMax, "2s"),
            (ReplicationFlags.MaxFrameSize, "4MB"),
            (ReplicationFlags.SnapshotChunkSize, "512KB")));
        Assert.True(result.Succeeded, string.Join("\n", result.Problems));
        Assert.Equal(
            (TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), 4 << 20, 512 << 10),
            (result.Options.HeartbeatInterval, result.Options.LeaderLease, result.Options.ElectionTimeoutMin, result.Options.ElectionTimeoutMax, result.Options.MaxFrameBytes, result.Options.SnapshotChunkBytes));
    }

    [Theory]
    [InlineData(ReplicationFlags.HeartbeatInterval, "50", "-replication_heartbeat_interval=50 is not a duration with a unit (e.g. 50ms, 300ms, 1secs)")]
    [InlineData(ReplicationFlags.HeartbeatInterval, "fast", "-replication_heartbeat_interval=fast is not a duration with a unit (e.g. 50ms, 300ms, 1secs)")]
    [InlineData(ReplicationFlags.HeartbeatInterval, "0ms", "-replication_heartbeat_interval=0ms must be longer than 0")]
    [InlineData(ReplicationFlags.ElectionTimeoutMax, "300ms", "-replication_election_timeout_max=300ms must be longer than -replication_election_timeout_min=300ms: each follower waits a random time between the two, so that followers rarely stand for election together")]
    [InlineData(ReplicationFlags.ElectionTimeoutMax, "200ms", "-replication_election_timeout_max=200ms must be longer than -replication_election_timeout_min=300ms: each follower waits a random time between the two, so that followers rarely stand for election together")]
    [InlineData(ReplicationFlags.LeaderLease, "300ms", "-replication_leader_lease=300ms must be shorter than -replication_election_timeout_min=300ms: a leader's lease must end before another replica can be elected")]
    [InlineData(ReplicationFlags.LeaderLease, "1secs", "-replication_leader_lease=1secs must be shorter than -replication_election_timeout_min=300ms: a leader's lease must end before another replica can be elected")]
    [InlineData(ReplicationFlags.HeartbeatInterval, "250ms", "-replication_heartbeat_interval=250ms must be shorter than -replication_leader_lease=250ms: heartbeats renew the lease, which would otherwise lapse between two of them")]
    [InlineData(ReplicationFlags.MaxFrameSize, "big", "-replication_max_frame_size=big is not a size (e.g. 512KB, 1MB, 16MB)")]
    [InlineData(ReplicationFlags.MaxFrameSize, "1KB", "-replication_max_frame_size=1KB must be from 64KB to 1GB")]
    [InlineData(ReplicationFlags.MaxFrameSize, "2GB", "-replication_max_frame_size=2GB must be from 64KB to 1GB")]
    [InlineData(ReplicationFlags.MaxFrameSize, "1MB", "-replication_snapshot_chunk_size=1MB must leave room for a chunk's header in a frame: at most -replication_max_frame_size=1MB less 64KB, 960KB")]
    [InlineData(ReplicationFlags.SnapshotChunkSize, "1KB", "-replication_snapshot_chunk_size=1KB must be at least 4KB")]
    [InlineData(ReplicationFlags.SnapshotChunkSize, "8GB", "-replication_snapshot_chunk_size=8GB must leave room for a chunk's header in a frame: at most -replication_max_frame_size=16MB less 64KB, 16320KB")]
    [InlineData(ReplicationFlags.ReplicationPort, "http", "-replication_port=http is not a port number from 1 to 65535")]
    [InlineData(ReplicationFlags.ReplicationPort, "0", "-replication_port=0 is not a port number from 1 to 65535")]
    [InlineData(ReplicationFlags.BindPort, "-1", "-replication_bind_port=-1 is not a port number from 0 to 65535")]
    [InlineData(ReplicationFlags.BindPort, "65536", "-replication_bind_port=65536 is not a port number from 0 to 65535")]
    [InlineData(ReplicationFlags.ReplicationPort, "8084", "-hostname=replica1.example.com -replication_port=8084 match no replica in -native_log_replicas=replica1.example.com:8083,replica2.example.com:8083,replica3.example.com:8083: this replica must be listed as replica1.example.com:8084 (hosts are matched literally, without DNS: localhost, 127.0.0.1 and [::1] are different hosts)")]
    [InlineData(ReplicationFlags.Hostname, "replica1_example", "-hostname=replica1_example: host replica1_example is neither a DNS name nor an IP address: its label 'replica1_example' may hold only letters, digits and '-', and may not start or end with '-'")]
    [InlineData(ReplicationFlags.Replicas, "a:8083,a:8083", "-native_log_replicas: item 2 of 2 \"a:8083\" is the same replica as item 1 \"a:8083\" (a:8083); list each replica once")]
    [InlineData(ReplicationFlags.ClusterName, "dev\tcluster", "-cluster_name: the name holds a control character")]
    public void A_bad_flag_is_refused_in_one_line_naming_it(string flag, string value, string problem) =>
        Assert.Equal(problem, _startUp.OnlyProblem(3, (flag, value)));

    [Fact]
    public void A_bind_port_of_0_binds_any_free_port_while_peers_keep_the_listed_one()
    {
        var result = ReplicationOptions.Build(_startUp.Flags(3, (ReplicationFlags.BindPort, "0")));
        Assert.True(result.Succeeded, string.Join("\n", result.Problems));
        Assert.Equal(0, result.Options.BindPort);
        Assert.Equal(8083, result.Options.ReplicationPort);
    }

    [Fact]
    public void Without_a_hostname_several_entries_on_the_port_are_refused() =>
        Assert.Equal(
            "-replication_port=8083 matches 3 replicas in -native_log_replicas (replica1.example.com:8083, replica2.example.com:8083, replica3.example.com:8083): give -hostname to say which of them this replica is",
            _startUp.OnlyProblem(3, (ReplicationFlags.Hostname, null)));

    [Fact]
    public void Required_flags_are_named_when_missing()
    {
        var result = ReplicationOptions.Build(new Dictionary<string, string?> { [ReplicationFlags.Replicas] = " ", [ReplicationFlags.ClusterName] = null });
        Assert.False(result.Succeeded);
        Assert.Equal(
            [
                "-native_log_replicas is required: every replica's host:port, this one included, e.g. -native_log_replicas=replica1.example.com:8083,replica2.example.com:8083,replica3.example.com:8083",
                "-replication_port is required: the port this replica listens on for its peers, as its entry in -native_log_replicas has it",
                "-replication_secret_file is required: a file of at least 16 random bytes, the same on every replica (head -c 32 /dev/urandom > FILE; chmod 600 FILE)",
                "-cluster_name is required: replicas refuse peers that present another cluster's name",
            ],
            result.Problems);
    }

    [Fact]
    public void Every_problem_is_reported_at_once_and_each_is_one_line()
    {
        var result = ReplicationOptions.Build(_startUp.Flags(
            3,
            (ReplicationFlags.QuorumSize, "1"),
            (ReplicationFlags.SecretFile, _startUp.Directory.Sub("absent")),
            (ReplicationFlags.HeartbeatInterval, "1secs"),
            (ReplicationFlags.SnapshotChunkSize, "huge")));
        Assert.False(result.Succeeded);
        Assert.Null(result.Options);
        Assert.Equal(4, result.Problems.Count);
        Assert.All(result.Problems, p => Assert.DoesNotContain('\n', p));
        Assert.StartsWith("-native_log_quorum_size=1 ", result.Problems[0], StringComparison.Ordinal);
        Assert.StartsWith("-replication_secret_file=", result.Problems[1], StringComparison.Ordinal);
        Assert.StartsWith("-replication_heartbeat_interval=1secs ", result.Problems[2], StringComparison.Ordinal);
        Assert.StartsWith("-replication_snapshot_chunk_size=huge ", result.Problems[3], StringComparison.Ordinal);
    }

    [Fact]
    public void A_secret_others_can_read_is_a_warning_in_the_result()
    {
        StartUpFlags.SetMode(_startUp.SecretPath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var result = ReplicationOptions.Build(_startUp.Flags(3));
        Assert.True(result.Succeeded, string.Join("\n", result.Problems));
        Assert.Equal(
            $"-replication_secret_file={_startUp.SecretPath} can be read by others (mode 604): whoever reads the secret can join this cluster's replication; chmod 600 {_startUp.SecretPath}",
            Assert.Single(result.Warnings));
    }

    [Fact]
    public async Task A_fifo_as_the_secret_file_is_refused_without_blocking_start_up()
    {
        var fifo = _startUp.Directory.Sub("fifo");
        SpecialFiles.MakeFifo(fifo);
        var problem = await SpecialFiles.WithinBoundAsync("start-up with a FIFO as the secret", () => _startUp.OnlyProblem(3, (ReplicationFlags.SecretFile, fifo)));
        Assert.Equal($"-replication_secret_file={fifo} is a FIFO (named pipe), not a regular file holding the secret", problem);
    }

    [Fact]
    public void Election_timeouts_are_drawn_between_the_minimum_and_the_maximum()
    {
        var options = ReplicationOptions.Build(_startUp.Flags(3)).Options!;
        var random = new Random(20261207);
        var timeouts = Enumerable.Range(0, 1000).Select(_ => options.ElectionTimeout(random)).ToList();
        Assert.All(timeouts, t => Assert.InRange(t, options.ElectionTimeoutMin, options.ElectionTimeoutMax));
        Assert.True(timeouts.Distinct().Count() > 900);
    }
}
