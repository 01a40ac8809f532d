using Aurora.Scheduler.Commands;
using Aurora.Scheduler.Persistence;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.Settings;
using Aurora.Scheduler.State;
using Aurora.Storage.Protos;

namespace Aurora.Scheduler.Benchmarks.Generation;

/// <summary>
/// Decides commands against a live state and turns their events into log entries the way a
/// scheduler commits them: one user command per transaction, while the scheduler's own decisions
/// (status updates, placements) of one burst share a transaction.
/// </summary>
/// <remarks>
/// <para>Each decision is decided against the state after every earlier decision, including those
/// of the still-open transaction: its events are applied at once, at the position and time the
/// transaction will have. Replaying the entries therefore rebuilds exactly this state (the
/// generator checks the hashes).</para>
/// <para>Not thread-safe; one generator drives it.</para>
/// </remarks>
internal sealed class LogWriter
{
    public const ulong Term = 1;

    private readonly List<LogEntry> _entries = [];
    private readonly Transaction _open = new();
    private string? _openPrincipal;
    private int _openDecisions;

    public LogWriter(int seed, DateTimeOffset start)
    {
        Ids = new SeededIdGenerator(seed);
        Now = start;
    }

    public SchedulerState State { get; } = new();

    public SchedulerSettings Settings { get; } = SchedulerSettings.Default;

    public IIdGenerator Ids { get; }

    /// <summary>The fake clock: moves only when the generator moves it, and only between transactions.</summary>
    public DateTimeOffset Now { get; private set; }

    public IReadOnlyList<LogEntry> Entries => _entries;

    public long Events { get; private set; }

    public long Decisions { get; private set; }

    public long Rejections { get; private set; }

    private ulong NextPosition => (ulong)_entries.Count + 1;

    /// <summary>A user's or operator's command: one transaction of its own.</summary>
    public Decision? Execute(SchedulerCommand command, string principal)
    {
        Commit();
        var decision = Add(command, principal);
        Commit();
        return decision;
    }

    /// <summary>
    /// A decision joining the open transaction of <paramref name="principal"/> (committing any other
    /// open one first). Returns null when the command was rejected (nothing changed).
    /// </summary>
    public Decision? Add(SchedulerCommand command, string principal)
    {
        if (_openPrincipal is not null && _openPrincipal != principal)
        {
            Commit();
        }

        Decision decision;
        try
        {
            decision = command.Decide(State, new CommandContext(principal, Now, Settings, Ids));
        }
        catch (CommandRejectedException)
        {
            Rejections++;
            return null;
        }

        Decisions++;
        if (!decision.ChangesState)
        {
            return decision;
        }

        var info = new TransactionInfo(NextPosition, MicrosOf(Now), principal);
        foreach (var e in decision.Events)
        {
            State.Apply(info, e);
            _open.Events.Add(e);
        }

        _openPrincipal = principal;
        _openDecisions++;
        return decision;
    }

    /// <summary>Decisions in the open transaction.</summary>
    public int OpenDecisions => _openDecisions;

    /// <summary>Closes the open transaction into a log entry.</summary>
    public void Commit()
    {
        if (_openPrincipal is null)
        {
            return;
        }

        var transaction = new Transaction();
        transaction.Events.AddRange(_open.Events);
        var entry = TransactionCodec.Encode(transaction, _openPrincipal, MicrosOf(Now), Term);
        entry.Position = NextPosition;
        _entries.Add(entry);
        Events += transaction.Events.Count;
        _open.Events.Clear();
        _openPrincipal = null;
        _openDecisions = 0;
    }

    /// <summary>Moves the clock on; commits first, since a transaction has one time.</summary>
    public void Advance(TimeSpan by)
    {
        Commit();
        Now += by;
    }

    public static long MicrosOf(DateTimeOffset time) => (time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;
}
