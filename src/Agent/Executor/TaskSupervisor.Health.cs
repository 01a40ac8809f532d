using Aurora.Agent.Protocol;

namespace Aurora.Agent.Executor;

/// <summary>Thermos health checking: gates RUNNING, and fails the task after too many failures in a row.</summary>
/// <remarks>
/// As in Thermos's ThreadedHealthChecker: failures during the initial interval do not count, and the
/// task fails once consecutive failures exceed MaxConsecutiveFailures (so 0 tolerates none). A
/// <c>.healthchecksnooze</c> file in the sandbox pauses checking, as it does in Thermos.
/// </remarks>
internal sealed partial class TaskSupervisor
{
    private const string SnoozeFile = ".healthchecksnooze";

    private string? _healthCommand;
    private HealthState? _health;

    private void StartHealthCheckIfDue(long now)
    {
        if (State.Launch.HealthCheck is not { } check || !State.Processes.Any(p => p.Runs > 0))
        {
            return;
        }

        // Checks start with the processes (or with a recovered task's reattachment); a task already RUNNING stays healthy until checks say otherwise.
        _health ??= new HealthState(now, healthy: State.History.Any(t => t.State == AgentTaskState.Running));
        if (_health.Pending is not null || now < _health.NextCheckAtMs)
        {
            return;
        }

        var intervalMs = (long)((check.IntervalSecs > 0 ? check.IntervalSecs : 10) * 1000);
        _health.NextCheckAtMs = now + intervalMs;
        if (File.Exists(Path.Combine(Sandbox, SnoozeFile)))
        {
            return;
        }

        var cancellation = _health.Cancellation.Token;
        _health.Pending = check.Kind == HealthCheckSpec.Http
            ? Task.Run(() => _context.Health.CheckHttpAsync(check, State.Launch.Ports[HealthChecker.HealthPort], cancellation), cancellation)
            : Task.Run(() => _context.Health.CheckShellAsync(check, _healthCommand!, Sandbox, _environment, Confinement(), cancellation), cancellation);
    }

    private void HarvestHealthCheck(long now)
    {
        if (_health is not { Pending: { IsCompleted: true } pending } health || State.Launch.HealthCheck is not { } check)
        {
            return;
        }

        health.Pending = null;
        var result = pending.IsCompletedSuccessfully
            ? pending.Result
            : new HealthResult(false, $"the check itself failed: {pending.Exception?.GetBaseException().Message ?? "cancelled"}");
        health.LastDetail = result.Detail;
        if (result.Healthy)
        {
            health.ConsecutiveFailures = 0;
            health.ConsecutiveSuccesses++;
            if (health.ConsecutiveSuccesses >= Math.Max(1, check.MinConsecutiveSuccesses))
            {
                health.Healthy = true;
            }

            return;
        }

        health.ConsecutiveSuccesses = 0;
        ExecutorLog.HealthCheckFailed(_context.Logger, TaskId, result.Detail);
        if (now < health.StartedAtMs + (long)(check.InitialIntervalSecs * 1000))
        {
            return;
        }

        health.ConsecutiveFailures++;
        if (health.ConsecutiveFailures > Math.Max(0, check.MaxConsecutiveFailures))
        {
            BeginStop(AgentTaskState.Failed, $"Failed health check! {result.Detail}", _context.Options.StopGracePeriod, now);
        }
    }

    private void StopHealthChecks()
    {
        if (_health is null)
        {
            return;
        }

        // A check in flight ends on its own (a shell check kills its process group when cancelled);
        // the source is not disposed because that check may still be linking to its token.
        _health.Cancellation.Cancel();
        _health = null;
    }

    /// <summary>The health of one task as the checks so far say.</summary>
    private sealed class HealthState(long startedAtMs, bool healthy)
    {
        public long StartedAtMs { get; } = startedAtMs;

        public long NextCheckAtMs { get; set; } = startedAtMs;

        public Task<HealthResult>? Pending { get; set; }

        public CancellationTokenSource Cancellation { get; } = new();

        public int ConsecutiveSuccesses { get; set; }

        public int ConsecutiveFailures { get; set; }

        public bool Healthy { get; set; } = healthy;

        public string LastDetail { get; set; } = "";
    }
}
