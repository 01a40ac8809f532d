using System.Text.Json.Nodes;

namespace Aurora.Cluster.Tests;

/// <summary>Job files in the client's JSON form (docs/configuration.md).</summary>
public static class Jobs
{
    public static JsonNode Service(string role, string name, int instances, string cmdline, JsonObject? constraints = null, string tier = "preemptible", double cpu = 0.1, string ram = "16MB") =>
        File(new JsonObject
        {
            ["cluster"] = "devcluster",
            ["role"] = role,
            ["environment"] = "prod",
            ["name"] = name,
            ["instances"] = instances,
            ["service"] = true,
            ["tier"] = tier,
            ["constraints"] = constraints ?? [],
            ["task"] = Task(name, cmdline, cpu, ram),
        });

    public static JsonNode Batch(string role, string name, string cmdline, int maxTaskFailures = 1) =>
        File(new JsonObject
        {
            ["cluster"] = "devcluster",
            ["role"] = role,
            ["environment"] = "prod",
            ["name"] = name,
            ["instances"] = 1,
            ["max_task_failures"] = maxTaskFailures,
            ["task"] = Task(name, cmdline, 0.1, "16MB"),
        });

    public static JsonNode Cron(string role, string name, string schedule, string policy, string cmdline) =>
        File(new JsonObject
        {
            ["cluster"] = "devcluster",
            ["role"] = role,
            ["environment"] = "prod",
            ["name"] = name,
            ["cron_schedule"] = schedule,
            ["cron_collision_policy"] = policy,
            ["task"] = Task(name, cmdline, 0.1, "16MB"),
        });

    private static JsonObject Task(string name, string cmdline, double cpu, string ram) => new()
    {
        ["name"] = name,
        ["processes"] = new JsonArray(new JsonObject { ["name"] = name, ["cmdline"] = cmdline }),
        ["resources"] = new JsonObject { ["cpu"] = cpu, ["ram"] = ram, ["disk"] = "16MB" },
    };

    private static JsonObject File(JsonObject job) => new() { ["jobs"] = new JsonArray(job) };
}
