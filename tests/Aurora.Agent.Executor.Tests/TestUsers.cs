using System.Diagnostics;

namespace Aurora.Agent.Executor.Tests;

/// <summary>A [Fact] that runs only as root, the only user who can switch users and make cgroups; it says why otherwise.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Needs Linux: tasks run as Unix users only there.";
        }
        else if (UserAccounts.EffectiveUid() != 0)
        {
            Skip = $"Needs root: only root may switch a task to another user (these tests run as uid {UserAccounts.EffectiveUid()}).";
        }
    }
}

/// <summary>
/// The Unix user <c>aurora-test-role</c> (with a supplementary group <c>aurora-test-extra</c>) for
/// the tests that run tasks as a role's user: created with useradd once for the test class, removed
/// with userdel after it. A leftover from a crashed run is removed first.
/// </summary>
public sealed class TestRoleUser : IDisposable
{
    public const string Name = "aurora-test-role";
    public const string ExtraGroup = "aurora-test-extra";
    public const string Home = "/nonexistent/aurora-test-role";

    public TestRoleUser()
    {
        if (UserAccounts.EffectiveUid() != 0)
        {
            return;
        }

        Remove();
        Run("groupadd", ExtraGroup);
        Run("useradd", "--no-create-home", "--home-dir", Home, "--shell", "/usr/sbin/nologin", "--groups", ExtraGroup, Name);
        User = UserAccounts.Find(Name) ?? throw new InvalidOperationException($"useradd {Name} left no such user");
    }

    /// <summary>The account; null when the tests cannot run (not root), in which case they are skipped.</summary>
    public UnixUser? User { get; }

    public void Dispose() => Remove();

    /// <summary>The uid that owns <paramref name="path"/> (not following a final link), as stat(1) says.</summary>
    public static uint OwnerOf(string path)
    {
        var (code, output) = Execute("stat", ["-c", "%u", path]);
        Assert.True(code == 0, $"stat {path}: {output}");
        return uint.Parse(output, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Remove()
    {
        if (UserAccounts.Find(Name) is not null)
        {
            Run("userdel", Name);
        }

        TryRun("groupdel", ExtraGroup);
    }

    private static void Run(string tool, params string[] arguments)
    {
        var (code, output) = Execute(tool, arguments);
        if (code != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} exited {code}: {output}");
        }
    }

    private static void TryRun(string tool, params string[] arguments) => Execute(tool, arguments);

    private static (int Code, string Output) Execute(string tool, string[] arguments)
    {
        var info = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{tool} did not start");
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Trim());
    }
}
