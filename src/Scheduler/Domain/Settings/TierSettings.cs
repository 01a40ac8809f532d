using System.Text.Json;
using Aurora.Scheduler.Model;

namespace Aurora.Scheduler.Settings;

/// <summary>One tier of <c>-tier_config</c>.</summary>
public sealed record TierInfo(bool Preemptible, bool Revocable)
{
    /// <summary>Aurora's rule: production means neither preemptible nor revocable.</summary>
    public bool IsProduction => !(Preemptible || Revocable);
}

/// <summary>The tiers tasks may ask for and the default one (Aurora's <c>tiers.json</c>).</summary>
public sealed record TierSettings(string DefaultTier, IReadOnlyDictionary<string, TierInfo> Tiers)
{
    /// <summary>Aurora's built-in <c>tiers.json</c>.</summary>
    public static TierSettings Default { get; } = new("preemptible", new Dictionary<string, TierInfo>(StringComparer.Ordinal)
    {
        ["preferred"] = new(Preemptible: false, Revocable: false),
        ["preemptible"] = new(Preemptible: true, Revocable: false),
        ["revocable"] = new(Preemptible: true, Revocable: true),
    });

    /// <summary>Parses a <c>-tier_config</c> file's text: <c>{"default": NAME, "tiers": {NAME: {"preemptible": b, "revocable": b}}}</c>.</summary>
    /// <exception cref="FormatException">The text is not a valid tier configuration; the message says why.</exception>
    public static TierSettings Parse(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"Tier configuration is not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("default", out var defaultElement) || defaultElement.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("tiers", out var tiersElement) || tiersElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("Tier configuration must be an object with a string \"default\" and an object \"tiers\".");
            }

            var tiers = new Dictionary<string, TierInfo>(StringComparer.Ordinal);
            foreach (var tier in tiersElement.EnumerateObject())
            {
                if (!JobKeys.IsGoodIdentifier(tier.Name))
                {
                    throw new FormatException($"Tier name '{tier.Name}' contains illegal characters.");
                }

                tiers[tier.Name] = new TierInfo(Flag(tier, "preemptible"), Flag(tier, "revocable"));
            }

            var defaultTier = defaultElement.GetString()!;
            if (!tiers.ContainsKey(defaultTier))
            {
                throw new FormatException($"Default tier '{defaultTier}' is not one of the configured tiers ({string.Join(", ", tiers.Keys)}).");
            }

            return new TierSettings(defaultTier, tiers);
        }
    }

    private static bool Flag(JsonProperty tier, string name)
    {
        if (tier.Value.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"Tier '{tier.Name}' must be an object.");
        }

        if (!tier.Value.TryGetProperty(name, out var value))
        {
            return false;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new FormatException($"Tier '{tier.Name}': \"{name}\" must be true or false."),
        };
    }
}
