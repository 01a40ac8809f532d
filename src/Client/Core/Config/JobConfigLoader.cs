using Aurora.Scheduler.Model;

namespace Aurora.Client.Config;

/// <summary>
/// Reads job configuration files: the JSON or YAML form of Aurora's <c>Job</c> schema
/// (<c>{"jobs": [{"cluster": ..., "role": ..., "task": {...}}]}</c>, see docs/configuration.md),
/// mapped onto the scheduler's <see cref="Scheduler.Protos.JobConfiguration"/> and
/// <see cref="Scheduler.Protos.JobUpdateSettings"/>. Every problem is a
/// <see cref="JobConfigException"/> naming the file and the field.
/// </summary>
/// <remarks>Stateless and thread-safe; it reads the file once and keeps nothing.</remarks>
public static class JobConfigLoader
{
    /// <summary>Loads a <c>.json</c>, <c>.yaml</c> or <c>.yml</c> file; errors name it as <paramref name="path"/> is written.</summary>
    public static IReadOnlyList<LoadedJob> LoadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var extension = Path.GetExtension(path).ToLowerInvariant();
        var format = extension switch
        {
            ".json" => "json",
            ".yaml" or ".yml" => "yaml",
            ".aurora" => throw new JobConfigException(path, null, 0,
                "Pystachio (.aurora) files are not supported: write the same job as JSON or YAML (see docs/configuration.md)"),
            _ => throw new JobConfigException(path, null, 0,
                $"cannot tell the format from the extension {Quoting.Quote(extension)}: name the file .json, .yaml or .yml"),
        };

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new JobConfigException(path, null, 0, "no such file", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JobConfigException(path, null, 0, $"cannot be read: {e.Message}", e);
        }

        return Parse(text, format, path);
    }

    /// <summary>Parses configuration text; <paramref name="format"/> is <c>json</c>, <c>yaml</c> or <c>yml</c>.</summary>
    public static IReadOnlyList<LoadedJob> Parse(string text, string format, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(format);
        ArgumentNullException.ThrowIfNull(sourceName);
        var root = format.ToLowerInvariant() switch
        {
            "json" => JsonTreeReader.Read(text, sourceName),
            "yaml" or "yml" => YamlTreeReader.Read(text, sourceName),
            _ => throw new JobConfigException(sourceName, null, 0, $"unknown configuration format {Quoting.Quote(format)}: expected json or yaml"),
        };
        return JobConverter.Convert(root, sourceName);
    }

    /// <summary>
    /// The job of <paramref name="jobs"/> whose key is <c>cluster/role/environment/name</c>; the error
    /// for none (or for a key the file defines twice) lists the jobs the file has.
    /// </summary>
    public static LoadedJob Select(IReadOnlyList<LoadedJob> jobs, string cluster, string role, string environment, string name, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var wanted = $"{cluster}/{role}/{environment}/{name}";
        var matches = jobs.Where(j => Describe(j) == wanted).ToList();
        var candidates = string.Join(", ", jobs.Select(Describe));
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new JobConfigException(sourceName, null, 0,
                jobs.Count == 0 ? $"no job {wanted}: the file defines no jobs" : $"no job {wanted} in this file; it has {candidates}"),
            _ => throw new JobConfigException(sourceName, null, 0,
                $"{matches.Count} jobs are {wanted}; a job key must appear once in a file"),
        };
    }

    private static string Describe(LoadedJob job) => $"{job.Cluster}/{job.Config.Key.Canonical()}";
}
