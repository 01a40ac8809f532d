using Aurora.Scheduler.Placement;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Validation;

/// <summary>
/// The host-side checks of Aurora's SchedulingFilterImpl, in its veto order: dedicated hosts,
/// maintenance, value constraints, then limit constraints. A shorthand for one question to a
/// <see cref="PlacementChecker"/>, which also checks resources and ports against offers and is
/// what placement uses.
/// </summary>
public static class PlacementFilter
{
    /// <summary>Why <paramref name="config"/> may not run on <paramref name="host"/>, or null if it may.</summary>
    public static string? Veto(SchedulerState state, TaskConfig config, string host, MaintenanceMode? modeOverride = null) =>
        new PlacementChecker(state, [], SchedulerSettings.Default).HostVeto(config, host, modeOverride);
}
