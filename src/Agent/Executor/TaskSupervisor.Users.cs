namespace Aurora.Agent.Executor;

/// <summary>Running a task as its role's Unix user, as Thermos does (unless the agent runs with -nosetuid).</summary>
internal sealed partial class TaskSupervisor
{
    /// <summary>The role's account when the agent runs tasks as their role's user; null with -nosetuid (the agent's own user).</summary>
    private UnixUser? _roleUser;

    /// <summary>The user processes switch to: <see cref="_roleUser"/> when it is not the agent's own user already.</summary>
    private UnixUser? _switchTo;

    /// <summary>The name processes run as, for <c>{{thermos.user}}</c>.</summary>
    private string RunAsName => _roleUser?.Name ?? _context.User;

    /// <summary>How every process of the task starts: as its user, in its cgroups.</summary>
    private ProcessConfinement Confinement() =>
        _switchTo is null && _cgroup is null ? ProcessConfinement.None : new ProcessConfinement(_switchTo, _cgroup?.ProcsFiles ?? []);

    /// <summary>Finds the role's user; null when the task may run as it, otherwise why not (the task then fails with it).</summary>
    private string? ResolveRoleUser(string role)
    {
        if (!_context.Options.RunAsRoleUser)
        {
            return null;
        }

        var host = _context.Options.Hostname;
        UnixUser? user;
        try
        {
            user = UserAccounts.Find(role);
        }
        catch (IOException e)
        {
            return $"Cannot look up role user '{role}' on host {host}: {e.Message}";
        }

        if (user is null)
        {
            return $"Role user '{role}' does not exist on host {host}: create the user there, or run the agent with -nosetuid";
        }

        if (user.IsRoot && !_context.Options.AllowRootRole)
        {
            return $"Role '{role}' runs as uid 0 (root) on host {host}; this agent refuses to run tasks as root unless it is started with -allow_root_role";
        }

        var agentUid = UserAccounts.EffectiveUid();
        if (user.Uid != agentUid && agentUid != 0)
        {
            return $"Cannot run as role user '{role}' (uid {user.Uid}) on host {host}: the agent runs as uid {agentUid}, and only root may switch users. Run the agent as root, or with -nosetuid";
        }

        _roleUser = user;
        _switchTo = user.Uid == agentUid ? null : user;
        return null;
    }

    /// <summary>Gives the sandbox directory (just created, inside the agent's own sandboxes/&lt;id&gt;) to the task's user, so that its processes can write there.</summary>
    private void GiveSandboxToTaskUser()
    {
        if (_switchTo is not { } user)
        {
            return;
        }

        var errno = UserAccounts.ChangeOwner(Sandbox, user.Uid, user.Gid);
        if (errno != 0)
        {
            throw new IOException($"chown {user.Name} {Sandbox}: {Errno.Describe(errno)}");
        }
    }
}
