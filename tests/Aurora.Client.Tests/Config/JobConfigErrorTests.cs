using System.Text.Json.Nodes;
using Aurora.Client.Config;
using static Aurora.Client.Tests.Config.ConfigText;

namespace Aurora.Client.Tests.Config;

/// <summary>Every error names the file, the field and what is wrong.</summary>
public class JobConfigErrorTests
{
    [Fact]
    public void A_bad_size_names_the_file_the_field_and_the_value()
    {
        var error = Error(j => j.Resources()["ram"] = "32QB");

        Assert.StartsWith("test.json: jobs[0].task.resources.ram: \"32QB\" is not a size", error.Message, StringComparison.Ordinal);
        Assert.Equal("jobs[0].task.resources.ram", error.FieldPath);
        Assert.Equal("test.json", error.SourceName);
        Assert.Equal(1, error.Line);
    }

    [Theory]
    [InlineData("role")]
    [InlineData("environment")]
    [InlineData("cluster")]
    [InlineData("task")]
    public void A_missing_required_job_field_is_named(string field)
    {
        var error = Error(j => j.Remove(field));

        Assert.Equal($"test.json: jobs[0].{field}: required (line 1)", error.Message);
    }

    [Fact]
    public void Errors_in_later_jobs_name_their_index()
    {
        var text = Jobs(_ => { }, j => j.Process()["cmd"] = "x");

        var error = Error(text);

        Assert.StartsWith("test.json: jobs[1].task.processes[0]: unknown field \"cmd\" (did you mean \"cmdline\"?)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("enviroment", "environment")]
    [InlineData("instance", "instances")]
    [InlineData("maxTaskFailures", "max_task_failures")]
    [InlineData("cron_scheduel", "cron_schedule")]
    public void Unknown_fields_are_errors_with_a_suggestion(string typo, string meant)
    {
        var error = Error(j => j[typo] = 1);

        Assert.Equal($"unknown field \"{typo}\" (did you mean \"{meant}\"?)", error.Problem);
        Assert.Equal("jobs[0]", error.FieldPath);
    }

    [Fact]
    public void An_unknown_field_unlike_any_other_gets_no_suggestion()
    {
        Assert.Equal("unknown field \"zzzzzz\"", Error(j => j.Resources()["zzzzzz"] = 1).Problem);
    }

    [Fact]
    public void Unknown_top_level_fields_are_errors()
    {
        var error = Error("""{"jobs": [], "job": 1}""");

        Assert.Equal("unknown field \"job\" (did you mean \"jobs\"?)", error.Problem);
    }

    [Fact]
    public void A_file_without_jobs_is_an_error()
    {
        Assert.Equal("test.json: jobs: the file defines no jobs (line 1)", Error("""{"jobs": []}""").Message);
        Assert.Equal("the file is empty", Error("  ").Problem);
        Assert.Equal("the file is empty", Error("", "yaml").Problem);
        Assert.StartsWith("expected a map with \"jobs\"", Error("[1, 2]").Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_json_reports_the_line()
    {
        var error = Error("{\n  \"jobs\": [\n    {,\n  ]\n}");

        Assert.Equal(3, error.Line);
        Assert.Null(error.FieldPath);
        Assert.Equal("test.json: malformed JSON: ',' is an invalid start of a property name. Expected a '\"'. (line 3, column 6)", error.Message);
    }

    [Fact]
    public void Trailing_text_after_the_json_value_is_an_error()
    {
        Assert.StartsWith("malformed JSON", Error(Job() + "\n{}").Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_yaml_reports_the_line()
    {
        var error = Error("jobs:\n  - role: a\n    env: [unclosed\n", "yaml");

        Assert.NotNull(error.Line);
        Assert.InRange(error.Line!.Value, 3, 4);
        Assert.StartsWith("test.json: malformed YAML: ", error.Message, StringComparison.Ordinal);
        Assert.Contains($"(line {error.Line}, column ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_keys_are_errors_in_json_and_yaml()
    {
        var json = Error("{\"jobs\": [{\n\"role\": \"a\",\n\"role\": \"b\"}]}");
        Assert.Equal("duplicate key \"role\" in one object", json.Problem);
        Assert.Equal(3, json.Line);

        var yaml = Error("jobs:\n  - role: a\n    role: b\n", "yaml");
        Assert.Equal("malformed YAML: Duplicate key role", yaml.Problem);
        Assert.Equal(3, yaml.Line);
    }

    [Fact]
    public void More_than_one_yaml_document_is_an_error()
    {
        var error = Error("jobs: []\n---\njobs: []\n", "yaml");

        Assert.StartsWith("the file has 2 YAML documents", error.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("instances", "\"two\"", "expected a whole number, got \"two\"")]
    [InlineData("instances", "1.5", "expected a whole number, got 1.5")]
    [InlineData("instances", "0", "must be at least 1, got 0")]
    [InlineData("instances", "true", "expected a whole number, got true")]
    [InlineData("service", "\"yes\"", "expected true or false, got \"yes\"")]
    [InlineData("role", "[]", "expected a string, got a list")]
    [InlineData("role", "\"www data\"", "\"www data\" is not a valid role: it must be 1 to 255 of the characters A-Z a-z 0-9 _ - . and not start with '.'")]
    [InlineData("name", "\"a/b\"", "\"a/b\" is not a valid name: it must be 1 to 255 of the characters A-Z a-z 0-9 _ - . and not start with '.'")]
    [InlineData("max_task_failures", "-2", "must be at least -1, got -2")]
    [InlineData("constraints", "[]", "expected a map, got a list")]
    [InlineData("metadata", "\"a=b\"", "expected a list of {\"key\", \"value\"} or a map, got \"a=b\"")]
    [InlineData("cron_collision_policy", "\"KILL\"", "\"KILL\" is not one of KILL_EXISTING, CANCEL_NEW, RUN_OVERLAP")]
    [InlineData("enable_hooks", "true", "client hooks are not supported by Aurora.NET's client")]
    [InlineData("task", "\"x\"", "expected a map of fields, got \"x\"")]
    public void Wrong_values_name_the_field_and_the_value(string field, string json, string problem)
    {
        var error = Error(j => j[field] = JsonNode.Parse(json));

        Assert.Equal(problem, error.Problem);
        Assert.Equal($"jobs[0].{field}", error.FieldPath);
    }

    [Fact]
    public void An_explicit_null_is_the_same_as_leaving_the_field_out()
    {
        Assert.Equal(Load(Job()), Load(j => { j["instances"] = null; j["tier"] = null; }));
        Assert.Equal("required", Error(j => j["role"] = null).Problem);
    }

    [Fact]
    public void A_bad_cron_schedule_is_refused_with_the_reason()
    {
        var error = Error(j => j["cron_schedule"] = "* * *");

        Assert.Equal("jobs[0].cron_schedule", error.FieldPath);
        Assert.Contains("expected 5 whitespace-separated fields", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_errors_are_named()
    {
        Assert.Equal("jobs[0].task.processes: required: at least one process (only a task with a Docker container may have none)",
            PathAndProblem(Error(j => j.Task().Remove("processes"))));
        Assert.Equal("jobs[0].task.processes[0].cmdline: required", PathAndProblem(Error(j => j.Process().Remove("cmdline"))));
        Assert.Equal("jobs[0].task.processes[0].cmdline: must not be empty", PathAndProblem(Error(j => j.Process()["cmdline"] = "")));
        Assert.Equal("jobs[0].task.processes[0].min_duration: must be at least 0, got -1", PathAndProblem(Error(j => j.Process()["min_duration"] = -1)));
        Assert.Equal("jobs[0].task.processes[1].name: another process is already named \"main\"",
            PathAndProblem(Error(j => j.Task()["processes"] = JsonNode.Parse("""[{"name": "main", "cmdline": "a"}, {"name": "main", "cmdline": "b"}]"""))));
        Assert.Equal("jobs[0].task.constraints[0].order[1]: \"nope\" is not a process of this task",
            PathAndProblem(Error(j => j.Task()["constraints"] = JsonNode.Parse("""[{"order": ["main", "nope"]}]"""))));
        Assert.Equal("jobs[0].name: required: the task has no name and no process to take one from",
            PathAndProblem(Error(j => { j.Task().Remove("processes"); j["container"] = JsonNode.Parse("""{"docker": {"image": "x"}}"""); })));
    }

    [Fact]
    public void What_the_model_cannot_carry_is_refused_with_the_reason()
    {
        Assert.StartsWith("jobs[0].lifecycle: cannot be mapped", PathAndProblem(Error(j => j["lifecycle"] = new JsonObject())), StringComparison.Ordinal);
        Assert.StartsWith("jobs[0].executor_config: cannot be mapped", PathAndProblem(Error(j => j["executor_config"] = new JsonObject())), StringComparison.Ordinal);
        Assert.StartsWith("jobs[0].task.user: cannot be mapped", PathAndProblem(Error(j => j.Task()["user"] = "root")), StringComparison.Ordinal);
        Assert.StartsWith("jobs[0].task.max_failures: cannot be mapped", PathAndProblem(Error(j => j.Task()["max_failures"] = 2)), StringComparison.Ordinal);
        Assert.StartsWith("jobs[0].task.max_concurrency: cannot be mapped", PathAndProblem(Error(j => j.Task()["max_concurrency"] = 1)), StringComparison.Ordinal);
        Assert.StartsWith("jobs[0].task.resources.ports: is not written", PathAndProblem(Error(j => j.Resources()["ports"] = new JsonArray())), StringComparison.Ordinal);
        Assert.StartsWith("jobs[0].announce.portmap: cannot be mapped",
            PathAndProblem(Error(j => j["announce"] = JsonNode.Parse("""{"portmap": {"aurora": "http"}}"""))), StringComparison.Ordinal);
        Assert.StartsWith("jobs[0].task.processes[0].logger.destination: \"console\" cannot be mapped",
            PathAndProblem(Error(j => j.Process()["logger"] = JsonNode.Parse("""{"destination": "console"}"""))), StringComparison.Ordinal);
        Assert.StartsWith("jobs[0].health_check_config.endpoint: moved into health_checker",
            PathAndProblem(Error(j => j["health_check_config"] = JsonNode.Parse("""{"endpoint": "/health"}"""))), StringComparison.Ordinal);
    }

    [Fact]
    public void Choices_must_name_exactly_one_known_alternative()
    {
        Assert.Equal("jobs[0].container: set only one of \"docker\", \"mesos\", not \"docker\" and \"mesos\"",
            PathAndProblem(Error(j => j["container"] = JsonNode.Parse("""{"docker": {"image": "x"}, "mesos": {}}"""))));
        Assert.Equal("jobs[0].container: expected exactly one of \"docker\", \"mesos\"",
            PathAndProblem(Error(j => j["container"] = new JsonObject())));
        Assert.Equal("jobs[0].container: unknown kind \"dockr\" (did you mean \"docker\"?); expected one of \"docker\", \"mesos\"",
            PathAndProblem(Error(j => j["container"] = JsonNode.Parse("""{"dockr": {"image": "x"}}"""))));
        Assert.Equal("jobs[0].container.docker.image: required",
            PathAndProblem(Error(j => j["container"] = JsonNode.Parse("""{"docker": {}}"""))));
        Assert.Equal("jobs[0].container.mesos.volumes[0].mode: \"RX\" is not one of RO, RW",
            PathAndProblem(Error(j => j["container"] = JsonNode.Parse("""{"mesos": {"volumes": [{"container_path": "/a", "host_path": "/b", "mode": "RX"}]}}"""))));
        Assert.Equal("jobs[0].sla_policy.count.duration_secs: required",
            PathAndProblem(Error(j => j["sla_policy"] = JsonNode.Parse("""{"count": {"count": 1}}"""))));
    }

    [Fact]
    public void An_http_health_check_needs_a_health_port()
    {
        var error = Error(j => j["health_check_config"] = JsonNode.Parse("""{"interval_secs": 5}"""));

        Assert.Equal("jobs[0].health_check_config", error.FieldPath);
        Assert.StartsWith("an HTTP health check needs a port named \"health\"", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Unbound_template_references_are_errors()
    {
        var error = Error(j => j.Process()["cmdline"] = "echo {{role}}");

        Assert.Equal("jobs[0].task.processes[0].cmdline", error.FieldPath);
        Assert.StartsWith("{{role}} is not bound: Aurora.NET does not interpolate templates in the client", error.Problem, StringComparison.Ordinal);

        Assert.Equal("bad port reference {{thermos.ports.http}}: write {{thermos.ports[NAME]}}",
            Error(j => j.Process()["cmdline"] = "serve --port={{thermos.ports.http}}").Problem);
        Assert.StartsWith("port name \"a b\" in {{thermos.ports[a b]}} must be",
            Error(j => j.Process()["cmdline"] = "serve --port={{thermos.ports[a b]}}").Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_file_errors_name_the_file()
    {
        using var dir = new TempDirectory();
        var missing = dir.Sub("missing.json");

        Assert.Equal($"{missing}: no such file", Assert.Throws<JobConfigException>(() => JobConfigLoader.LoadFile(missing)).Message);
        Assert.Equal($"{dir.Sub("nodir")}/x.yaml: no such file",
            Assert.Throws<JobConfigException>(() => JobConfigLoader.LoadFile(Path.Combine(dir.Sub("nodir"), "x.yaml"))).Message);

        File.WriteAllText(dir.Sub("hello.txt"), Job());
        Assert.Equal(
            $"{dir.Sub("hello.txt")}: cannot tell the format from the extension \".txt\": name the file .json, .yaml or .yml",
            Assert.Throws<JobConfigException>(() => JobConfigLoader.LoadFile(dir.Sub("hello.txt"))).Message);
        Assert.Contains("Pystachio (.aurora) files are not supported",
            Assert.Throws<JobConfigException>(() => JobConfigLoader.LoadFile(dir.Sub("hello.aurora"))).Message, StringComparison.Ordinal);

        File.WriteAllText(dir.Sub("bad.json"), "{\n\n  \"jobs\": [\n    {\"role\": \"a\", \"cluster\": \"c\", \"environment\": \"prod\", \"tsk\": {}}\n  ]\n}\n");
        var error = Assert.Throws<JobConfigException>(() => JobConfigLoader.LoadFile(dir.Sub("bad.json")));
        Assert.Equal($"{dir.Sub("bad.json")}: jobs[0]: unknown field \"tsk\" (did you mean \"task\"?) (line 4)", error.Message);
    }

    [Fact]
    public void An_unknown_format_is_an_error()
    {
        Assert.Equal("unknown configuration format \"toml\": expected json or yaml",
            Assert.Throws<JobConfigException>(() => JobConfigLoader.Parse(Job(), "toml", Source)).Problem);
    }

    [Fact]
    public void Yaml_errors_carry_the_line_of_the_field()
    {
        const string Yaml = """
            jobs:
              - cluster: devcluster
                role: www-data
                environment: prod
                task:
                  processes:
                    - name: main
                      cmdline: run
                  resources:
                    cpu: 0.5
                    ram: 32QB
                    disk: 32MB
            """;

        var error = Error(Yaml, "yaml");

        Assert.Equal("test.json: jobs[0].task.resources.ram: \"32QB\" is not a size (write it as \"32MB\", \"2GB\", \"512MiB\" or a whole number of bytes) (line 11)", error.Message);
    }

    private static string PathAndProblem(JobConfigException error) => $"{error.FieldPath}: {error.Problem}";
}
