using System.Net;
using Aurora.Agent.Node;
using Aurora.Agent.Protocol;
using Aurora.Agent.Tests.Support;
using Aurora.CommandLine;

namespace Aurora.Agent.Tests;

public sealed class AgentFlagsTests
{
    [Fact]
    public void Only_work_dir_given_everything_else_is_defaulted_or_detected_from_the_machine()
    {
        using var directory = new TempDirectory();
        var workDir = directory.Sub("agent");
        var options = AgentFlags.Parse([$"-work_dir={workDir}"], new FakeMachine());

        Assert.True(Directory.Exists(workDir));
        Assert.Equal(workDir, options.WorkDir);
        Assert.Equal(new Uri("http://127.0.0.1:8081"), options.Scheduler);
        Assert.Equal("node1.example.com", options.Hostname);
        Assert.Equal(IPAddress.Any, options.Ip);
        Assert.Equal(TimeSpan.FromDays(7), options.SandboxGcDelay);
        Assert.Equal(5051, options.HttpPort);
        Assert.Equal(8, options.Resources.Cpus);
        Assert.Equal(16_384 - 1024, options.Resources.RamMb);
        Assert.Equal(100_000 - 5 * 1024, options.Resources.DiskMb);
        Assert.Equal(0, options.Resources.Gpus);
        Assert.Equal([new PortRange(31000, 32000)], options.Resources.Ports);
        Assert.Null(options.RevocableResources);
        var host = Assert.Single(options.Attributes);
        Assert.Equal(("host", "node1.example.com"), (host.Name, Assert.Single(host.Values)));
        Assert.Equal(new LoggerSpec(LoggerSpec.Rotate, 100, 10), options.DefaultLogger);
        Assert.Equal(TimeSpan.FromSeconds(10), options.HeartbeatWait);
        Assert.False(options.ContainerEngine);
        Assert.True(options.RunAsRoleUser);
        Assert.False(options.AllowRootRole);
        Assert.Equal(IsolationMode.Auto, options.Isolation);
        Assert.Equal("aurora", options.CgroupsRoot);
        Assert.False(options.CgroupsEnableCfs);
        Assert.Equal(4096, options.CgroupsPidsMax);
        Assert.Equal(TimeSpan.FromSeconds(15), options.DiskWatchInterval);
    }

    [Fact]
    public void Isolation_flags_are_used()
    {
        using var directory = new TempDirectory();
        var options = AgentFlags.Parse(
            [$"-work_dir={directory.Sub("agent")}", "-isolation=cgroups", "-cgroups_root=tasks", "-cgroups_enable_cfs", "-cgroups_pids_max=100", "-container_disk_watch_interval=2secs"],
            new FakeMachine());

        Assert.Equal(IsolationMode.Cgroups, options.Isolation);
        Assert.Equal("tasks", options.CgroupsRoot);
        Assert.True(options.CgroupsEnableCfs);
        Assert.Equal(100, options.CgroupsPidsMax);
        Assert.Equal(TimeSpan.FromSeconds(2), options.DiskWatchInterval);
    }

    [Fact]
    public void Nosetuid_runs_tasks_as_the_agents_user_and_allow_root_role_lets_root_roles_run()
    {
        using var directory = new TempDirectory();
        var options = AgentFlags.Parse([$"-work_dir={directory.Sub("agent")}", "-nosetuid", "-allow_root_role"], new FakeMachine());

        Assert.False(options.RunAsRoleUser);
        Assert.True(options.AllowRootRole);
    }

    [Fact]
    public void A_small_machine_keeps_half_its_memory_and_disk_for_the_system()
    {
        using var directory = new TempDirectory();
        var options = AgentFlags.Parse([$"-work_dir={directory.Path}"], new FakeMachine { TotalMemoryMb = 1500, FreeDiskMbValue = 6000 });
        Assert.Equal(750, options.Resources.RamMb);
        Assert.Equal(3000, options.Resources.DiskMb);
    }

    [Fact]
    public void The_real_machine_yields_positive_defaults()
    {
        using var directory = new TempDirectory();
        var options = AgentFlags.Parse([$"-work_dir={directory.Path}"]);
        Assert.Equal(Environment.ProcessorCount, options.Resources.Cpus);
        Assert.True(options.Resources.RamMb > 0);
        Assert.True(options.Resources.DiskMb > 0);
        Assert.Equal(Environment.MachineName, options.Hostname);
    }

    [Fact]
    public void Every_flag_given_is_used()
    {
        using var directory = new TempDirectory();
        var options = AgentFlags.Parse(
            [
                $"-work_dir={directory.Path}", "-scheduler=http://sched.example.com:9000", "-hostname=h7", "-ip=0.0.0.0", "-http_port=0",
                "-attributes=rack:r1;dedicated:db_team/redis", "-resources=cpus:2;mem:4096;ports:[40000-40009]", "-revocable_resources=cpus:1.5;mem:512",
                "-max_log_size=1GB", "-max_log_backups=3", "-heartbeat_wait=500ms", "-docker_socket=/tmp/docker.sock",
            ],
            new FakeMachine { DockerOnPath = true, ExistingPaths = new HashSet<string> { "/tmp/docker.sock" } });

        Assert.Equal(new Uri("http://sched.example.com:9000"), options.Scheduler);
        Assert.Equal("h7", options.Hostname);
        Assert.Equal(IPAddress.Any, options.Ip);
        Assert.Equal(0, options.HttpPort);
        Assert.Equal(["host:h7", "rack:r1", "dedicated:db_team/redis"], options.Attributes.SelectMany(a => a.Values.Select(v => $"{a.Name}:{v}")));
        Assert.Equal((2.0, 4096L, 100_000L - 5120), (options.Resources.Cpus, options.Resources.RamMb, options.Resources.DiskMb));
        Assert.Equal([new PortRange(40000, 40009)], options.Resources.Ports);
        Assert.Equal((1.5, 512L, 0L), (options.RevocableResources!.Cpus, options.RevocableResources.RamMb, options.RevocableResources.DiskMb));
        Assert.Empty(options.RevocableResources.Ports);
        Assert.Equal(new LoggerSpec(LoggerSpec.Rotate, 1024, 3), options.DefaultLogger);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.HeartbeatWait);
        Assert.True(options.ContainerEngine);
    }

    [Fact]
    public void The_credential_file_is_read_in_either_of_Mesos_forms_and_a_bad_one_names_the_file()
    {
        using var directory = new TempDirectory();
        var text = directory.Sub("credential.txt");
        var json = directory.Sub("credential.json");
        var empty = directory.Sub("empty");
        File.WriteAllText(text, "web1 s3cret\n");
        File.WriteAllText(json, "{\"principal\": \"web1\", \"secret\": \"s3cret\"}");
        File.WriteAllText(empty, string.Empty);
        AgentOptions Parse(params string[] flags) => AgentFlags.Parse([$"-work_dir={directory.Sub("w")}", .. flags], new FakeMachine());
        string Refused(string flag) => Assert.Throws<UsageException>(() => AgentFlags.Parse([$"-work_dir={directory.Sub("refused")}", flag], new FakeMachine())).Message;

        Assert.Null(Parse().Credential);
        foreach (var file in new[] { text, json })
        {
            var credential = Parse($"-credential={file}").Credential!;
            Assert.Equal(("web1", "s3cret"), (credential.Principal, credential.Secret));
            Assert.Equal("Basic " + Convert.ToBase64String("web1:s3cret"u8.ToArray()), credential.BasicHeader());
        }

        Assert.Equal($"-credential={empty}: is empty; it needs a line 'principal secret' (or JSON, see docs/security.md)", Refused($"-credential={empty}"));
        Assert.Equal($"-credential={directory.Sub("nope")}: no such file", Refused($"-credential={directory.Sub("nope")}"));
        Assert.False(Directory.Exists(directory.Sub("refused")), "a bad -credential must leave the file system alone");
    }

    [Fact]
    public void Docker_needs_both_the_program_and_the_socket()
    {
        using var directory = new TempDirectory();
        var socket = new HashSet<string> { AgentFlags.DefaultDockerSocket };
        Assert.False(AgentFlags.Parse([$"-work_dir={directory.Path}"], new FakeMachine { DockerOnPath = true }).ContainerEngine);
        Assert.False(AgentFlags.Parse([$"-work_dir={directory.Path}"], new FakeMachine { ExistingPaths = socket }).ContainerEngine);
        Assert.True(AgentFlags.Parse([$"-work_dir={directory.Path}"], new FakeMachine { DockerOnPath = true, ExistingPaths = socket }).ContainerEngine);
    }

    [Theory]
    [InlineData("-resources=cpus:four", "-resources: \"cpus:four\": cpus must be a positive number")]
    [InlineData("-attributes=rack", "-attributes: \"rack\": expected name:value")]
    [InlineData("-revocable_resources=ports:[1-2]", "-revocable_resources: \"ports:[1-2]\": ports cannot be revocable")]
    [InlineData("-zk_endpoints=zk1:2181", "-zk_endpoints=zk1:2181: ZooKeeper discovery is not in this build yet; use -scheduler=URL")]
    [InlineData("-gc_delay=0secs", "-gc_delay=0secs: must be a duration above 0, e.g. 7days or 12hrs")]
    [InlineData("-gc_delay=soon", "-gc_delay=soon: must be a duration above 0, e.g. 7days or 12hrs")]
    [InlineData("-serverset_path=/aurora/scheduler", "-serverset_path=/aurora/scheduler: ZooKeeper discovery is not in this build yet; use -scheduler=URL")]
    [InlineData("-scheduler=localhost:8081", "-scheduler=localhost:8081: must be an http:// or https:// URL, e.g. http://127.0.0.1:8081")]
    [InlineData("-scheduler=ftp://x", "-scheduler=ftp://x: must be an http:// or https:// URL, e.g. http://127.0.0.1:8081")]
    [InlineData("-ip=localhost", "-ip=localhost: not an IP address")]
    [InlineData("-http_port=65536", "-http_port=65536: must be a whole number from 0 to 65535")]
    [InlineData("-http_port=-1", "-http_port=-1: must be a whole number from 0 to 65535")]
    [InlineData("-max_log_size=512KB", "-max_log_size=512KB: must be a whole number of MB, at least 1MB (e.g. 100MB, 1GB)")]
    [InlineData("-max_log_size=big", "-max_log_size=big: must be a whole number of MB, at least 1MB (e.g. 100MB, 1GB)")]
    [InlineData("-max_log_backups=0", "-max_log_backups=0: must be a whole number from 1 to 10000")]
    [InlineData("-isolation=docker", "-isolation=docker: must be auto, cgroups or none")]
    [InlineData("-cgroups_root=a/b", "-cgroups_root=a/b: must be one directory name (no '/', spaces or control characters), e.g. aurora")]
    [InlineData("-cgroups_root=..", "-cgroups_root=..: must be one directory name (no '/', spaces or control characters), e.g. aurora")]
    [InlineData("-cgroups_pids_max=3", "-cgroups_pids_max=3: must be a whole number from 8 to 4194304")]
    [InlineData("-container_disk_watch_interval=10ms", "-container_disk_watch_interval=10ms: must be a duration of at least 100ms, e.g. 15secs")]
    [InlineData("-heartbeat_wait=1min", "-heartbeat_wait=1min: must be a duration above 0 and at most 30secs (the longest a scheduler holds a heartbeat), e.g. 10secs")]
    [InlineData("-heartbeat_wait=0secs", "-heartbeat_wait=0secs: must be a duration above 0 and at most 30secs (the longest a scheduler holds a heartbeat), e.g. 10secs")]
    [InlineData("-hostname= ", "-hostname: hostname ' ' may hold only letters, digits, '.', '-', '_' and ':' (an IPv6 address).")]
    [InlineData("-hostname=web1/a", "-hostname: hostname 'web1/a' may hold only letters, digits, '.', '-', '_' and ':' (an IPv6 address).")]
    [InlineData("-hostname=.web1", "-hostname: hostname '.web1' must not start with '.'.")]
    [InlineData("-attributes=rack:r\u0001", "-attributes: value 'r\\u0001' of attribute rack may not hold control characters or ';'.")]
    [InlineData("-http_prot=1", "unknown flag -http_prot for aurora-agent")]
    [InlineData("extra", "unexpected argument 'extra': aurora-agent takes only flags (-help lists them)")]
    public void A_bad_flag_is_one_message_naming_it(string flag, string message)
    {
        using var directory = new TempDirectory();
        var error = Assert.Throws<UsageException>(() => AgentFlags.Parse([$"-work_dir={directory.Sub("w")}", flag], new FakeMachine()));
        Assert.Equal(message, error.Message);
        Assert.False(Directory.Exists(directory.Sub("w")), "a bad flag leaves the file system alone");
    }

    [Fact]
    public void Host_names_and_attributes_the_scheduler_would_refuse_are_refused_at_start_naming_the_flag()
    {
        using var directory = new TempDirectory();
        var workDir = $"-work_dir={directory.Sub("w")}";
        UsageException Refused(FakeMachine machine, params string[] flags) =>
            Assert.Throws<UsageException>(() => AgentFlags.Parse([workDir, .. flags], machine));

        Assert.Equal("-hostname: hostname has 254 characters; a host name has at most 253.", Refused(new FakeMachine(), "-hostname=" + new string('h', 254)).Message);
        Assert.Equal(
            "-hostname: this machine's host name cannot be used: hostname 'my laptop' may hold only letters, digits, '.', '-', '_' and ':' (an IPv6 address). Give one with -hostname=NAME",
            Refused(new FakeMachine { HostName = "my laptop" }).Message);
        Assert.Equal(
            $"-attributes: an attribute name has 1 to {ProtocolLimits.MaxAttributeNameLength} characters, not 256.",
            Refused(new FakeMachine(), $"-attributes={new string('n', 256)}:v").Message);
        Assert.Equal(
            $"-attributes: a value of attribute rack has 1 to {ProtocolLimits.MaxAttributeValueLength} characters, not 1025.",
            Refused(new FakeMachine(), $"-attributes=rack:{new string('v', 1025)}").Message);
        Assert.Equal(
            "-attributes: attribute zone has 257 values; 1 to 256 are allowed.",
            Refused(new FakeMachine(), "-attributes=" + string.Join(';', Enumerable.Range(0, 257).Select(i => $"zone:z{i}"))).Message);
        Assert.Equal(
            "-attributes: 257 attributes; at most 256 are allowed",
            Refused(new FakeMachine(), "-attributes=" + string.Join(';', Enumerable.Range(0, 256).Select(i => $"a{i}:v"))).Message);
        Assert.False(Directory.Exists(directory.Sub("w")), "a bad flag leaves the file system alone");

        // At the limits, accepted: what the scheduler accepts.
        var options = AgentFlags.Parse([workDir, "-hostname=" + new string('h', 253), "-attributes=" + string.Join(';', Enumerable.Range(0, 255).Select(i => $"a{i}:v"))], new FakeMachine());
        Assert.Equal(256, options.Attributes.Count);
    }

    [Fact]
    public async Task An_embedded_agent_with_a_host_name_the_scheduler_would_refuse_does_not_start()
    {
        using var directory = new TempDirectory();
        using var logs = new CapturedLogs();
        var options = Agents.Options(directory.Path, new Uri("http://127.0.0.1:1/")) with { Hostname = "bad host" };
        var error = await Assert.ThrowsAsync<ArgumentException>(() => AgentNode.StartAsync(options, logs.Factory, _ => new FakeExecutor()));
        Assert.Contains("hostname 'bad host' may hold only", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Work_dir_is_required()
    {
        var error = Assert.Throws<UsageException>(() => AgentFlags.Parse([], new FakeMachine()));
        Assert.Equal("missing required flag -work_dir: where the agent keeps its id, checkpoints and sandboxes", error.Message);
    }

    [Fact]
    public void A_work_dir_that_cannot_be_created_is_a_usage_error_naming_it()
    {
        using var directory = new TempDirectory();
        var file = directory.Sub("file");
        File.WriteAllText(file, "x");
        var error = Assert.Throws<UsageException>(() => AgentFlags.Parse([$"-work_dir={file}/sub"], new FakeMachine()));
        Assert.StartsWith($"-work_dir={file}/sub: cannot create it: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Undetectable_memory_must_be_given()
    {
        using var directory = new TempDirectory();
        var error = Assert.Throws<UsageException>(() => AgentFlags.Parse([$"-work_dir={directory.Path}"], new FakeMachine { TotalMemoryMb = null }));
        Assert.Equal("-resources: cannot detect this machine's memory; give it as mem:MB", error.Message);
        Assert.Equal(2048, AgentFlags.Parse([$"-work_dir={directory.Path}", "-resources=mem:2048"], new FakeMachine { TotalMemoryMb = null }).Resources.RamMb);
    }

    [Fact]
    public void Usage_lists_every_flag_with_its_default()
    {
        var usage = AgentFlags.Usage();
        foreach (var flag in AgentFlags.All)
        {
            Assert.Contains($"--{flag.Name}", usage, StringComparison.Ordinal);
        }

        Assert.Contains("(default: http://127.0.0.1:8081)", usage, StringComparison.Ordinal);
        Assert.Contains("(default: 5051)", usage, StringComparison.Ordinal);
        Assert.Contains("(default: 100MB)", usage, StringComparison.Ordinal);
        Assert.Contains("(default: 10secs)", usage, StringComparison.Ordinal);
    }
}
