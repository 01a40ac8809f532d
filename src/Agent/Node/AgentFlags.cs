using System.Globalization;
using System.Net;
using System.Text;
using Aurora.Agent.Executor;
using Aurora.Agent.Protocol;
using Aurora.CommandLine;

namespace Aurora.Agent.Node;

/// <summary>
/// Every flag <c>aurora-agent</c> accepts, with Mesos agent names where Mesos has one. Parsing
/// validates every value and fills in what the machine says for the rest; any mistake is one
/// <see cref="UsageException"/> naming the flag.
/// </summary>
public static class AgentFlags
{
    public const string DefaultScheduler = "http://127.0.0.1:8081";
    public const int DefaultHttpPort = 5051;
    public const string DefaultDockerSocket = "/var/run/docker.sock";

    public static readonly IReadOnlyList<FlagSpec> All =
    [
        new("scheduler", "Scheduler to heartbeat to, or every replica's URL comma-separated (tried in turn when one stops answering); a replica that does not lead redirects to the leader.", "URL[,URL...]", DefaultScheduler),
        new("zk_endpoints", "ZooKeeper ensemble host:port,... to find the leading scheduler (not in this build yet; use -scheduler).", "HOSTS", string.Empty),
        new("serverset_path", "ZooKeeper path where the leading scheduler publishes its endpoint (with -zk_endpoints; not in this build yet).", "PATH", string.Empty),
        new("work_dir", "Directory for the agent id, task checkpoints and sandboxes; created if missing. Required.", "DIR", null),
        new("hostname", "Host name the agent registers with (default: this machine's host name).", "NAME", null),
        new("ip", "Address the sandbox HTTP server binds; 0.0.0.0 (every interface) advertises sandbox URLs by -hostname, as a Mesos agent does.", "ADDRESS", "0.0.0.0"),
        new("http_port", "Port of the sandbox HTTP server; 0 picks a free port.", "PORT", DefaultHttpPort.ToString(CultureInfo.InvariantCulture)),
        new("attributes", "Host attributes name:value;... (a name may repeat for several values); host:<hostname> is added unless given.", "ATTRS", string.Empty),
        new("resources", "Resources offered, cpus:N;mem:MB;disk:MB;gpus:N;ports:[A-B,...]. Missing ones are detected: cpus = processors, mem = RAM - min(1GB, half), disk = free space of -work_dir - min(5GB, half), ports [31000-32000], gpus 0.", "RESOURCES", string.Empty),
        new("revocable_resources", "Revocable resources offered on top, for revocable-tier tasks only: cpus:N;mem:MB;disk:MB;gpus:N (no ports).", "RESOURCES", string.Empty),
        new("max_log_size", "Size at which a process's stdout/stderr is rotated, unless the task or the scheduler says otherwise (a bare number is MB).", "SIZE", "100MB"),
        new("max_log_backups", "Rotated stdout/stderr files kept per process, unless the task or the scheduler says otherwise.", "N", "10"),
        new("gc_delay", "How long the sandbox of a finished task the scheduler has recorded is kept before it is deleted (the Mesos agent's --gc_delay).", "DURATION", "7days"),
        new("heartbeat_wait", "How long the scheduler may hold a heartbeat when the agent has nothing new (at most 30secs).", "DURATION", "10secs"),
        new("nosetuid", "Run every task as the agent's own user instead of its role's Unix user (Thermos' --nosetuid), for single-user setups; -dev uses it."),
        new("allow_root_role", "Allow tasks whose role's user is root (uid 0) to run as root; refused by default."),
        new("isolation", "How tasks are held to their resources: cgroups (each task in a cgroup of its own sized to its cpus, mem and a pids limit, and its sandbox watched against its disk; the agent does not start without them), none, or auto (cgroups when this machine lets the agent make them, otherwise none with a warning).", "auto|cgroups|none", "auto"),
        new("cgroups_root", "Name of the agent's cgroup under each cgroup hierarchy; each task's cgroup is made inside it (the Mesos agent's --cgroups_root).", "NAME", "aurora"),
        new("cgroups_enable_cfs", "Hard-cap each task's CPU at its cpus with a CFS quota, not only share CPU by weight (the Mesos agent's --cgroups_enable_cfs)."),
        new("cgroups_pids_max", "The most processes and threads one task may hold at once (pids.max): a fork bomb stops there.", "N", TaskIsolation.DefaultPidsMax.ToString(CultureInfo.InvariantCulture)),
        new("container_disk_watch_interval", "How often each task's sandbox is measured against its disk quota (the Mesos agent's flag of that name).", "DURATION", "15secs"),
        new("credential", "File with this agent's principal and secret for the scheduler's -agent_credentials (the Mesos agent's --credential: JSON {\"principal\": ..., \"secret\": ...} or one line 'principal secret'). Without it heartbeats carry no credentials.", "FILE", string.Empty),
        new("docker_socket", "Docker's socket; Docker tasks are accepted when it exists and docker is on PATH.", "PATH", DefaultDockerSocket),
    ];

    private static readonly Flags Parser = new(All);

    public static string Usage()
    {
        var output = new StringBuilder("Usage: aurora-agent -work_dir=DIR [-flag=value ...]   (also --flag=value or --flag value)\n\nFlags:\n");
        Flags.WriteUsage(output, All, "  ");
        return output.ToString();
    }

    /// <summary>Parses and validates the command line; creates -work_dir when it is missing.</summary>
    /// <param name="machine">Where defaults come from; this machine when null.</param>
    public static AgentOptions Parse(IReadOnlyList<string> args, IMachine? machine = null)
    {
        machine ??= LocalMachine.Instance;
        var parsed = Parser.Parse(args, "aurora-agent");
        if (parsed.Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{parsed.Positionals[0]}': aurora-agent takes only flags (-help lists them)");
        }

        string Value(string name) => parsed.GetString(name) ?? All.First(f => f.Name == name).Default ?? string.Empty;

        foreach (var zookeeper in new[] { "zk_endpoints", "serverset_path" })
        {
            if (Value(zookeeper) is { Length: > 0 } given)
            {
                throw new UsageException($"-{zookeeper}={given}: ZooKeeper discovery is not in this build yet; use -scheduler=URL");
            }
        }

        var schedulers = new List<Uri>();
        var schedulerFlag = Value("scheduler") ?? string.Empty;
        var items = schedulerFlag.Split(',', StringSplitOptions.TrimEntries);
        foreach (var scheduler in items)
        {
            if (!Uri.TryCreate(scheduler, UriKind.Absolute, out var schedulerUri) || schedulerUri.Scheme is not ("http" or "https") || schedulerUri.Host.Length == 0)
            {
                throw new UsageException($"-scheduler={schedulerFlag}: must be an http:// or https:// URL, e.g. {DefaultScheduler}"
                    + (items.Length > 1 ? $", or several comma-separated; '{scheduler}' is not one" : string.Empty));
            }

            schedulers.Add(schedulerUri);
        }

        var givenHostname = parsed.GetString("hostname");
        var hostname = givenHostname ?? machine.HostName;
        if (ProtocolLimits.HostnameProblem(hostname) is { } hostnameProblem)
        {
            // The scheduler refuses every heartbeat from such a host name: better not to start.
            throw new UsageException(givenHostname is null
                ? $"-hostname: this machine's host name cannot be used: {hostnameProblem} Give one with -hostname=NAME"
                : $"-hostname: {hostnameProblem}");
        }

        var ipText = Value("ip");
        if (!IPAddress.TryParse(ipText, out var ip))
        {
            throw new UsageException($"-ip={ipText}: not an IP address");
        }

        var port = Integer(Value("http_port"), "http_port", 0, 65535);
        var attributes = AttributeText.WithHost(AttributeText.Parse(Value("attributes"), "attributes"), hostname);
        if (AttributesProblem(attributes, "-attributes") is { } attributesProblem)
        {
            throw new UsageException(attributesProblem);
        }
        var givenResources = ResourceText.Parse(Value("resources"), "resources");
        var revocable = parsed.GetString("revocable_resources") is { } revocableText
            ? ResourceText.Parse(revocableText, "revocable_resources", allowPorts: false).Complete(new ResourceSet(0, 0, 0, []))
            : null;

        var logSizeText = Value("max_log_size");
        if (!Amounts.TryParseBytes(logSizeText, 1L << 20, out var logSize) || logSize < 1L << 20 || logSize % (1L << 20) != 0)
        {
            throw new UsageException($"-max_log_size={logSizeText}: must be a whole number of MB, at least 1MB (e.g. 100MB, 1GB)");
        }

        var backups = Integer(Value("max_log_backups"), "max_log_backups", 1, 10_000);
        var waitText = Value("heartbeat_wait");
        if (!Amounts.TryParseDuration(waitText, TimeSpan.FromSeconds(1), out var wait) || wait <= TimeSpan.Zero || wait > TimeSpan.FromMilliseconds(AgentApi.MaxWaitMs))
        {
            throw new UsageException($"-heartbeat_wait={waitText}: must be a duration above 0 and at most 30secs (the longest a scheduler holds a heartbeat), e.g. 10secs");
        }

        var gcText = Value("gc_delay");
        if (!Amounts.TryParseDuration(gcText, TimeSpan.FromSeconds(1), out var gcDelay) || gcDelay <= TimeSpan.Zero)
        {
            throw new UsageException($"-gc_delay={gcText}: must be a duration above 0, e.g. 7days or 12hrs");
        }

        var dockerSocket = Value("docker_socket");
        var isolation = Value("isolation") switch
        {
            "auto" => IsolationMode.Auto,
            "cgroups" => IsolationMode.Cgroups,
            "none" => IsolationMode.None,
            var other => throw new UsageException($"-isolation={other}: must be auto, cgroups or none"),
        };
        var cgroupsRoot = Value("cgroups_root");
        if (cgroupsRoot.Length is 0 or > 255 || cgroupsRoot is "." or ".." || cgroupsRoot.Any(c => c == '/' || char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            throw new UsageException($"-cgroups_root={cgroupsRoot}: must be one directory name (no '/', spaces or control characters), e.g. aurora");
        }

        var pidsMax = Integer(Value("cgroups_pids_max"), "cgroups_pids_max", 8, 4_194_304);
        var diskWatchText = Value("container_disk_watch_interval");
        if (!Amounts.TryParseDuration(diskWatchText, TimeSpan.FromSeconds(1), out var diskWatch) || diskWatch < TimeSpan.FromMilliseconds(100))
        {
            throw new UsageException($"-container_disk_watch_interval={diskWatchText}: must be a duration of at least 100ms, e.g. 15secs");
        }

        AgentCredential? credential = null;
        if (Value("credential") is { Length: > 0 } credentialPath)
        {
            try
            {
                credential = AgentCredentialFile.LoadOne("credential", credentialPath);
            }
            catch (AgentCredentialFileException e)
            {
                throw new UsageException(e.Message);
            }
        }

        // Last, so that a mistake in any other flag leaves the file system alone.
        var workDir = CreateWorkDir(parsed.GetString("work_dir") ?? throw new UsageException("missing required flag -work_dir: where the agent keeps its id, checkpoints and sandboxes"));
        var resources = DetectMissing(givenResources, machine, workDir);
        return new AgentOptions
        {
            Scheduler = schedulers[0],
            Schedulers = schedulers,
            WorkDir = workDir,
            Hostname = hostname,
            Ip = ip,
            HttpPort = port,
            Attributes = attributes,
            Resources = resources,
            RevocableResources = revocable,
            DefaultLogger = new LoggerSpec(LoggerSpec.Rotate, logSize >> 20, backups),
            HeartbeatWait = wait,
            SandboxGcDelay = gcDelay,
            ContainerEngine = machine.IsOnPath("docker") && machine.Exists(dockerSocket),
            RunAsRoleUser = !parsed.GetSwitch("nosetuid"),
            AllowRootRole = parsed.GetSwitch("allow_root_role"),
            Isolation = isolation,
            CgroupsRoot = cgroupsRoot,
            CgroupsEnableCfs = parsed.GetSwitch("cgroups_enable_cfs"),
            CgroupsPidsMax = pidsMax,
            DiskWatchInterval = diskWatch,
            Credential = credential,
        };
    }

    /// <summary>Null when the scheduler accepts these attributes (<see cref="ProtocolLimits.AttributeProblem"/>), otherwise why not.</summary>
    internal static string? AttributesProblem(IReadOnlyList<AgentAttribute> attributes, string where)
    {
        if (attributes.Count > ProtocolLimits.MaxAttributes)
        {
            return $"{where}: {attributes.Count} attributes; at most {ProtocolLimits.MaxAttributes} are allowed";
        }

        return attributes.Select(a => ProtocolLimits.AttributeProblem(a, where)).FirstOrDefault(p => p is not null);
    }

    private static string CreateWorkDir(string text)
    {
        try
        {
            var path = Path.GetFullPath(text);
            Directory.CreateDirectory(path);
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new UsageException($"-work_dir={text}: cannot create it: {e.Message}");
        }
    }

    private static ResourceSet DetectMissing(ResourceAmounts given, IMachine machine, string workDir)
    {
        var (cpus, ramMb, diskMb) = ResourceDefaults.Detect(machine, workDir);
        if (given.RamMb is null && ramMb is not > 0)
        {
            throw new UsageException("-resources: cannot detect this machine's memory; give it as mem:MB");
        }

        if (given.DiskMb is null && diskMb is not > 0)
        {
            throw new UsageException($"-resources: cannot detect the free disk space of {workDir}; give it as disk:MB");
        }

        return given.Complete(new ResourceSet(Math.Max(1, cpus), ramMb ?? 0, diskMb ?? 0, ResourceDefaults.Ports));
    }

    private static int Integer(string text, string name, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= min && number <= max
            ? number
            : throw new UsageException($"-{name}={text}: must be a whole number from {min} to {max}");
}
