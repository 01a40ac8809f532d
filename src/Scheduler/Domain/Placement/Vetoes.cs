namespace Aurora.Scheduler.Placement;

/// <summary>Aurora's veto texts (SchedulingFilterImpl, NearestFit), in one place so that every check and test says the same thing.</summary>
public static class Vetoes
{
    public const string HostIsDedicated = "Host is dedicated";
    public const string HostDraining = "Host draining for maintenance";
    public const string HostDrained = "Host drained for maintenance";
    public const string InsufficientCpu = "Insufficient CPU";
    public const string InsufficientRam = "Insufficient RAM";
    public const string InsufficientDisk = "Insufficient disk";
    public const string InsufficientGpu = "Insufficient GPU";
    public const string InsufficientPorts = "Insufficient ports";

    /// <summary>The pending reason when the scheduler has offers from no agent at all.</summary>
    public const string NoOffers = "No offers";

    /// <summary>The pending reason when no agent ever registered a host.</summary>
    public const string NoAgents = "No agents";

    public static string ConstraintNotSatisfied(string attribute) => "Constraint not satisfied: " + attribute;

    public static string LimitNotSatisfied(string attribute) => "Limit not satisfied: " + attribute;
}
