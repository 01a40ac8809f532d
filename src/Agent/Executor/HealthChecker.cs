using System.Globalization;
using Aurora.Agent.Protocol;

namespace Aurora.Agent.Executor;

/// <summary>The result of one health check; <see cref="Detail"/> says why a check failed.</summary>
internal readonly record struct HealthResult(bool Healthy, string Detail);

/// <summary>Runs one Thermos health check: an HTTP GET on the task's "health" port, or a shell command in its sandbox.</summary>
/// <remarks>Thread-safe; checks run on the thread pool, never under the executor's lock.</remarks>
internal sealed class HealthChecker(HttpClient http, ProcessLauncher launcher)
{
    public const string HealthPort = "health";

    public static TimeSpan TimeoutOf(HealthCheckSpec spec) =>
        TimeSpan.FromSeconds(spec.TimeoutSecs > 0 ? spec.TimeoutSecs : 1);

    public async Task<HealthResult> CheckHttpAsync(HealthCheckSpec spec, int port, CancellationToken cancellation)
    {
        var endpoint = string.IsNullOrEmpty(spec.Endpoint) ? "/health" : spec.Endpoint;
        var url = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}{(endpoint.StartsWith('/') ? "" : "/")}{endpoint}");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(TimeoutOf(spec));
        try
        {
            using var response = await http.GetAsync(new Uri(url), timeout.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            if (spec.ExpectedResponseCode > 0 ? code != spec.ExpectedResponseCode : code is < 200 or > 299)
            {
                var expected = spec.ExpectedResponseCode > 0 ? spec.ExpectedResponseCode.ToString(CultureInfo.InvariantCulture) : "2xx";
                return new HealthResult(false, $"GET {url} answered {code}, expected {expected}");
            }

            if (!string.IsNullOrEmpty(spec.ExpectedResponse) && !body.Contains(spec.ExpectedResponse, StringComparison.OrdinalIgnoreCase))
            {
                return new HealthResult(false, $"GET {url} answered without '{spec.ExpectedResponse}': {Abbreviate(body)}");
            }

            return new HealthResult(true, $"GET {url} answered {code}");
        }
        catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
        {
            return new HealthResult(false, $"GET {url} timed out after {TimeoutOf(spec).TotalSeconds:0.###} s");
        }
        catch (HttpRequestException e)
        {
            return new HealthResult(false, $"GET {url} failed: {e.Message}");
        }
    }

    public async Task<HealthResult> CheckShellAsync(HealthCheckSpec spec, string command, string sandbox, IReadOnlyDictionary<string, string> environment, ProcessConfinement confinement, CancellationToken cancellation)
    {
        using var process = launcher.StartCaptured(sandbox, environment, command, confinement);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellation);
        var stderr = process.StandardError.ReadToEndAsync(cancellation);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timeout.CancelAfter(TimeoutOf(spec));
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            await Task.WhenAll(stdout, stderr).WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The check runs in a group of its own: take down whatever it started, too.
            NativeMethods.SignalGroup(process.Id, NativeMethods.SigKill);
            if (cancellation.IsCancellationRequested)
            {
                throw;
            }

            return new HealthResult(false, $"shell command '{command}' timed out after {TimeoutOf(spec).TotalSeconds:0.###} s");
        }

        if (process.ExitCode == 0)
        {
            return new HealthResult(true, "shell command exited 0");
        }

        var output = LastLine(await stderr.ConfigureAwait(false)) ?? LastLine(await stdout.ConfigureAwait(false));
        return new HealthResult(false, $"shell command '{command}' exited with status {process.ExitCode}{(output is null ? "" : ": " + output)}");
    }

    internal static string? LastLine(string text) =>
        text.Split('\n').Select(line => line.Trim()).LastOrDefault(line => line.Length > 0);

    private static string Abbreviate(string body)
    {
        var trimmed = body.Trim();
        return trimmed.Length <= 200 ? trimmed : trimmed[..200] + "...";
    }
}
