using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;

namespace Aurora.Client.Api;

/// <summary>
/// Reads the scheduler's JSON views (docs/api.md "Views") leniently: a missing field or one of
/// another type reads as null, so a view with fields added later still works.
/// </summary>
public static class Views
{
    /// <summary>The answer as an object; an empty object when the scheduler sent something else.</summary>
    public static JsonObject Object(JsonNode? node) => node as JsonObject ?? [];

    /// <summary>A list answer: either a bare array or an object holding it under <paramref name="field"/>.</summary>
    public static IReadOnlyList<JsonObject> List(JsonNode? node, string field)
    {
        var array = node switch
        {
            JsonArray bare => bare,
            JsonObject wrapper => wrapper[field] as JsonArray,
            _ => null,
        };
        return array is null ? [] : [.. array.OfType<JsonObject>()];
    }

    public static string? String(JsonObject? node, string field) =>
        node?[field] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    public static long? Long(JsonObject? node, string field)
    {
        if (node?[field] is not JsonValue value)
        {
            return null;
        }

        return value.GetValueKind() switch
        {
            JsonValueKind.Number when value.TryGetValue<long>(out var number) => number,
            JsonValueKind.Number => (long)value.GetValue<double>(),
            JsonValueKind.String when long.TryParse(value.GetValue<string>(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => null,
        };
    }

    public static double? Double(JsonObject? node, string field)
    {
        if (node?[field] is not JsonValue value)
        {
            return null;
        }

        return value.GetValueKind() switch
        {
            JsonValueKind.Number => value.GetValue<double>(),
            JsonValueKind.String when double.TryParse(value.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => null,
        };
    }

    public static bool? Bool(JsonObject? node, string field) =>
        node?[field] is JsonValue value && value.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? value.GetValue<bool>() : null;

    public static JsonObject? Child(JsonObject? node, string field) => node?[field] as JsonObject;

    /// <summary>A <c>{"role", "environment", "name"}</c> object as <c>role/env/name</c>, or null.</summary>
    public static string? JobKeyText(JsonObject? job) =>
        job is null ? null : $"{String(job, "role")}/{String(job, "environment")}/{String(job, "name")}";

    /// <summary>
    /// An enum value in Aurora's spelling whether the scheduler sent that (<c>ROLLING_FORWARD</c>) or
    /// the full proto name (<c>JOB_UPDATE_STATUS_ROLLING_FORWARD</c>).
    /// </summary>
    public static string? EnumName(string? text, string protoPrefix) =>
        text is not null && text.StartsWith(protoPrefix, StringComparison.Ordinal) ? text[protoPrefix.Length..] : text;

    public static JobUpdateStatus UpdateStatus(JsonObject? update) =>
        ProtoNames.TryParse<JobUpdateStatus>(EnumName(String(update, "status"), "JOB_UPDATE_STATUS_"), out var status) ? status : JobUpdateStatus.Unspecified;

    public static ScheduleStatus TaskStatus(JsonObject? task) =>
        ProtoNames.TryParse<ScheduleStatus>(String(task, "status"), out var status) ? status : ScheduleStatus.Unspecified;

    /// <summary>The update id of an update summary or details (<c>key.id</c>).</summary>
    public static string? UpdateId(JsonObject? update) => String(Child(update, "key"), "id") ?? String(update, "id");

    /// <summary>A time the scheduler sent (ISO-8601) as a local-independent short string, or "-".</summary>
    public static string Time(JsonObject? node, string field) =>
        String(node, field) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)
            : String(node, field) ?? "-";
}
