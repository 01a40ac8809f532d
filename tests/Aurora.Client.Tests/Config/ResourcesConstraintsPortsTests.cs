using System.Text.Json.Nodes;
using Aurora.Scheduler.Protos;
using static Aurora.Client.Tests.Config.ConfigText;

namespace Aurora.Client.Tests.Config;

public class ResourcesConstraintsPortsTests
{
    [Theory]
    [InlineData("\"32MB\"", 32)]
    [InlineData("\"2GB\"", 2048)]
    [InlineData("\"512MiB\"", 512)]
    [InlineData("\"1.5GB\"", 1536)]
    [InlineData("\"1TB\"", 1048576)]
    [InlineData("\"1024KB\"", 1)]
    [InlineData("33554432", 32)]
    [InlineData("\"33554432\"", 32)]
    [InlineData("\"64 MB\"", 64)]
    public void Sizes_take_units_or_a_number_of_bytes(string json, long megabytes)
    {
        var resources = Load(j => { j.Resources()["ram"] = JsonNode.Parse(json); j.Resources()["disk"] = JsonNode.Parse(json); }).Config.Task.Resources;

        Assert.Equal(megabytes, resources.RamMb);
        Assert.Equal(megabytes, resources.DiskMb);
    }

    [Theory]
    [InlineData("\"32QB\"", "\"32QB\" is not a size")]
    [InlineData("\"-1MB\"", "\"-1MB\" is not a size")]
    [InlineData("\"MB\"", "\"MB\" is not a size")]
    [InlineData("\"32mb\"", "\"32mb\" is not a size")]
    [InlineData("1.5", "1.5 is not a size")]
    [InlineData("\"0MB\"", "must be greater than 0, got \"0MB\"")]
    [InlineData("true", "expected a size such as \"32MB\", got true")]
    [InlineData("\"1500KB\"", "\"1500KB\" is not a whole number of megabytes (1536000 bytes); Aurora.NET counts disk in MB")]
    [InlineData("33554433", "33554433 is not a whole number of megabytes (33554433 bytes); Aurora.NET counts disk in MB")]
    public void Bad_sizes_are_refused(string json, string problem)
    {
        var error = Error(j => j.Resources()["disk"] = JsonNode.Parse(json));

        Assert.Equal("jobs[0].task.resources.disk", error.FieldPath);
        Assert.StartsWith(problem, error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Cpu_and_gpu_are_mapped_and_checked()
    {
        var resources = Load(j => { j.Resources()["cpu"] = 2; j.Resources()["gpu"] = 1; }).Config.Task.Resources;
        Assert.Equal(2.0, resources.NumCpus);
        Assert.Equal(1, resources.NumGpus);

        Assert.Equal("must be greater than 0, got 0", Error(j => j.Resources()["cpu"] = 0).Problem);
        Assert.Equal("expected a number, got \"1\"", Error(j => j.Resources()["cpu"] = "1").Problem);
        Assert.Equal("required", Error(j => j.Resources().Remove("cpu")).Problem);
        Assert.Equal("required", Error(j => j.Resources().Remove("ram")).Problem);
        Assert.Equal("must be at least 0, got -1", Error(j => j.Resources()["gpu"] = -1).Problem);
        Assert.Equal("jobs[0].task.resources", Error(j => j.Task().Remove("resources")).FieldPath);
    }

    [Fact]
    public void Constraints_use_Auroras_string_syntax()
    {
        var constraints = Load(j => j["constraints"] = JsonNode.Parse("""
            {"host": "limit:1", "rack": "!r1,r2", "zone": "a, b", "dedicated": "www-data/redis"}
            """)).Config.Task.Constraints;

        Assert.Equal(
            [
                new Constraint { Name = "host", Limit = new LimitConstraint { Limit = 1 } },
                new Constraint { Name = "rack", Value = new ValueConstraint { Negated = true, Values = { "r1", "r2" } } },
                new Constraint { Name = "zone", Value = new ValueConstraint { Negated = false, Values = { "a", "b" } } },
                new Constraint { Name = "dedicated", Value = new ValueConstraint { Values = { "www-data/redis" } } },
            ],
            constraints);
    }

    [Theory]
    [InlineData("limit:x", "\"limit:x\" is not a limit: write \"limit:N\" with N a whole number greater than 0")]
    [InlineData("limit:0", "\"limit:0\" is not a limit: write \"limit:N\" with N a whole number greater than 0")]
    [InlineData("a,,b", "\"a,,b\" has an empty value: write \"value1,value2\", \"!value\" or \"limit:N\"")]
    [InlineData("!", "\"!\" has an empty value: write \"value1,value2\", \"!value\" or \"limit:N\"")]
    public void Bad_constraints_are_refused(string value, string problem)
    {
        var error = Error(j => j["constraints"] = new JsonObject { ["host.name"] = value });

        Assert.Equal("jobs[0].constraints[\"host.name\"]", error.FieldPath);
        Assert.Equal(problem, error.Problem);
    }

    [Fact]
    public void Ports_are_the_names_the_config_references_in_order_of_first_use()
    {
        var task = Load(j =>
        {
            j.Task()["processes"] = JsonNode.Parse("""
                [{"name": "web", "cmdline": "serve --port={{thermos.ports[http]}} --admin={{ thermos.ports[admin] }} --again={{thermos.ports[http]}}"},
                 {"name": "side", "cmdline": "side --instance={{mesos.instance}} --host={{mesos.hostname}} --id={{thermos.task_id}} --health={{thermos.ports[health]}}"}]
                """);
        }).Config.Task;

        Assert.Equal(["http", "admin", "health"], task.Resources.NamedPorts);
        Assert.Equal("side --instance={{mesos.instance}} --host={{mesos.hostname}} --id={{thermos.task_id}} --health={{thermos.ports[health]}}", task.Processes[1].Cmdline);
    }

    [Fact]
    public void A_health_port_turns_on_Auroras_default_http_health_check()
    {
        var check = Load(j => j.Process()["cmdline"] = "serve --port={{thermos.ports[health]}}").Config.Task.HealthCheck;

        Assert.Equal(
            new HealthCheck
            {
                Http = new HttpHealthChecker { Endpoint = "/health", ExpectedResponse = "ok", ExpectedResponseCode = 0 },
                InitialIntervalSecs = 15,
                IntervalSecs = 10,
                TimeoutSecs = 1,
                MaxConsecutiveFailures = 0,
                MinConsecutiveSuccesses = 1,
            },
            check);
    }

    [Fact]
    public void A_health_check_config_is_mapped()
    {
        var http = Load(j =>
        {
            j.Process()["cmdline"] = "serve --port={{thermos.ports[health]}}";
            j["health_check_config"] = JsonNode.Parse("""
                {"health_checker": {"http": {"endpoint": "/ok", "expected_response": "fine", "expected_response_code": 200}},
                 "initial_interval_secs": 30, "interval_secs": 5, "timeout_secs": 2.5, "max_consecutive_failures": 3, "min_consecutive_successes": 2}
                """);
        }).Config.Task.HealthCheck;
        Assert.Equal(
            new HealthCheck
            {
                Http = new HttpHealthChecker { Endpoint = "/ok", ExpectedResponse = "fine", ExpectedResponseCode = 200 },
                InitialIntervalSecs = 30,
                IntervalSecs = 5,
                TimeoutSecs = 2.5,
                MaxConsecutiveFailures = 3,
                MinConsecutiveSuccesses = 2,
            },
            http);

        var shell = Load(j => j["health_check_config"] = JsonNode.Parse("""{"health_checker": {"shell": {"shell_command": "test -f /tmp/ok"}}}""")).Config.Task.HealthCheck;
        Assert.Equal("test -f /tmp/ok", shell.Shell.ShellCommand);
        Assert.Equal(15, shell.InitialIntervalSecs);
    }

    [Fact]
    public void Ports_referenced_by_the_health_check_command_are_requested_too()
    {
        var task = Load(j => j["health_check_config"] = JsonNode.Parse("""{"health_checker": {"shell": {"shell_command": "curl localhost:{{thermos.ports[admin]}}"}}}""")).Config.Task;

        Assert.Equal(["admin"], task.Resources.NamedPorts);
    }

    [Fact]
    public void The_announced_primary_port_is_requested_as_Aurora_does()
    {
        Assert.Equal(["http"], Load(j => j["announce"] = new JsonObject()).Config.Task.Resources.NamedPorts);
        Assert.Equal(["admin", "thrift"], Load(j =>
        {
            j.Process()["cmdline"] = "serve {{thermos.ports[admin]}}";
            j["announce"] = new JsonObject { ["primary_port"] = "thrift", ["zk_path"] = "/aurora/x" };
        }).Config.Task.Resources.NamedPorts);
        Assert.Equal(["http"], Load(j =>
        {
            j.Process()["cmdline"] = "serve {{thermos.ports[http]}}";
            j["announce"] = new JsonObject();
        }).Config.Task.Resources.NamedPorts);
    }
}
