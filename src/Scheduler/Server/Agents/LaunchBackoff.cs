using Aurora.Agent.Protocol;

namespace Aurora.Scheduler.Server.Agents;

/// <summary>
/// How often the scheduler may send an agent the same launch. The first is sent at once; if the
/// agent's inventory still lacks the task, it is sent again only after <see cref="FirstRetry"/>, then
/// after twice as long each time, up to <see cref="MaxRetry"/>. An agent that cannot materialise a
/// launch, or that answers without it for any other reason, can so never drive the scheduler (or
/// itself) into a loop; a task that never starts is ended by <c>-transient_task_state_timeout</c>.
/// </summary>
/// <remarks>
/// Thread-safe: heartbeats of different agents call it concurrently. Memory: one entry per task an
/// agent is being asked to launch; an agent's entries are replaced by each of its heartbeats (a
/// task it now holds, or that is no longer ASSIGNED to it, is forgotten), so nothing outlives the
/// tasks in flight. Kept in memory on the leader only: after a failover the first launch goes at once.
/// </remarks>
internal sealed class LaunchBackoff(TimeProvider time)
{
    public static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxRetry = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<string, Sent>> _byAgent = new(StringComparer.Ordinal);

    /// <summary>
    /// Of <paramref name="candidates"/> (every launch the log says <paramref name="agentId"/> lacks),
    /// those that may be sent now, recorded as sent; and when the next of the others falls due
    /// (null when none waits).
    /// </summary>
    public (List<TaskLaunch> Due, DateTimeOffset? NextDue) Take(string agentId, IReadOnlyList<TaskLaunch> candidates)
    {
        var now = time.GetUtcNow();
        var due = new List<TaskLaunch>(candidates.Count);
        DateTimeOffset? next = null;
        lock (_lock)
        {
            var before = _byAgent.GetValueOrDefault(agentId);
            var after = new Dictionary<string, Sent>(candidates.Count, StringComparer.Ordinal);
            foreach (var launch in candidates)
            {
                if (before?.GetValueOrDefault(launch.TaskId) is not { } sent)
                {
                    after[launch.TaskId] = new Sent(1, now + FirstRetry);
                    due.Add(launch);
                }
                else if (sent.RetryAt <= now)
                {
                    var wait = TimeSpan.FromTicks(Math.Min(MaxRetry.Ticks, FirstRetry.Ticks << Math.Min(sent.Times, 20)));
                    after[launch.TaskId] = new Sent(sent.Times + 1, now + wait);
                    due.Add(launch);
                }
                else
                {
                    after[launch.TaskId] = sent;
                    next = next is { } earlier && earlier < sent.RetryAt ? earlier : sent.RetryAt;
                }
            }

            if (after.Count == 0)
            {
                _byAgent.Remove(agentId);
            }
            else
            {
                _byAgent[agentId] = after;
            }
        }

        return (due, next);
    }

    /// <summary>How many times the launch of <paramref name="taskId"/> went to <paramref name="agentId"/> while it lacked the task (0: never, or held now).</summary>
    public int TimesSent(string agentId, string taskId)
    {
        lock (_lock)
        {
            return _byAgent.GetValueOrDefault(agentId)?.GetValueOrDefault(taskId)?.Times ?? 0;
        }
    }

    private sealed record Sent(int Times, DateTimeOffset RetryAt);
}
