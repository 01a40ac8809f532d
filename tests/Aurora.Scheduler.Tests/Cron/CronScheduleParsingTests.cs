using Aurora.Scheduler.Cron;

namespace Aurora.Scheduler.Tests.Cron;

public class CronScheduleParsingTests
{
    [Theory]
    [InlineData("* * * * *", "* * * * *")]
    [InlineData("0 0 * * *", "0 0 * * *")]
    [InlineData("59 23 31 12 *", "59 23 31 12 *")]
    [InlineData("*/15 * * * *", "0,15,30,45 * * * *")]
    [InlineData("* */6 * * *", "* 0,6,12,18 * * *")]
    [InlineData("* * */10 * *", "* * 1,11,21,31 * *")]
    [InlineData("* * * */5 *", "* * * 1,6,11 *")]
    [InlineData("* * * * */3", "* * * * 0,3,6")]
    [InlineData("1-10/3 * * * *", "1,4,7,10 * * * *")]
    [InlineData("1-50/20 * * * *", "1,21,41 * * * *")]
    [InlineData("5-10/7 * * * *", "5 * * * *")]
    [InlineData("*/60 * * * *", "0 * * * *")]
    [InlineData("*/100 */24 * */12 *", "0 0 * 1 *")]
    [InlineData("0,1-57,58 * * * *", "0-58 * * * *")]
    [InlineData("0-57,58,59 * * * *", "* * * * *")]
    [InlineData("* 23,1,2,4,0-22 * * *", "* * * * *")]
    [InlineData("0-59 0-23 1-31 1-12 0-6", "* * * * *")]
    [InlineData("*/1 */1 */1 */1 */1", "* * * * *")]
    [InlineData("0 3 1,15 * *", "0 3 1,15 * *")]
    [InlineData("30 2 29 2 *", "30 2 29 2 *")]
    [InlineData("1,3,2,3 * * * *", "1-3 * * * *")]
    [InlineData("1,,2, * * * *", "1-2 * * * *")]
    [InlineData("05 007 * * *", "5 7 * * *")]
    [InlineData("0\t0  *\r\n* *", "0 0 * * *")]
    [InlineData("0 17 * * FRI", "0 17 * * 5")]
    [InlineData("0 9 * * mon-fri", "0 9 * * 1-5")]
    [InlineData("0 9 * * Sun,sat", "0 9 * * 0,6")]
    [InlineData("0 9 * * sun-sat", "0 9 * * *")]
    [InlineData("0 9 * * MON-SAT/2", "0 9 * * 1,3,5")]
    [InlineData("5 5 * JAN,feb-Nov *", "5 5 * 1-11 *")]
    [InlineData("5 5 * jan,FEB-DEC *", "5 5 * * *")]
    [InlineData("5 5 * 3-MAY,Dec *", "5 5 * 3-5,12 *")]
    [InlineData("0 0 1-31 * MON", "0 0 * * 1")]
    [InlineData("0 0 1 * 0-6", "0 0 1 * *")]
    [InlineData("0 0 1 * SUN-SAT", "0 0 1 * *")]
    public void Accepted_schedules_parse_to_their_canonical_form(string schedule, string canonical)
    {
        var parsed = CronSchedule.Parse(schedule);

        Assert.Equal(canonical, parsed.ToString());
        Assert.Equal(parsed, CronSchedule.Parse(canonical));
        Assert.Equal(canonical, CronSchedule.Parse(canonical).ToString());
    }

    [Fact]
    public void Month_and_day_names_are_replaced_wherever_they_appear_as_Aurora_does()
    {
        // Aurora substitutes names textually before matching the pattern, so a name may even stand
        // for a skip; accepting the same strings keeps every schedule Aurora stored readable here.
        Assert.Equal(CronSchedule.Parse("0 0 * */2 *"), CronSchedule.Parse("0 0 * */FEB *"));
        Assert.Equal(CronSchedule.Parse("0 0 * * 1-5/2"), CronSchedule.Parse("0 0 * * mon-fri/tue"));
    }

    [Fact]
    public void Different_spellings_of_the_same_minutes_are_equal_with_equal_hash_codes()
    {
        CronSchedule[] spellings =
        [
            CronSchedule.Parse("* * * * *"),
            CronSchedule.Parse("0-59 * * * *"),
            CronSchedule.Parse("0-57,58,59 * * * *"),
            CronSchedule.Parse("* 23,1,2,4,0-22 * * *"),
            CronSchedule.Parse("1-50,0,51-59 * * * sun-sat"),
        ];

        foreach (var left in spellings)
        {
            foreach (var right in spellings)
            {
                Assert.Equal(left, right);
                Assert.True(left == right);
                Assert.False(left != right);
                Assert.Equal(left.GetHashCode(), right.GetHashCode());
            }
        }

        Assert.Single(spellings.ToHashSet());
    }

    [Theory]
    [InlineData("* * * * *", "1 * * * *")]
    [InlineData("* 0-22 * * *", "* * * * *")]
    [InlineData("1 1 1-30 * *", "1 1 * * *")]
    [InlineData("1 1 * JAN,FEB-NOV *", "1 1 * * *")]
    [InlineData("* * * * SUN", "* * * * SAT")]
    [InlineData("0 0 1 * *", "0 0 * * 1")]
    public void Schedules_matching_different_minutes_are_not_equal(string left, string right)
    {
        var a = CronSchedule.Parse(left);
        var b = CronSchedule.Parse(right);

        Assert.NotEqual(a, b);
        Assert.True(a != b);
        Assert.False(a.Equals((object)b));
    }

    [Fact]
    public void A_schedule_is_not_equal_to_null_or_to_another_type()
    {
        var schedule = CronSchedule.Parse("* * * * *");

        Assert.False(schedule.Equals(null));
        Assert.False(schedule.Equals((object?)"* * * * *"));
        Assert.False(schedule == null);
        Assert.True((CronSchedule?)null == null);
    }

    [Theory]
    [InlineData("", "expected 5 whitespace-separated fields (minute hour dayOfMonth month dayOfWeek), found 0")]
    [InlineData("* * **", "expected 5 whitespace-separated fields (minute hour dayOfMonth month dayOfWeek), found 3")]
    [InlineData("0 0 * * * 2024", "expected 5 whitespace-separated fields (minute hour dayOfMonth month dayOfWeek), found 6")]
    [InlineData("0\u00a00 * * *", "expected 5 whitespace-separated fields (minute hour dayOfMonth month dayOfWeek), found 4")]
    [InlineData("@hourly", "macros such as '@hourly' are not supported; write the 5 fields (minute hour dayOfMonth month dayOfWeek) instead")]
    [InlineData("@every_minute", "macros such as '@every_minute' are not supported; write the 5 fields (minute hour dayOfMonth month dayOfWeek) instead")]
    [InlineData(" * * * * *", "leading or trailing whitespace is not allowed")]
    [InlineData("* * * * *\n", "leading or trailing whitespace is not allowed")]
    [InlineData("   ", "leading or trailing whitespace is not allowed")]
    [InlineData("60 * * * *", "minute value '60' is outside 0-59")]
    [InlineData("99999999999 * * * *", "minute value '99999999999' is outside 0-59")]
    [InlineData("* 24 * * *", "hour value '24' is outside 0-23")]
    [InlineData("* * 0 * *", "dayOfMonth value '0' is outside 1-31")]
    [InlineData("* * 32 * *", "dayOfMonth value '32' is outside 1-31")]
    [InlineData("* * * 0 *", "month value '0' is outside 1-12")]
    [InlineData("* * * 13 *", "month value '13' is outside 1-12")]
    [InlineData("* * * * 7", "dayOfWeek value '7' is outside 0-6; Sunday is 0 or SUN, 7 is not accepted")]
    [InlineData("* * * * 8", "dayOfWeek value '8' is outside 0-6")]
    [InlineData("0-59 0-59 * * *", "hour range '0-59' is outside 0-23")]
    [InlineData("* * 0-5 * *", "dayOfMonth range '0-5' is outside 1-31")]
    [InlineData("* * * * 1-7", "dayOfWeek range '1-7' is outside 0-6")]
    [InlineData("* * * * 1-7/2", "dayOfWeek range '1-7/2' is outside 0-6")]
    [InlineData("5 5 * MAR-JAN *", "month range 'MAR-JAN' starts after it ends (3 > 1)")]
    [InlineData("* * * * MON-SUN", "dayOfWeek range 'MON-SUN' starts after it ends (1 > 0)")]
    [InlineData("30-10 * * * *", "minute range '30-10' starts after it ends (30 > 10)")]
    [InlineData("30-10/5 * * * *", "minute range '30-10/5' starts after it ends (30 > 10)")]
    [InlineData("*/0 * * * *", "minute skip in '*/0' must be at least 1")]
    [InlineData("0-59/0 * * * *", "minute skip in '0-59/0' must be at least 1")]
    [InlineData("*/99999999999 * * * *", "minute skip in '*/99999999999' is too large")]
    [InlineData("0-59/60 * * * *", "minute skip 60 in '0-59/60' must be smaller than the range end 59")]
    [InlineData("1-2/2 * * * *", "minute skip 2 in '1-2/2' must be smaller than the range end 2")]
    [InlineData("* 0-0/1 * * *", "hour skip 1 in '0-0/1' must be smaller than the range end 0")]
    [InlineData("1/1 * * * *", "minute component '1/1' is not one of *, N, N-M, */S, N-M/S with N, M in 0-59")]
    [InlineData("-1 * * * *", "minute component '-1' is not one of *, N, N-M, */S, N-M/S with N, M in 0-59")]
    [InlineData("1- * * * *", "minute component '1-' is not one of *, N, N-M, */S, N-M/S with N, M in 0-59")]
    [InlineData("*/ * * * *", "minute component '*/' is not one of *, N, N-M, */S, N-M/S with N, M in 0-59")]
    [InlineData("*/5/2 * * * *", "minute component '*/5/2' is not one of *, N, N-M, */S, N-M/S with N, M in 0-59")]
    [InlineData("*-5 * * * *", "minute component '*-5' is not one of *, N, N-M, */S, N-M/S with N, M in 0-59")]
    [InlineData("1-2-3 * * * *", "minute component '1-2-3' is not one of *, N, N-M, */S, N-M/S with N, M in 0-59")]
    [InlineData("1-5/ * * * *", "minute component '1-5/' is not one of *, N, N-M, */S, N-M/S with N, M in 0-59")]
    [InlineData("** * * * *", "minute component '**' is not one of *, N, N-M, */S, N-M/S with N, M in 0-59")]
    [InlineData("+5 * * * *", "minute component '+5' is not one of *, N, N-M, */S, N-M/S with N, M in 0-59")]
    [InlineData("\uff11 * * * *", "minute component '\uff11' is not one of *, N, N-M, */S, N-M/S with N, M in 0-59")]
    [InlineData("JAN * * * *", "minute component 'JAN' is not one of *, N, N-M, */S, N-M/S with N, M in 0-59")]
    [InlineData("0 0 ? * MON", "dayOfMonth component '?' is not one of *, N, N-M, */S, N-M/S with N, M in 1-31")]
    [InlineData("0 0 L * *", "dayOfMonth component 'L' is not one of *, N, N-M, */S, N-M/S with N, M in 1-31")]
    [InlineData("* * * FOO *", "month component 'FOO' is not one of *, N, N-M, */S, N-M/S with N, M in 1-12; N may also be a name JAN-DEC")]
    [InlineData("* * * JANUARY *", "month component 'JANUARY' is not one of *, N, N-M, */S, N-M/S with N, M in 1-12; N may also be a name JAN-DEC")]
    [InlineData("* * * * JAN", "dayOfWeek component 'JAN' is not one of *, N, N-M, */S, N-M/S with N, M in 0-6; N may also be a name SUN-SAT")]
    [InlineData("* * * * MON#2", "dayOfWeek component 'MON#2' is not one of *, N, N-M, */S, N-M/S with N, M in 0-6; N may also be a name SUN-SAT")]
    [InlineData(", * * * *", "minute field ',' lists no values")]
    [InlineData("* * ,, * *", "dayOfMonth field ',,' lists no values")]
    [InlineData("* * 1 * 1", "Specifying both dayOfWeek and dayOfMonth is not supported.")]
    [InlineData("0 0 13 * FRI", "Specifying both dayOfWeek and dayOfMonth is not supported.")]
    [InlineData("0 0 1-30 * 0-5", "Specifying both dayOfWeek and dayOfMonth is not supported.")]
    public void Rejected_schedules_say_which_field_and_token_are_wrong(string schedule, string reason)
    {
        var expected = $"Invalid cron schedule: {schedule}: {reason}";

        var thrown = Assert.Throws<CronScheduleException>(() => CronSchedule.Parse(schedule));
        Assert.Equal(expected, thrown.Message);
        Assert.Equal(schedule, thrown.Schedule);
        Assert.Equal(reason, thrown.Reason);
        Assert.IsAssignableFrom<FormatException>(thrown);

        Assert.False(CronSchedule.TryParse(schedule, out var parsed, out var error));
        Assert.Null(parsed);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void The_first_bad_field_in_order_is_the_one_reported()
    {
        var thrown = Assert.Throws<CronScheduleException>(() => CronSchedule.Parse("60 24 32 13 7"));

        Assert.Equal("minute value '60' is outside 0-59", thrown.Reason);
    }

    [Fact]
    public void TryParse_accepts_what_Parse_accepts_and_reports_no_error()
    {
        Assert.True(CronSchedule.TryParse("*/5 * * * *", out var parsed, out var error));
        Assert.Null(error);
        Assert.Equal(CronSchedule.Parse("*/5 * * * *"), parsed);
    }

    [Fact]
    public void TryParse_rejects_null_like_an_empty_schedule()
    {
        Assert.False(CronSchedule.TryParse(null, out var parsed, out var error));
        Assert.Null(parsed);
        Assert.Equal("Invalid cron schedule: : expected 5 whitespace-separated fields (minute hour dayOfMonth month dayOfWeek), found 0", error);
    }

    [Fact]
    public void Parse_rejects_null_as_a_programming_error()
    {
        Assert.Throws<ArgumentNullException>(() => CronSchedule.Parse(null!));
    }
}
