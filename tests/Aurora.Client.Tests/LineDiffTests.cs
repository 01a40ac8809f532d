using Aurora.Client.Output;

namespace Aurora.Client.Tests;

public sealed class LineDiffTests
{
    [Fact]
    public void Equal_texts_have_no_diff()
    {
        Assert.Equal(string.Empty, LineDiff.Unified("a\nb\n", "a\nb\n", "old", "new"));
    }

    [Fact]
    public void A_changed_line_shows_as_removed_and_added_with_context()
    {
        var old = string.Join('\n', Enumerable.Range(1, 10).Select(i => $"line {i}"));
        var changed = old.Replace("line 5", "line five", StringComparison.Ordinal);

        var diff = LineDiff.Unified(old, changed, "scheduler", "local");

        Assert.Equal(
            "--- scheduler\n+++ local\n@@ -2,7 +2,7 @@\n line 2\n line 3\n line 4\n-line 5\n+line five\n line 6\n line 7\n line 8\n",
            diff);
    }

    [Fact]
    public void Distant_changes_get_separate_hunks_and_additions_at_the_end_count_right()
    {
        var old = string.Join('\n', Enumerable.Range(1, 20).Select(i => $"{i}"));
        var changed = old.Replace("\n2\n", "\ntwo\n", StringComparison.Ordinal) + "\n21";

        var diff = LineDiff.Unified(old, changed, "a", "b");

        Assert.Equal(2, diff.Split('\n').Count(l => l.StartsWith("@@", StringComparison.Ordinal)));
        Assert.Contains("@@ -18,3 +18,4 @@\n 18\n 19\n 20\n+21\n", diff, StringComparison.Ordinal);
    }
}
