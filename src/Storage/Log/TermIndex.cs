namespace Aurora.Storage.Log;

/// <summary>
/// The term of every position in a contiguous range, kept as runs: the first position of each run
/// of equal terms. Answers in O(log runs); a log has a run per leadership change it saw, not per entry.
/// </summary>
/// <remarks>
/// Covers the positions [<see cref="Start"/>, <see cref="Last"/>]; empty when
/// <c>Last == Start - 1</c>. Terms never decrease along it (the log refuses entries that would).
/// Not thread-safe: <see cref="SegmentedLog"/> guards it with its lock.
/// </remarks>
internal sealed class TermIndex
{
    private readonly List<(ulong First, ulong Term)> _runs = [];

    /// <summary>An index that knows nothing yet and whose next position is <paramref name="next"/>.</summary>
    public TermIndex(ulong next)
    {
        Start = next;
        Last = next - 1;
    }

    /// <summary>The lowest position whose term is known.</summary>
    public ulong Start { get; private set; }

    /// <summary>The highest position whose term is known; <c>Start - 1</c> when none is.</summary>
    public ulong Last { get; private set; }

    public bool IsEmpty => Last < Start;

    /// <summary>The term of <see cref="Last"/>; 0 when the index is empty.</summary>
    public ulong LastTerm => _runs.Count == 0 ? 0 : _runs[^1].Term;

    public int RunCount => _runs.Count;

    /// <summary>Forgets everything; knows only that <paramref name="position"/> has <paramref name="term"/>, or nothing when it is null.</summary>
    public void Reset(ulong position, ulong? term)
    {
        _runs.Clear();
        if (term is { } known)
        {
            Start = position;
            Last = position;
            _runs.Add((position, known));
        }
        else
        {
            Start = position + 1;
            Last = position;
        }
    }

    /// <summary>Records the term of the next position, <c>Last + 1</c>.</summary>
    public void Append(ulong position, ulong term)
    {
        if (position != Last + 1)
        {
            throw new InvalidOperationException($"term index: position {position} is not the next one ({Last + 1})");
        }

        if (term < LastTerm)
        {
            throw new InvalidOperationException($"term index: term {term} at position {position} is below the previous term {LastTerm}");
        }

        if (_runs.Count == 0 || _runs[^1].Term != term)
        {
            _runs.Add((position, term));
        }

        Last = position;
    }

    public bool TryGet(ulong position, out ulong term)
    {
        term = 0;
        if (position < Start || position > Last)
        {
            return false;
        }

        // The last run starting at or before the position.
        int low = 0, high = _runs.Count - 1;
        while (low < high)
        {
            var middle = low + ((high - low + 1) / 2);
            if (_runs[middle].First <= position)
            {
                low = middle;
            }
            else
            {
                high = middle - 1;
            }
        }

        term = _runs[low].Term;
        return true;
    }

    /// <summary>Forgets every position after <paramref name="lastKept"/> (which may be <c>Start - 1</c>).</summary>
    public void TruncateAfter(ulong lastKept)
    {
        if (lastKept + 1 < Start)
        {
            throw new InvalidOperationException($"term index: cannot keep up to {lastKept}, the index starts at {Start}");
        }

        if (lastKept >= Last)
        {
            return;
        }

        while (_runs.Count > 0 && _runs[^1].First > lastKept)
        {
            _runs.RemoveAt(_runs.Count - 1);
        }

        Last = lastKept;
    }

    /// <summary>Forgets every position below <paramref name="first"/> (after prefix truncation).</summary>
    public void TruncateBefore(ulong first)
    {
        if (first <= Start)
        {
            return;
        }

        if (first > Last)
        {
            // Nothing known is kept; the next position stays where it was.
            var next = Last + 1;
            _runs.Clear();
            Start = next;
            Last = next - 1;
            return;
        }

        var drop = 0;
        while (drop + 1 < _runs.Count && _runs[drop + 1].First <= first)
        {
            drop++;
        }

        _runs.RemoveRange(0, drop);
        _runs[0] = (first, _runs[0].Term);
        Start = first;
    }

    public TermIndex Clone()
    {
        var copy = new TermIndex(Start) { Start = Start, Last = Last };
        copy._runs.AddRange(_runs);
        return copy;
    }
}
