using System.Net;
using System.Net.Sockets;

namespace Aurora.Benchmarks.Shared;

/// <summary>Ports on 127.0.0.1 for processes that must be told theirs before they start (also linked into Aurora.Testing).</summary>
internal static class LoopbackPorts
{
    /// <summary>
    /// <paramref name="count"/> distinct ports on 127.0.0.1 that were free a moment ago: each bound
    /// to port 0 (the kernel's choice), all held until every one is chosen, then released.
    /// </summary>
    public static int[] Free(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
                listener.Dispose();
            }
        }
    }
}
