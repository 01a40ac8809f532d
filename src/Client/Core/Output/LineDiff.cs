using System.Globalization;
using System.Text;

namespace Aurora.Client.Output;

/// <summary>A unified diff of two texts, line by line, with three lines of context (as <c>diff -u</c>).</summary>
public static class LineDiff
{
    private const int Context = 3;

    // Beyond this many cells the LCS table would be too large; the texts are then shown as one hunk.
    private const long MaxCells = 4_000_000;

    /// <summary>The diff, or an empty string when the texts are the same.</summary>
    public static string Unified(string oldText, string newText, string oldName, string newName)
    {
        ArgumentNullException.ThrowIfNull(oldText);
        ArgumentNullException.ThrowIfNull(newText);
        var a = Lines(oldText);
        var b = Lines(newText);
        var edits = Edits(a, b);
        if (edits.All(e => e.Kind == ' '))
        {
            return string.Empty;
        }

        var output = new StringBuilder();
        output.Append("--- ").Append(oldName).Append('\n');
        output.Append("+++ ").Append(newName).Append('\n');
        var i = 0;
        while (i < edits.Count)
        {
            if (edits[i].Kind == ' ')
            {
                i++;
                continue;
            }

            // A hunk: from context before the change to context after the last change that is
            // closer than two contexts to the next one.
            var start = Math.Max(0, i - Context);
            var end = i;
            while (true)
            {
                while (end < edits.Count && edits[end].Kind != ' ')
                {
                    end++;
                }

                var next = end;
                while (next < edits.Count && edits[next].Kind == ' ')
                {
                    next++;
                }

                if (next < edits.Count && next - end <= 2 * Context)
                {
                    end = next;
                    continue;
                }

                end = Math.Min(edits.Count, end + Context);
                break;
            }

            var oldStart = edits[start].OldLine;
            var newStart = edits[start].NewLine;
            var oldCount = edits.Skip(start).Take(end - start).Count(e => e.Kind != '+');
            var newCount = edits.Skip(start).Take(end - start).Count(e => e.Kind != '-');
            // diff -u numbers an empty side by the line before it.
            output.Append(CultureInfo.InvariantCulture, $"@@ -{oldStart + (oldCount == 0 ? 0 : 1)},{oldCount} +{newStart + (newCount == 0 ? 0 : 1)},{newCount} @@\n");
            for (var k = start; k < end; k++)
            {
                output.Append(edits[k].Kind).Append(edits[k].Text).Append('\n');
            }

            i = end;
        }

        return output.ToString();
    }

    private static string[] Lines(string text) =>
        text.Length == 0 ? [] : text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    private readonly record struct Edit(char Kind, string Text, int OldLine, int NewLine);

    private static List<Edit> Edits(string[] a, string[] b)
    {
        var edits = new List<Edit>();
        if ((long)a.Length * b.Length > MaxCells)
        {
            edits.AddRange(a.Select((line, k) => new Edit('-', line, k, 0)));
            edits.AddRange(b.Select((line, k) => new Edit('+', line, a.Length, k)));
            return edits;
        }

        // lcs[i, j]: the longest common subsequence of a[i..] and b[j..].
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }

        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                edits.Add(new Edit(' ', a[x], x, y));
                x++;
                y++;
            }
            else if (x < a.Length && (y == b.Length || lcs[x + 1, y] >= lcs[x, y + 1]))
            {
                edits.Add(new Edit('-', a[x], x, y));
                x++;
            }
            else
            {
                edits.Add(new Edit('+', b[y], x, y));
                y++;
            }
        }

        return edits;
    }
}
