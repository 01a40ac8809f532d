using Aurora.Agent.Node;

namespace Aurora.Agent.Tests.Support;

/// <summary>A machine stated by the test, so detected defaults are known.</summary>
internal sealed class FakeMachine : IMachine
{
    public string HostName { get; init; } = "node1.example.com";

    public int ProcessorCount { get; init; } = 8;

    public long? TotalMemoryMb { get; init; } = 16_384;

    public long? FreeDiskMbValue { get; init; } = 100_000;

    public bool DockerOnPath { get; init; }

    public IReadOnlySet<string> ExistingPaths { get; init; } = new HashSet<string>();

    public long? FreeDiskMb(string path) => FreeDiskMbValue;

    public bool IsOnPath(string program) => program == "docker" && DockerOnPath;

    public bool Exists(string path) => ExistingPaths.Contains(path);
}
