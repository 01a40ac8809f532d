using System.Globalization;
using Aurora.Scheduler.Model;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Aurora.Scheduler.Validation;

namespace Aurora.Scheduler.Commands;

/// <summary>Aurora's setQuota (admin): overwrites a role's CPU, RAM and disk quota.</summary>
public sealed record SetQuota(string Role, Resources Quota) : SchedulerCommand
{
    public override Decision Decide(SchedulerState state, CommandContext context)
    {
        ArgumentNullException.ThrowIfNull(Quota);
        RequireIdentifier(Role, "Role");
        var quota = new Resources { NumCpus = Quota.NumCpus, RamMb = Quota.RamMb, DiskMb = Quota.DiskMb };
        if (ResourceMath.AnyNegative(quota) || double.IsNaN(quota.NumCpus) || double.IsInfinity(quota.NumCpus))
        {
            throw CommandRejectedException.Invalid($"Negative values in: {ResourceMath.Describe(quota)}");
        }

        if (quota.NumCpus > ResourceLimits.MaxQuotaCpus || quota.RamMb > ResourceLimits.MaxQuotaRamMb || quota.DiskMb > ResourceLimits.MaxQuotaDiskMb)
        {
            throw CommandRejectedException.Invalid(string.Create(CultureInfo.InvariantCulture,
                $"Quota {ResourceMath.Describe(quota)} is more than a role could ever use: at most {ResourceLimits.MaxQuotaCpus} CPUs, {ResourceLimits.MaxQuotaRamMb} MB of RAM and {ResourceLimits.MaxQuotaDiskMb} MB of disk (a job of {TaskIds.InstanceIdLimit} instances of the largest task)."));
        }

        var production = QuotaCalculator.Consumption(state, Role).ProdShared;
        if (ResourceMath.Excess(production, quota) is not null)
        {
            throw CommandRejectedException.Invalid(
                $"Quota: {ResourceMath.Describe(quota)} is less then current prod reservation: {ResourceMath.Describe(production)}");
        }

        var decision = new DecisionBuilder(state, context);
        decision.Add(new Event { QuotaSet = new QuotaSet { Role = Role, Quota = quota } });
        return decision.Build();
    }
}
