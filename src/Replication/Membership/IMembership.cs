namespace Aurora.Replication.Membership;

/// <summary>
/// Who the voting replicas are, which one is this process, and the quorum size: what the consensus
/// asks before it counts votes or acknowledgements.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="StaticMembership"/> serves the list given by <c>-native_log_replicas</c> and never
/// changes. A membership read from ZooKeeper (a later issue) will publish a new
/// <see cref="MembershipView"/> with a higher <see cref="MembershipView.Version"/> on every change.
/// </para>
/// <para>
/// Implementations are thread-safe: <see cref="Current"/> may be read from any thread and always
/// returns a whole view. <see cref="Changed"/> is raised after <see cref="Current"/> holds the new
/// view, one change at a time, in version order, on the implementation's own thread; a handler must
/// not block (the consensus posts the view to its own loop). <see cref="SelfId"/> never changes.
/// </para>
/// </remarks>
public interface IMembership
{
    /// <summary>This replica's id, for the life of the process.</summary>
    string SelfId { get; }

    /// <summary>The membership as it stands now.</summary>
    MembershipView Current { get; }

    /// <summary>Raised with the new view after each change; never raised by <see cref="StaticMembership"/>.</summary>
    event EventHandler<MembershipView>? Changed;
}
