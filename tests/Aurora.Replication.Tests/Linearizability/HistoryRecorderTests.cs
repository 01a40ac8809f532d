using Aurora.Testing.Linearizability;

namespace Aurora.Replication.Tests.Linearizability;

public class HistoryRecorderTests
{
    [Fact]
    public void Returned_calls_are_completed_failed_ones_dropped_and_pending_ones_of_unknown_outcome()
    {
        var recorder = new HistoryRecorder<LogInput<ulong>, LogOutput<ulong>>();
        var committed = recorder.Invoke(1, ReplicatedLogModel.Append(10UL), 0);
        var rejected = recorder.Invoke(2, ReplicatedLogModel.Append(20UL), 1);
        var timedOut = recorder.Invoke(3, ReplicatedLogModel.Append(30UL), 2);
        recorder.Return(committed, ReplicatedLogModel.Appended<ulong>(1), 5);
        recorder.Fail(rejected);
        var read = recorder.Invoke(1, ReplicatedLogModel.Read<ulong>(), 6);
        recorder.Return(read, ReplicatedLogModel.ReadReturned<ulong>([10, 30]), 9);

        var history = recorder.History();

        Assert.Equal(3, history.Count);
        Assert.Equal(new Operation<LogInput<ulong>, LogOutput<ulong>>(1, new LogAppend<ulong>(10), 0, new LogAppended<ulong>(1), 5), history[0]);
        Assert.False(history[1].Completed);
        Assert.Equal(2, history[1].CallTime);
        Assert.True(history[2].Completed);
        var result = ReplicatedLogModel.Check(history);
        Assert.True(result.IsLinearizable, result.Report);
    }

    [Fact]
    public void A_call_is_answered_once()
    {
        var recorder = new HistoryRecorder<RegisterInput, RegisterOutput>();
        var call = recorder.Invoke(1, RegisterInput.Read(), 10);

        Assert.Throws<ArgumentOutOfRangeException>(() => recorder.Return(call, new RegisterOutput(0), 9));
        recorder.Return(call, new RegisterOutput(0), 11);
        Assert.Throws<InvalidOperationException>(() => recorder.Return(call, new RegisterOutput(0), 12));
        Assert.Throws<InvalidOperationException>(() => recorder.Fail(call));
        Assert.Throws<ArgumentOutOfRangeException>(() => recorder.Fail(call + 1));
    }

    [Fact]
    public void Clients_may_record_concurrently()
    {
        var recorder = new HistoryRecorder<RegisterInput, RegisterOutput>();
        var clock = 0L;
        Parallel.For(0, 8, client =>
        {
            for (var i = 0; i < 500; i++)
            {
                var call = recorder.Invoke(client, RegisterInput.Read(), Interlocked.Increment(ref clock));
                recorder.Return(call, new RegisterOutput(RegisterModel.Initial), Interlocked.Increment(ref clock));
            }
        });

        var history = recorder.History();

        Assert.Equal(4_000, history.Count);
        Assert.True(LinearizabilityChecker.Check(new RegisterModel(), history).IsLinearizable);
    }
}
