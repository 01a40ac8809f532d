using Aurora.Replication.Consensus;
using Aurora.Replication.Protos;
using Aurora.Replication.Storage;
using Aurora.Storage.IO;
using Aurora.Storage.Log;
using Aurora.Storage.Protos;
using Aurora.Storage.Replica;
using Aurora.Storage.Snapshots;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aurora.Replication.Tests.Network;

/// <summary>
/// A stopped <see cref="ReplicatedLog"/> answers every call at once. A proposal or read barrier that
/// reached it after its loop had ended used to be dropped with its completion never set: the
/// scheduler's write pipeline, awaiting such a proposal, then kept its own shutdown waiting forever.
/// </summary>
[Collection(RealTimeCollection.Name)]
public sealed class StoppedReplicatedLogTests : IDisposable
{
    /// <summary>Far longer than an answer that needs no I/O takes; only a hang reaches it.</summary>
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Proposals_and_read_barriers_after_disposal_fail_at_once_as_never_written()
    {
        var log = SegmentedLog.Open(new LogOptions { Directory = _directory.Path, SegmentSize = 64 * 1024, MaxEntrySize = 4096 });
        var metadata = new ReplicaMetadataStore(PhysicalFileSystem.Instance, _directory.Path);
        metadata.Save(ReplicaMetadataStore.NewVoting(DateTimeOffset.UtcNow));
        var storage = new LogReplicaStorage(log, new SnapshotStore(new SnapshotOptions { Directory = _directory.Path }), metadata);
        var replicated = new ReplicatedLog(
            new ConsensusOptions { SelfId = "solo", Members = ["solo"], Quorum = 1, MaxAppendBytes = 8 * 1024 },
            storage,
            new Nobody(),
            0,
            NullLogger.Instance);
        var leading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        replicated.LeadershipChanged += leadership =>
        {
            if (leadership.IsSelf)
            {
                leading.TrySetResult();
            }
        };
        ProposalOutcome before;
        try
        {
            if (replicated.CurrentLeadership.IsSelf)
            {
                leading.TrySetResult();
            }

            await leading.Task.WaitAsync(Hang);

            // While it runs, the same calls commit: the refusals below come from the stop, not the setup.
            before = await replicated.ProposeAsync([Entry("before")]).WaitAsync(Hang);
            Assert.True(before.Committed, before.Failure);
            Assert.True((await replicated.ReadBarrierAsync().WaitAsync(Hang)).Ok);
        }
        finally
        {
            await replicated.DisposeAsync();
        }

        var after = await replicated.ProposeAsync([Entry("after")]).WaitAsync(Hang);
        Assert.False(after.Committed);
        Assert.False(after.MayHaveCommitted);
        Assert.Equal("the replica is shutting down", after.Failure);

        var read = await replicated.ReadBarrierAsync().WaitAsync(Hang);
        Assert.False(read.Ok);
        Assert.Equal("the replica is shutting down", read.Failure);
        log.Dispose();

        // Nothing of the refused proposal reached the disk.
        using var reopened = SegmentedLog.Open(new LogOptions { Directory = _directory.Path, SegmentSize = 64 * 1024, MaxEntrySize = 4096 });
        Assert.Equal(before.LastPosition, reopened.LastDurablePosition);
    }

    private static LogEntry Entry(string value) => new() { Principal = "test", Payload = new() { TypeUrl = "type.aurora/test.Value", Value = ByteString.CopyFromUtf8(value) } };

    private sealed class Nobody : IPeerSender
    {
        public void Send(string to, PeerMessage message)
        {
        }
    }
}
