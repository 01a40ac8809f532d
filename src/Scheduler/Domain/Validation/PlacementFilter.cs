using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Validation;

/// <summary>
/// The host-side checks of Aurora's SchedulingFilterImpl, in its veto order: dedicated hosts,
/// maintenance, value constraints, then limit constraints. Resource fit belongs to offers and is
/// checked where offers are matched.
/// </summary>
public static class PlacementFilter
{
    /// <summary>Why <paramref name="config"/> may not run on <paramref name="host"/>, or null if it may.</summary>
    public static string? Veto(SchedulerState state, TaskConfig config, string host, MaintenanceMode? modeOverride = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(config);
        var record = state.FindHost(host);
        var hostIsDedicated = record?.AttributeValues(ConfigurationValidator.DedicatedAttribute).Any() == true;
        if (hostIsDedicated && !ConfigurationValidator.IsDedicated(config))
        {
            return "Host is dedicated";
        }

        switch (modeOverride ?? record?.Mode ?? MaintenanceMode.None)
        {
            case MaintenanceMode.Draining:
                return "Host draining for maintenance";
            case MaintenanceMode.Drained:
                return "Host drained for maintenance";
        }

        foreach (var constraint in config.Constraints.Where(c => c.KindCase == Constraint.KindOneofCase.Value))
        {
            var values = record?.AttributeValues(constraint.Name).ToHashSet(StringComparer.Ordinal) ?? [];
            var matches = constraint.Value.Values.Any(values.Contains);
            if (matches == constraint.Value.Negated)
            {
                return $"Constraint not satisfied: {constraint.Name}";
            }
        }

        foreach (var constraint in config.Constraints.Where(c => c.KindCase == Constraint.KindOneofCase.Limit))
        {
            var values = record?.AttributeValues(constraint.Name).ToList() ?? [];
            if (values.Count == 0)
            {
                return $"Constraint not satisfied: {constraint.Name}";
            }

            foreach (var value in values)
            {
                if (CountJobTasksWithAttribute(state, config.Job, constraint.Name, value) >= constraint.Limit.Limit)
                {
                    return $"Limit not satisfied: {constraint.Name}";
                }
            }
        }

        return null;
    }

    /// <summary>The job's tasks holding resources on hosts whose attribute <paramref name="name"/> has <paramref name="value"/>.</summary>
    private static int CountJobTasksWithAttribute(SchedulerState state, JobKey job, string name, string value)
    {
        var count = 0;
        foreach (var task in state.TasksOf(job))
        {
            if (task.Host is not null && TaskStatuses.IsAgentAssigned(task.Status)
                && state.FindHost(task.Host)?.AttributeValues(name).Contains(value, StringComparer.Ordinal) == true)
            {
                count++;
            }
        }

        return count;
    }
}
