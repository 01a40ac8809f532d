using System.Collections.Frozen;

namespace Aurora.Scheduler.Server.Auth;

/// <summary>
/// The permissions the scheduler checks, in Aurora's shapes (Aurora's <c>spi/Permissions.java</c>):
/// job-scoped <c>thrift.AuroraSchedulerManager:&lt;rpc&gt;:&lt;role&gt;:&lt;env&gt;:&lt;job&gt;</c> and
/// unscoped <c>thrift.AuroraAdmin:&lt;rpc&gt;</c>.
/// </summary>
/// <remarks>
/// The builders refuse an RPC name that Aurora's services do not declare, so a misspelt name in an
/// endpoint fails its first test instead of checking a permission no role line can grant, and refuse
/// key components containing <c>:</c>, <c>,</c>, <c>*</c> or whitespace, which would change the
/// permission's shape (job keys are identifiers, so a valid key never does).
/// </remarks>
internal static class Permissions
{
    public const string SchedulerManagerDomain = "thrift.AuroraSchedulerManager";
    public const string AdminDomain = "thrift.AuroraAdmin";

    /// <summary>The RPCs declared in Aurora's <c>AuroraSchedulerManager</c> service: job-scoped, authenticated.</summary>
    public static readonly IReadOnlyList<string> SchedulerManagerRpcs =
    [
        "createJob", "scheduleCronJob", "descheduleCronJob", "startCronJob", "restartShards", "killTasks",
        "addInstances", "replaceCronTemplate", "startJobUpdate", "pauseJobUpdate", "resumeJobUpdate",
        "abortJobUpdate", "rollbackJobUpdate", "pulseJobUpdate",
    ];

    /// <summary>The RPCs declared in Aurora's <c>AuroraAdmin</c> service: unscoped, authenticated, reads included.</summary>
    public static readonly IReadOnlyList<string> AdminRpcs =
    [
        "setQuota", "forceTaskState", "performBackup", "listBackups", "stageRecovery", "queryRecovery",
        "deleteRecoveryTasks", "commitRecovery", "unloadRecovery", "startMaintenance", "drainHosts",
        "maintenanceStatus", "endMaintenance", "slaDrainHosts", "snapshot", "rewriteConfigs",
        "triggerExplicitTaskReconciliation", "triggerImplicitTaskReconciliation", "pruneTasks",
    ];

    private static readonly FrozenSet<string> SchedulerManagerRpcSet = SchedulerManagerRpcs.ToFrozenSet(StringComparer.Ordinal);
    private static readonly FrozenSet<string> AdminRpcSet = AdminRpcs.ToFrozenSet(StringComparer.Ordinal);

    /// <summary><c>thrift.AuroraSchedulerManager:&lt;rpc&gt;:&lt;role&gt;:&lt;env&gt;:&lt;name&gt;</c>, e.g. <c>thrift.AuroraSchedulerManager:createJob:www-data:prod:hello</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="rpc"/> is not an AuroraSchedulerManager RPC, or a key component is empty or contains <c>:</c>, <c>,</c>, <c>*</c> or whitespace.</exception>
    public static string SchedulerManager(string rpc, string role, string environment, string name)
    {
        RequireRpc(rpc, SchedulerManagerRpcSet, SchedulerManagerDomain);
        RequireComponent(role, nameof(role));
        RequireComponent(environment, nameof(environment));
        RequireComponent(name, nameof(name));
        return $"{SchedulerManagerDomain}:{rpc}:{role}:{environment}:{name}";
    }

    /// <summary><c>thrift.AuroraAdmin:&lt;rpc&gt;</c>, e.g. <c>thrift.AuroraAdmin:setQuota</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="rpc"/> is not an AuroraAdmin RPC.</exception>
    public static string Admin(string rpc)
    {
        RequireRpc(rpc, AdminRpcSet, AdminDomain);
        return $"{AdminDomain}:{rpc}";
    }

    private static void RequireRpc(string rpc, FrozenSet<string> known, string domain)
    {
        ArgumentNullException.ThrowIfNull(rpc);
        if (!known.Contains(rpc))
        {
            throw new ArgumentException($"'{rpc}' is not an RPC of {domain}; known: {string.Join(", ", known.Order(StringComparer.Ordinal))}.", nameof(rpc));
        }
    }

    private static void RequireComponent(string value, string parameter)
    {
        ArgumentNullException.ThrowIfNull(value, parameter);
        if (value.Length == 0 || value.Any(c => c is ':' or ',' or '*' || char.IsWhiteSpace(c)))
        {
            throw new ArgumentException($"Job key component '{value}' cannot be used in a permission: it must be non-empty, without ':', ',', '*' or whitespace.", parameter);
        }
    }
}
