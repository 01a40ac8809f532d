using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;

namespace Aurora.Scheduler.Placement;

/// <summary>
/// Aurora's preemptor (PendingTaskProcessor, PreemptionVictimFilter): for a task that has waited
/// long enough and fits no offer, one agent where the free resources plus those of tasks it may
/// preempt make it fit, and the non-resource vetoes pass.
/// </summary>
/// <remarks>
/// Victims are tasks holding resources on the agent in ASSIGNED, STARTING or RUNNING (tasks
/// already being killed free their resources anyway) that <see cref="TaskTiers.MayPreempt"/>
/// allows. On each agent they are taken largest first (RAM, then CPU, then disk), as Aurora does,
/// until the task fits; the agent needing the fewest victims wins, the first in offer order on a
/// tie. A victim frees resources only in its own pool (a revocable victim's CPU does not help a
/// regular task), and always its ports.
/// </remarks>
internal static class Preemptor
{
    public static IReadOnlyList<PreemptionProposal> Propose(
        PlacementChecker checker, int[] offerOrder, IReadOnlyList<(TaskRecord Task, ConfigProfile Profile)> fitsNowhere, long nowMicros)
    {
        var delayMicros = Micros.Of(checker.Settings.PreemptionDelay);
        var searched = new HashSet<ConfigProfile>(ReferenceEqualityComparer.Instance);
        var usedAgents = new HashSet<int>();
        var usedVictims = new HashSet<string>(StringComparer.Ordinal);
        var proposals = new List<PreemptionProposal>();
        foreach (var (task, profile) in fitsNowhere)
        {
            if (nowMicros - PlacementEngine.PendingSinceMicros(task) < delayMicros || !searched.Add(profile))
            {
                continue;
            }

            var proposal = Find(checker, offerOrder, task, profile, usedAgents, usedVictims);
            if (proposal is not null)
            {
                proposals.Add(proposal);
            }
        }

        return proposals;
    }

    /// <summary>Whether the task is in a status from which preemption can take it (ASSIGNED, STARTING, RUNNING).</summary>
    public static bool IsPreemptibleStatus(ScheduleStatus status) =>
        status is ScheduleStatus.Assigned or ScheduleStatus.Starting or ScheduleStatus.Running;

    private static PreemptionProposal? Find(
        PlacementChecker checker, int[] offerOrder, TaskRecord task, ConfigProfile profile, HashSet<int> usedAgents, HashSet<string> usedVictims)
    {
        List<TaskRecord>? best = null;
        OfferSlot? bestSlot = null;
        foreach (var index in offerOrder)
        {
            if (usedAgents.Contains(index))
            {
                continue;
            }

            var slot = checker.LoadedSlot(index);
            if (checker.NonResourceVeto(profile, slot) is not null)
            {
                continue;
            }

            var victims = VictimsOn(checker, slot, task, profile, usedVictims, best?.Count ?? int.MaxValue);
            if (victims is { Count: 0 })
            {
                // Tasks already being killed here make room: wait for them rather than preempt more
                // (round after round, until their KILLED arrives, as nothing reserves the room).
                return null;
            }

            if (victims is not null && victims.Count > 0 && (best is null || victims.Count < best.Count))
            {
                (best, bestSlot) = (victims, slot);
                if (best.Count == 1)
                {
                    break;
                }
            }
        }

        if (best is null || bestSlot is null)
        {
            return null;
        }

        usedAgents.Add(bestSlot.Index);
        usedVictims.UnionWith(best.Select(v => v.TaskId));
        return new PreemptionProposal(task.TaskId, bestSlot.Offer.AgentId, [.. best.Select(v => v.TaskId)]);
    }

    /// <summary>The fewest victims (largest first) that make the task fit on the slot, or null when even all of them would not.</summary>
    private static List<TaskRecord>? VictimsOn(
        PlacementChecker checker, OfferSlot slot, TaskRecord task, ConfigProfile profile, HashSet<string> usedVictims, int fewerThan)
    {
        var candidates = new List<TaskRecord>();
        foreach (var other in checker.State.TasksOnHost(slot.Offer.Host))
        {
            if (string.Equals(other.AgentId, slot.Offer.AgentId, StringComparison.Ordinal)
                && IsPreemptibleStatus(other.Status)
                && !usedVictims.Contains(other.TaskId)
                && TaskTiers.MayPreempt(task.Config, other.Config, checker.Settings))
            {
                candidates.Add(other);
            }
        }

        if (candidates.Count == 0)
        {
            return null;
        }

        candidates.Sort(static (a, b) =>
        {
            var x = a.Config.Resources;
            var y = b.Config.Resources;
            var c = y.RamMb.CompareTo(x.RamMb);
            if (c == 0)
            {
                c = y.NumCpus.CompareTo(x.NumCpus);
            }

            if (c == 0)
            {
                c = y.DiskMb.CompareTo(x.DiskMb);
            }

            return c != 0 ? c : string.CompareOrdinal(a.TaskId, b.TaskId);
        });

        var pool = profile.Revocable ? slot.Revocable : slot.Regular;
        var freePorts = slot.FreePorts;
        foreach (var dying in checker.State.TasksOnHost(slot.Offer.Host))
        {
            if (string.Equals(dying.AgentId, slot.Offer.AgentId, StringComparison.Ordinal) && IsBeingKilled(dying.Status))
            {
                Release(dying);
            }
        }

        if (pool.Shortfall(profile.Request) is null && profile.PortCount <= freePorts)
        {
            return [];
        }

        var victims = new List<TaskRecord>();
        foreach (var victim in candidates)
        {
            if (victims.Count + 1 >= fewerThan)
            {
                return null;
            }

            victims.Add(victim);
            Release(victim);
            if (pool.Shortfall(profile.Request) is null && profile.PortCount <= freePorts)
            {
                return victims;
            }
        }

        return null;

        // What a task leaving the agent gives back to the pool this task draws from.
        void Release(TaskRecord leaving)
        {
            if (TaskTiers.Of(leaving.Config, checker.Settings).Revocable == profile.Revocable)
            {
                pool.Take(leaving.Config.Resources, sign: -1);
            }

            // Only ports inside the offer's ranges come back to the pool the task draws from.
            freePorts += leaving.Ports.Count(p => slot.InRanges(p.Port));
        }
    }

    private static bool IsBeingKilled(ScheduleStatus status) =>
        status is ScheduleStatus.Preempting or ScheduleStatus.Killing or ScheduleStatus.Draining or ScheduleStatus.Restarting;
}
