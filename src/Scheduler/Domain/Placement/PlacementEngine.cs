using System.Globalization;
using System.Text;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Placement;

/// <summary>A victim set that would make room for a pending task on one agent.</summary>
public sealed record PreemptionProposal(string PreemptorTaskId, string AgentId, IReadOnlyList<string> VictimTaskIds);

/// <summary>
/// What one planning round decided: the assignments to commit (with <c>AssignTasks</c>), why the
/// PENDING tasks left unplaced are waiting (by task id), and the preemptions to commit (with <c>PreemptTasks</c>).
/// </summary>
public sealed record PlacementPlan(
    IReadOnlyList<Assignment> Assignments,
    IReadOnlyDictionary<string, string> PendingReasons,
    IReadOnlyList<PreemptionProposal> Preemptions);

/// <summary>
/// One planning round of Aurora's TaskScheduler and preemptor, as a pure function of the state, the
/// offers, the settings and the time.
/// </summary>
/// <remarks>
/// <para>Order of tasks: non-preemptible tiers first, then priority (highest first), then the
/// oldest (first event) first; ties by job and instance, so the order never depends on hashing.
/// THROTTLED tasks are not placed.</para>
/// <para>Order of offers: hosts in no maintenance first, then SCHEDULED ones (de-prioritised, as
/// Aurora's OfferOrderBuilder), then DRAINING and DRAINED (always vetoed, listed only in reasons).
/// Within each group, first fit from a start that rotates after every placement, so consecutive
/// tasks spread over the agents; the first start is derived from <c>nowMicros</c>, so the same
/// inputs give the same plan.</para>
/// <para>Once no offer fits a configuration, its later instances in the round are not tried again:
/// within a round, free resources and ports only shrink and limit counts only grow.</para>
/// <para>Tasks not examined because <c>maxAssignments</c> was reached have no pending reason
/// unless their configuration was already found not to fit. A task pending for at least
/// <see cref="SchedulerSettings.PreemptionDelay"/> (since its latest PENDING event) that fits no
/// offer may get a <see cref="PreemptionProposal"/>: one search per configuration per round, each
/// agent and victim used by at most one proposal.</para>
/// </remarks>
public static class PlacementEngine
{
    public static PlacementPlan Plan(SchedulerState state, IReadOnlyList<Offer> offers, SchedulerSettings settings, long nowMicros, int maxAssignments)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(offers);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentOutOfRangeException.ThrowIfNegative(maxAssignments);
        var checker = new PlacementChecker(state, offers, settings);
        var groups = OfferGroups(checker);
        var cursors = groups.Select(g => g.Length == 0 ? 0 : (int)((ulong)nowMicros % (ulong)g.Length)).ToArray();
        var assignments = new List<Assignment>();
        var reasons = new Dictionary<string, string>(StringComparer.Ordinal);
        var unplaceable = new Dictionary<ConfigProfile, string>(ReferenceEqualityComparer.Instance);
        var fitsNowhere = new List<(TaskRecord Task, ConfigProfile Profile)>();
        var tally = new Dictionary<string, int>(StringComparer.Ordinal);
        var noOffers = offers.Count > 0 ? null : state.Hosts.Count == 0 ? Vetoes.NoAgents : Vetoes.NoOffers;

        foreach (var task in PendingInOrder(state, settings))
        {
            if (noOffers is not null)
            {
                reasons[task.TaskId] = noOffers;
                continue;
            }

            var profile = checker.Profile(task.Config);
            if (unplaceable.TryGetValue(profile, out var known))
            {
                reasons[task.TaskId] = known;
                fitsNowhere.Add((task, profile));
                continue;
            }

            if (assignments.Count >= maxAssignments)
            {
                continue;
            }

            tally.Clear();
            var placed = TryPlace(checker, profile, task, groups, cursors, tally);
            if (placed is not null)
            {
                assignments.Add(placed);
                continue;
            }

            var reason = Describe(tally);
            unplaceable.Add(profile, reason);
            reasons[task.TaskId] = reason;
            fitsNowhere.Add((task, profile));
        }

        var preemptions = settings.EnablePreemptor && offers.Count > 0
            ? Preemptor.Propose(checker, groups.SelectMany(g => g).ToArray(), fitsNowhere, nowMicros)
            : [];
        return new PlacementPlan(assignments, reasons, preemptions);
    }

    /// <summary>Aurora's pending reason: each veto with the number of hosts that gave it, most frequent first.</summary>
    internal static string Describe(Dictionary<string, int> vetoes)
    {
        var text = new StringBuilder();
        foreach (var (veto, hosts) in vetoes.OrderByDescending(v => v.Value).ThenBy(v => v.Key, StringComparer.Ordinal))
        {
            if (text.Length > 0)
            {
                text.Append(", ");
            }

            text.Append(CultureInfo.InvariantCulture, $"{veto} ({hosts} {(hosts == 1 ? "host" : "hosts")})");
        }

        return text.ToString();
    }

    /// <summary>The time of the task's latest PENDING event: how long it has waited for a placement.</summary>
    internal static long PendingSinceMicros(TaskRecord task)
    {
        var events = task.Events;
        for (var i = events.Length - 1; i >= 0; i--)
        {
            if (events[i].Status == ScheduleStatus.Pending)
            {
                return events[i].TimeMicros;
            }
        }

        return events.Length > 0 ? events[0].TimeMicros : 0;
    }

    private static Assignment? TryPlace(PlacementChecker checker, ConfigProfile profile, TaskRecord task, int[][] groups, int[] cursors, Dictionary<string, int> tally)
    {
        for (var g = 0; g < groups.Length; g++)
        {
            var group = groups[g];
            for (var i = 0; i < group.Length; i++)
            {
                var k = cursors[g] + i;
                if (k >= group.Length)
                {
                    k -= group.Length;
                }

                var slot = checker.Slot(group[k]);
                var veto = checker.Veto(profile, slot);
                if (veto is not null)
                {
                    tally[veto] = tally.GetValueOrDefault(veto) + 1;
                    continue;
                }

                var ports = checker.LowestFreePorts(task.Config, slot.Index);
                checker.Record(task.Config, slot.Index, ports);
                cursors[g] = k + 1 == group.Length ? 0 : k + 1;
                return new Assignment(task.TaskId, slot.Offer.AgentId, slot.Offer.Host, ports);
            }
        }

        return null;
    }

    /// <summary>Offer indexes by maintenance: none, SCHEDULED, then DRAINING/DRAINED; input order within each.</summary>
    private static int[][] OfferGroups(PlacementChecker checker)
    {
        var groups = new List<int>[] { [], [], [] };
        for (var i = 0; i < checker.OfferCount; i++)
        {
            var rank = checker.Slot(i).Host.Mode switch
            {
                MaintenanceMode.Scheduled => 1,
                MaintenanceMode.Draining or MaintenanceMode.Drained => 2,
                _ => 0,
            };
            groups[rank].Add(i);
        }

        return [.. groups.Select(g => g.ToArray())];
    }

    private static List<TaskRecord> PendingInOrder(SchedulerState state, SchedulerSettings settings)
    {
        var pending = state.TasksIn(ScheduleStatus.Pending);
        var keyed = new List<(bool Preemptible, int Priority, long Created, TaskRecord Task)>(pending.Count);
        foreach (var task in pending)
        {
            keyed.Add((TaskTiers.Of(task.Config, settings).Preemptible, task.Config.Priority, task.Events.Length > 0 ? task.Events[0].TimeMicros : 0, task));
        }

        keyed.Sort(static (a, b) =>
        {
            var c = a.Preemptible.CompareTo(b.Preemptible);
            if (c == 0)
            {
                c = b.Priority.CompareTo(a.Priority);
            }

            if (c == 0)
            {
                c = a.Created.CompareTo(b.Created);
            }

            if (c == 0 && !ReferenceEquals(a.Task.Job, b.Task.Job))
            {
                c = CompareJobs(a.Task.Job, b.Task.Job);
            }

            if (c == 0)
            {
                c = a.Task.InstanceId.CompareTo(b.Task.InstanceId);
            }

            return c != 0 ? c : string.CompareOrdinal(a.Task.TaskId, b.Task.TaskId);
        });
        return keyed.ConvertAll(k => k.Task);
    }

    private static int CompareJobs(JobKey a, JobKey b)
    {
        var c = string.CompareOrdinal(a.Role, b.Role);
        if (c == 0)
        {
            c = string.CompareOrdinal(a.Environment, b.Environment);
        }

        return c != 0 ? c : string.CompareOrdinal(a.Name, b.Name);
    }
}
