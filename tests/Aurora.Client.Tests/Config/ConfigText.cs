using System.Text.Json.Nodes;
using Aurora.Client.Config;

namespace Aurora.Client.Tests.Config;

/// <summary>Builds configuration text from a minimal valid job and loads it.</summary>
internal static class ConfigText
{
    public const string Source = "test.json";

    private const string MinimalJob = """
        {
          "cluster": "devcluster",
          "role": "www-data",
          "environment": "prod",
          "task": {
            "processes": [{"name": "main", "cmdline": "run"}],
            "resources": {"cpu": 0.5, "ram": "64MB", "disk": "128MB"}
          }
        }
        """;

    /// <summary>The minimal job after <paramref name="edit"/>, as a file of one job.</summary>
    public static string Job(Action<JsonObject>? edit = null) => Jobs(edit ?? (_ => { }));

    /// <summary>A file with one minimal job per edit.</summary>
    public static string Jobs(params Action<JsonObject>[] edits)
    {
        var jobs = new JsonArray();
        foreach (var edit in edits)
        {
            var job = JsonNode.Parse(MinimalJob)!.AsObject();
            edit(job);
            jobs.Add(job);
        }

        return new JsonObject { ["jobs"] = jobs }.ToJsonString();
    }

    public static JsonObject Task(this JsonObject job) => job["task"]!.AsObject();

    public static JsonObject Resources(this JsonObject job) => job.Task()["resources"]!.AsObject();

    public static JsonObject Process(this JsonObject job, int index = 0) => job.Task()["processes"]![index]!.AsObject();

    public static LoadedJob Load(string json) => Assert.Single(JobConfigLoader.Parse(json, "json", Source));

    public static LoadedJob Load(Action<JsonObject> edit) => Load(Job(edit));

    public static JobConfigException Error(string text, string format = "json") =>
        Assert.Throws<JobConfigException>(() => JobConfigLoader.Parse(text, format, Source));

    public static JobConfigException Error(Action<JsonObject> edit) => Error(Job(edit));

    /// <summary>A file of the repository.</summary>
    public static string RepoFile(string relative)
    {
        var path = Path.Combine(RepositoryRoot.Find(), relative);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{relative} is not in the repository", path);
    }
}
