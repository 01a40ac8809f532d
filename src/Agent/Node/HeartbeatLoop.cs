using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Threading.Channels;
using Aurora.Agent.Executor;
using Aurora.Agent.Protocol;
using Microsoft.Extensions.Logging;

namespace Aurora.Agent.Node;

/// <summary>
/// Keeps the scheduler told: a long-polled heartbeat (held up to -heartbeat_wait while nothing is
/// new) carrying the whole inventory, and, when a task changes while that poll is held, one extra
/// heartbeat at once so status reaches the scheduler in milliseconds. Applies what the answers say
/// (launch, kill, forget). Scheduler errors never end the loop: it backs off (200 ms doubling to 5 s
/// by default) and logs once per outage.
/// </summary>
/// <remarks>
/// One loop task owns the long poll; at most one extra heartbeat runs beside it, and bursts of
/// changes coalesce into it (the change signal holds one token). Both may apply answers
/// concurrently, which is safe because the executor is thread-safe and its calls are idempotent,
/// and every heartbeat is a full statement, so an answer computed from an older inventory does no harm.
/// "Something changed" is a version counter: bumped by the executor's Changed event and after an
/// answer is applied; a heartbeat asks to be held only when the scheduler has already answered one
/// that carried the current version.
/// </remarks>
internal sealed class HeartbeatLoop : IAsyncDisposable
{
    /// <summary>Hops followed from a non-leading replica to the leader, per heartbeat.</summary>
    private const int MaxRedirects = 4;

    /// <summary>How long a scheduler may take beyond the wait it was granted before the request is abandoned.</summary>
    private static readonly TimeSpan AnswerMargin = TimeSpan.FromSeconds(15);

    /// <summary>The least pause between idle heartbeats when the scheduler does not hold them.</summary>
    private static readonly TimeSpan MinIdleInterval = TimeSpan.FromMilliseconds(200);

    private readonly AgentOptions _options;
    private readonly string _agentId;
    private readonly string? _sandboxUrl;
    private readonly ITaskExecutor _executor;
    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private int _nextScheduler;      // which configured replica the next fallback is (modulo their count)
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _outageLock = new();
    private Uri _target;
    private long _version;
    private long _sentVersion = -1;
    private long _answeredVersion = -1;
    private int _failures;
    private bool _registered;
    private long _answers;
    private Task? _loop;

    /// <summary>Ids already logged as unreportable, so each is logged once.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _unreportable = new(StringComparer.Ordinal);

    public HeartbeatLoop(AgentOptions options, string agentId, Uri? sandboxUri, ITaskExecutor executor, HttpClient http, ILogger logger, TimeProvider time)
    {
        _options = options;
        _agentId = agentId;
        _sandboxUrl = sandboxUri?.ToString().TrimEnd('/');
        _executor = executor;
        _http = http;
        _logger = logger;
        _time = time;
        _target = BaseOf(options.Scheduler);
    }

    /// <summary>Heartbeats the scheduler has answered (for tests and /state).</summary>
    public long Answers => Interlocked.Read(ref _answers);

    public void Start()
    {
        _executor.Changed += OnChanged;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public async ValueTask DisposeAsync()
    {
        _executor.Changed -= OnChanged;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    private void OnChanged()
    {
        Interlocked.Increment(ref _version);
        _changed.Writer.TryWrite(true);
    }

    private async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await BeatAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>One long poll (or immediate heartbeat), the extra heartbeats beside it, and the pause after it.</summary>
    private async Task BeatAsync(CancellationToken stop)
    {
        // Tokens left from before this heartbeat was built are already in it.
        _changed.Reader.TryRead(out _);
        var version = Interlocked.Read(ref _version);
        var wait = version == Interlocked.Read(ref _answeredVersion) ? _options.HeartbeatWait : TimeSpan.Zero;
        var sent = _time.GetTimestamp();
        var poll = ExchangeAsync(version, wait, stop);
        if (wait > TimeSpan.Zero)
        {
            await PromptWhileHeldAsync(poll, stop).ConfigureAwait(false);
        }

        var response = await poll.ConfigureAwait(false);
        if (response is null)
        {
            await Task.Delay(Backoff(), _time, stop).ConfigureAwait(false);
            return;
        }

        if (Apply(response) || Interlocked.Read(ref _version) != version || wait == TimeSpan.Zero)
        {
            return;
        }

        // An empty answer well before the wait ran out means the scheduler does not hold heartbeats:
        // pace them by its interval instead of spinning, but still go at once when a task changes.
        var held = _time.GetElapsedTime(sent);
        var interval = TimeSpan.FromMilliseconds(Math.Max(response.HeartbeatIntervalMs, MinIdleInterval.TotalMilliseconds));
        if (held < wait / 2 && interval > held)
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var delay = Task.Delay(interval - held, _time, idle.Token);
            var changed = _changed.Reader.WaitToReadAsync(idle.Token).AsTask();
            await Task.WhenAny(delay, changed).ConfigureAwait(false);
            await idle.CancelAsync().ConfigureAwait(false);
            stop.ThrowIfCancellationRequested();
        }
    }

    /// <summary>While <paramref name="poll"/> is held, sends one heartbeat at a time for each burst of changes.</summary>
    private async Task PromptWhileHeldAsync(Task<HeartbeatResponse?> poll, CancellationToken stop)
    {
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(stop);
        try
        {
            while (!poll.IsCompleted)
            {
                var changed = _changed.Reader.WaitToReadAsync(watching.Token).AsTask();
                if (await Task.WhenAny(poll, changed).ConfigureAwait(false) == poll)
                {
                    return;
                }

                await changed.ConfigureAwait(false);
                _changed.Reader.TryRead(out _);
                var version = Interlocked.Read(ref _version);
                if (version <= Interlocked.Read(ref _sentVersion))
                {
                    continue;
                }

                if (await ExchangeAsync(version, TimeSpan.Zero, stop).ConfigureAwait(false) is { } response)
                {
                    Apply(response);
                }
                else if (!poll.IsCompleted)
                {
                    // The scheduler is failing: the held poll will fail too and back off.
                    await Task.WhenAny(poll, Task.Delay(Backoff(), _time, stop)).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            await watching.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Launches, kills and forgets as the answer says; true when that changed anything.</summary>
    /// <remarks>
    /// Only a change counts: a launch of a task already held (or refused), a kill of a task already
    /// ending and an acknowledgement of a task already forgotten change nothing, so a scheduler that
    /// repeats itself gets the next heartbeat at the ordinary pace, never at once, and cannot drive
    /// the agent into a busy loop.
    /// </remarks>
    private bool Apply(HeartbeatResponse response)
    {
        var acted = false;
        foreach (var launch in response.Launch ?? [])
        {
            // Logged once the executor took it on: a repeated launch changes nothing and is not logged again.
            if (Guard("launch", launch.TaskId, () => _executor.Launch(launch)))
            {
                acted = true;
                NodeMessages.TookOn(_logger, launch.TaskId, launch.Role, launch.Environment, launch.JobName, launch.InstanceId);
            }
        }

        foreach (var kill in response.Kill ?? [])
        {
            var reason = ProtocolLimits.FitMessage(kill.Reason);
            if (Guard("kill", kill.TaskId, () => _executor.Kill(kill.TaskId, reason, TimeSpan.FromSeconds(Math.Max(0, kill.GracePeriodSecs)))))
            {
                acted = true;
                NodeMessages.Killing(_logger, kill.TaskId, kill.GracePeriodSecs, reason);
            }
        }

        foreach (var taskId in response.Acknowledged ?? [])
        {
            acted |= Guard("forget", taskId, () => _executor.Forget(taskId));
        }

        if (acted)
        {
            // The inventory the scheduler saw is stale now: the next heartbeat goes at once.
            OnChanged();
        }

        return acted;
    }

    /// <summary>The executor's answer, or false when it threw.</summary>
    private bool Guard(string action, string taskId, Func<bool> call)
    {
        try
        {
            return call();
        }
        catch (Exception e)
        {
            // The executor promises not to throw; if it does anyway, one task's trouble must not stop the agent.
            NodeMessages.ExecutorFailed(_logger, e, action, ProtocolLimits.FitMessage(taskId));
            return false;
        }
    }

    /// <summary>One heartbeat, following redirects; null when it failed (already logged and counted).</summary>
    private async Task<HeartbeatResponse?> ExchangeAsync(long version, TimeSpan wait, CancellationToken stop)
    {
        InterlockedMax(ref _sentVersion, version);
        byte[] body;
        try
        {
            body = JsonSerializer.SerializeToUtf8Bytes(BuildRequest(wait), AgentApi.Json);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failed($"cannot build the heartbeat: {e.Message}");
            return null;
        }

        var target = new Uri(Volatile.Read(ref _target), AgentApi.HeartbeatPath);
        for (var hop = 0; hop <= MaxRedirects; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            if (_options.Credential is { } credential)
            {
                // Sent to every replica a redirect names too: they are the same cluster, sharing -agent_credentials.
                request.Headers.TryAddWithoutValidation("Authorization", credential.BasicHeader());
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
            timeout.CancelAfter(wait + AnswerMargin);
            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
                if (response.StatusCode is HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect && response.Headers.Location is { } location)
                {
                    target = location.IsAbsoluteUri ? location : new Uri(target, location);
                    NodeMessages.Redirected(_logger, BaseOf(target));
                    continue;
                }

                if (!response.IsSuccessStatusCode)
                {
                    var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
                    Failed($"{target} answered {(int)response.StatusCode} {response.ReasonPhrase}: {Abbreviate(text)}");
                    return null;
                }

                var answer = await response.Content.ReadFromJsonAsync<HeartbeatResponse>(AgentApi.Json, timeout.Token).ConfigureAwait(false);
                if (answer is null)
                {
                    Failed($"{target} answered null");
                    return null;
                }

                Volatile.Write(ref _target, BaseOf(target));
                InterlockedMax(ref _answeredVersion, version);
                Interlocked.Increment(ref _answers);
                Succeeded(target);
                return answer;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or IOException or NotSupportedException)
            {
                var reason = e is OperationCanceledException ? $"no answer from {target} within {wait + AnswerMargin}" : $"{target}: {e.Message}";
                Failed(reason);

                // A leader learnt from a redirect may be gone: start again from the next configured replica.
                Volatile.Write(ref _target, NextConfigured());
                return null;
            }
        }

        Failed($"more than {MaxRedirects} redirects, last to {target}");
        Volatile.Write(ref _target, NextConfigured());
        return null;
    }

    /// <summary>The configured replicas in turn: one that is down is not asked again until the others were.</summary>
    private Uri NextConfigured()
    {
        var schedulers = _options.Schedulers;
        var next = (int)((uint)Interlocked.Increment(ref _nextScheduler) % (uint)schedulers.Count);
        return BaseOf(schedulers[next]);
    }

    private HeartbeatRequest BuildRequest(TimeSpan wait) => new(
        _agentId,
        _options.Hostname,
        _sandboxUrl,
        _options.Attributes,
        _options.Resources,
        _options.RevocableResources,
        _options.ContainerEngine,
        Reportable(_executor.Inventory()),
        (int)wait.TotalMilliseconds);

    /// <summary>
    /// The inventory as the protocol allows it (<see cref="ProtocolLimits"/>), whatever the executor
    /// holds: a report the scheduler would refuse gets the whole heartbeat refused, every time. A
    /// task whose id the protocol cannot carry is left out (logged once), and so is one without
    /// history; messages are fitted; a history too long keeps its first transition and its latest ones.
    /// </summary>
    private List<TaskReport> Reportable(IReadOnlyList<TaskReport> inventory)
    {
        var reports = new List<TaskReport>(inventory.Count);
        foreach (var report in inventory)
        {
            if (ProtocolLimits.TaskIdProblem(report.TaskId) is { } problem)
            {
                if (_unreportable.TryAdd(report.TaskId, 0))
                {
                    NodeMessages.Unreportable(_logger, problem);
                }

                continue;
            }

            if (report.History is not { Count: > 0 })
            {
                // Nothing to say about it yet; the scheduler refuses a report without a state.
                continue;
            }

            var history = report.History.Count <= ProtocolLimits.MaxHistoryLength
                ? report.History
                : [report.History[0], .. report.History.Skip(report.History.Count - ProtocolLimits.MaxHistoryLength + 1)];
            reports.Add(report with { History = [.. history.Select(t => t with { Message = ProtocolLimits.FitMessage(t.Message) })] });
        }

        return reports;
    }

    private void Failed(string reason)
    {
        lock (_outageLock)
        {
            if (++_failures == 1)
            {
                NodeMessages.OutageBegan(_logger, reason, _options.RetryBackoffMax);
            }
            else
            {
                NodeMessages.AttemptFailed(_logger, _failures, reason);
            }
        }
    }

    private void Succeeded(Uri target)
    {
        lock (_outageLock)
        {
            if (_failures > 0)
            {
                NodeMessages.OutageEnded(_logger, BaseOf(target), _failures);
            }
            else if (!_registered)
            {
                NodeMessages.Registered(_logger, BaseOf(target));
            }

            _registered = true;
            _failures = 0;
        }
    }

    /// <summary>The delay before the next attempt: doubling from RetryBackoffMin with each failure of this outage, capped.</summary>
    private TimeSpan Backoff()
    {
        int failures;
        lock (_outageLock)
        {
            failures = _failures;
        }

        var min = _options.RetryBackoffMin;
        var max = _options.RetryBackoffMax;
        var exponent = Math.Clamp(failures - 1, 0, 30);
        var delay = TimeSpan.FromTicks((long)Math.Min(max.Ticks, min.Ticks * Math.Pow(2, exponent)));
        return delay < min ? min : delay;
    }

    private static Uri BaseOf(Uri uri) => new(uri.GetLeftPart(UriPartial.Authority) + "/");

    private static string Abbreviate(string text)
    {
        text = text.ReplaceLineEndings(" ").Trim();
        return text.Length <= 300 ? text : text[..300] + "...";
    }

    private static void InterlockedMax(ref long location, long value)
    {
        var current = Interlocked.Read(ref location);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
