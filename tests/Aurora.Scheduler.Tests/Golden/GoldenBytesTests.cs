using System.Security.Cryptography;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Google.Protobuf;
using static Aurora.Scheduler.Tests.Golden.Wire;
using Attribute = Aurora.Scheduler.Protos.Attribute;
using Range = Aurora.Scheduler.Protos.Range;

namespace Aurora.Scheduler.Tests.Golden;

/// <summary>
/// The exact bytes of representative events, a transaction and a snapshot, with the expected
/// encoding assembled by hand from the wire format (<see cref="Wire"/>, field numbers from the
/// .proto files). Any change to a field number, type or the snapshot's canonical order fails here:
/// logs and snapshots written by older versions must keep reading the same.
/// </summary>
public class GoldenBytesTests
{
    [Fact]
    public void TaskStateChanged_encodes_to_its_pinned_bytes()
    {
        var e = new Event
        {
            TaskStateChanged = new TaskStateChanged { TaskId = "t-1", From = ScheduleStatus.Running, To = ScheduleStatus.Failed, Message = "oom", Host = "h" },
        };

        // Event.task_state_changed = 7 (LEN): 7<<3|2 = 0x3a, 17 bytes:
        // task_id=1 "t-1" | from=2 RUNNING(6) | to=3 FAILED(8) | message=4 "oom" | host=5 "h".
        const string Pinned = "3a11" + "0a03742d31" + "1006" + "1808" + "22036f6f6d" + "2a0168";
        var assembled = Message(7, Str(1, "t-1"), Int(2, 6), Int(3, 8), Str(4, "oom"), Str(5, "h"));

        Assert.Equal(Pinned, Hex(assembled));
        AssertEncodes(assembled, e);
    }

    [Fact]
    public void QuotaSet_encodes_to_its_pinned_bytes()
    {
        var e = new Event { QuotaSet = new QuotaSet { Role = "www", Quota = new Resources { NumCpus = 2.5, RamMb = 1024, DiskMb = 2048 } } };

        // Event.quota_set = 9 (LEN): 0x4a, 22 bytes: role=1 "www" | quota=2 (15 bytes):
        // num_cpus=1 (I64) 2.5 = 0x4004000000000000 little-endian | ram_mb=2 1024 = 80 08 | disk_mb=3 2048 = 80 10.
        const string Pinned = "4a16" + "0a03777777" + "120f" + "090000000000000440" + "108008" + "188010";
        var assembled = Message(9, Str(1, "www"), Message(2, F64(1, 2.5), Int(2, 1024), Int(3, 2048)));

        Assert.Equal(Pinned, Hex(assembled));
        AssertEncodes(assembled, e);
    }

    [Fact]
    public void TasksCreated_with_a_small_config_encodes_to_its_pinned_bytes()
    {
        var e = new Event
        {
            TasksCreated = new TasksCreated
            {
                Config = SmallConfig(),
                Tasks =
                {
                    new NewTask { TaskId = "t-0", InstanceId = 0, Status = ScheduleStatus.Pending },
                    new NewTask
                    {
                        TaskId = "t-1", InstanceId = 1, Status = ScheduleStatus.Throttled, AncestorId = "t-9", FailureCount = 2,
                        Message = "Rescheduled", PenaltyMs = 30000,
                    },
                },
            },
        };

        // Event.tasks_created = 5. Zero values (instance 0) are not written in proto3.
        var assembled = Message(
            5,
            Message(1, SmallConfigFields()),
            Message(2, Str(1, "t-0"), Int(3, 2)),
            Message(2, Str(1, "t-1"), Int(2, 1), Int(3, 3), Str(4, "t-9"), Int(5, 2), Str(6, "Rescheduled"), Int(7, 30000)));

        AssertEncodes(assembled, e);
    }

    [Fact]
    public void Negative_max_task_failures_is_a_ten_byte_sign_extended_varint()
    {
        var assembled = Int(4, -1);

        Assert.Equal("20ffffffffffffffffff01", Hex(assembled));
        Assert.Equal(Hex(assembled), Hex(new TaskConfig { MaxTaskFailures = -1 }.ToByteArray()));
    }

    [Fact]
    public void TaskAssigned_encodes_to_its_pinned_bytes()
    {
        var e = new Event
        {
            TaskAssigned = new TaskAssigned
            {
                TaskId = "t-1",
                AgentId = "agent-1",
                Host = "host-1",
                Message = "placed",
                Ports = { new AssignedPort { Name = "http", Port = 31000 }, new AssignedPort { Name = "health", Port = 31001 } },
            },
        };

        // Event.task_assigned = 6; ports (4) are repeated messages, one LEN record each, in order.
        var assembled = Message(
            6,
            Str(1, "t-1"),
            Str(2, "agent-1"),
            Str(3, "host-1"),
            Message(4, Str(1, "http"), Int(2, 31000)),
            Message(4, Str(1, "health"), Int(2, 31001)),
            Str(5, "placed"));

        AssertEncodes(assembled, e);
    }

    [Fact]
    public void JobUpdateStarted_encodes_to_its_pinned_bytes()
    {
        var job = new JobKey { Role = "r", Environment = "prod", Name = "j" };
        var e = new Event
        {
            JobUpdateStarted = new JobUpdateStarted
            {
                Key = new JobUpdateKey { Job = job, Id = "u-1" },
                User = "alice",
                Metadata = { new Metadata { Key = "k", Value = "v" } },
                Instructions = new JobUpdateInstructions
                {
                    InitialState = { new InstanceTaskConfig { Task = new TaskConfig { Job = job, IsService = true }, Instances = { new Range { First = 0, Last = 1 } } } },
                    DesiredState = new InstanceTaskConfig { Task = new TaskConfig { Job = job, IsService = true, Priority = 5 }, Instances = { new Range { First = 0, Last = 2 } } },
                    Settings = new JobUpdateSettings
                    {
                        MaxPerInstanceFailures = 1,
                        MinWaitInInstanceRunningMs = 45000,
                        RollbackOnFailure = true,
                        Strategy = new JobUpdateStrategy { Queue = new QueueStrategy { GroupSize = 2 } },
                    },
                },
                Status = JobUpdateStatus.RollingForward,
                Message = "go",
            },
        };

        byte[] jobKey = Message(1, Str(1, "r"), Str(2, "prod"), Str(3, "j"));
        var assembled = Message(
            12,
            Message(1, jobKey, Str(2, "u-1")),
            Str(2, "alice"),
            Message(3, Str(1, "k"), Str(2, "v")),
            Message(
                4,
                Message(1, Message(1, jobKey, Bool(2, true)), Message(2, Int(2, 1))),
                Message(2, Message(1, jobKey, Bool(2, true), Int(3, 5)), Message(2, Int(2, 2))),
                Message(3, Int(1, 1), Int(3, 45000), Bool(4, true), Message(8, Message(1, Int(1, 2))))),
            Int(5, 1),
            Str(6, "go"));

        AssertEncodes(assembled, e);
    }

    [Fact]
    public void A_transaction_encodes_as_its_events_in_order()
    {
        var transaction = new Transaction
        {
            Events =
            {
                new Event { FrameworkIdSaved = new FrameworkIdSaved { FrameworkId = "fw-1" } },
                new Event { JobKilled = new JobKilled { Job = new JobKey { Role = "r", Environment = "prod", Name = "j" }, Instances = { 0, 2, 300 }, Message = "bye" } },
                new Event { TasksPruned = new TasksPruned { TaskIds = { "t-1", "t-2" }, Reason = "pruned" } },
            },
        };

        // Transaction.events = 1, one LEN record per event; JobKilled.instances is packed (one LEN of varints).
        var assembled = Cat(
            Message(1, Message(19, Str(1, "fw-1"))),
            Message(1, Message(3, Message(1, Str(1, "r"), Str(2, "prod"), Str(3, "j")), Packed(2, 0, 2, 300), Str(3, "bye"))),
            Message(1, Message(8, Str(1, "t-1"), Str(1, "t-2"), Str(2, "pruned"))));

        Assert.Equal(Hex(assembled), Hex(transaction.ToByteArray()));
        Assert.Equal(transaction, Transaction.Parser.ParseFrom(assembled));
    }

    [Fact]
    public void A_tiny_state_snapshots_to_its_pinned_canonical_bytes()
    {
        var state = new SchedulerState();
        state.Apply(new TransactionInfo(1, 1_000_000, "alice"), new Transaction
        {
            Events =
            {
                new Event { QuotaSet = new QuotaSet { Role = "zeta", Quota = new Resources { NumCpus = 1, RamMb = 2, DiskMb = 3 } } },
                new Event { QuotaSet = new QuotaSet { Role = "alpha", Quota = new Resources { NumCpus = 0.5 } } },
                new Event { FrameworkIdSaved = new FrameworkIdSaved { FrameworkId = "fw-1" } },
                new Event
                {
                    HostAttributesSaved = new HostAttributesSaved
                    {
                        Attributes = new HostAttributes { Host = "h1", AgentId = "a1", Attributes = { new Attribute { Name = "rack", Values = { "r1" } } } },
                    },
                },
                new Event
                {
                    TasksCreated = new TasksCreated
                    {
                        Config = SmallConfig(),
                        Tasks =
                        {
                            new NewTask { TaskId = "t-b", InstanceId = 1, Status = ScheduleStatus.Pending },
                            new NewTask { TaskId = "t-a", InstanceId = 0, Status = ScheduleStatus.Pending, Message = "new" },
                        },
                    },
                },
            },
        });
        state.Apply(new TransactionInfo(2, 2_000_000, "placer"), new Transaction
        {
            Events = { new Event { TaskAssigned = new TaskAssigned { TaskId = "t-a", AgentId = "a1", Host = "h1" } } },
        });

        // Canonical order: tasks by id (t-a before t-b), one shared config at index 0 (omitted as
        // zero), quotas by role (alpha before zeta), hosts by name. The ASSIGNED history entry
        // carries the host; the PENDING one does not.
        var assembled = Cat(
            Int(1, 1),
            Str(2, "fw-1"),
            Message(3, SmallConfigFields()),
            Message(
                4,
                Str(1, "t-a"),
                Int(4, 4),
                Str(5, "a1"),
                Str(6, "h1"),
                Message(12, Int(1, 1_000_000), Int(2, 2), Str(3, "new")),
                Message(12, Int(1, 2_000_000), Int(2, 4), Str(4, "h1"))),
            Message(4, Str(1, "t-b"), Int(3, 1), Int(4, 2), Message(12, Int(1, 1_000_000), Int(2, 2))),
            Message(6, Str(1, "alpha"), Message(2, F64(1, 0.5))),
            Message(6, Str(1, "zeta"), Message(2, F64(1, 1), Int(2, 2), Int(3, 3))),
            Message(7, Message(1, Str(1, "h1"), Message(2, Str(1, "rack"), Str(2, "r1")), Str(3, "a1")), Int(2, 1)));

        Assert.Equal(Hex(assembled), Hex(state.ToSnapshot().ToByteArray()));
        Assert.Equal(SHA256.HashData(assembled), state.StateHash());
    }

    private static TaskConfig SmallConfig() => new()
    {
        Job = new JobKey { Role = "r", Environment = "prod", Name = "j" },
        IsService = true,
        MaxTaskFailures = -1,
        Tier = "preferred",
        Production = true,
        Resources = new Resources { NumCpus = 1, RamMb = 128, DiskMb = 256 },
        Processes = { new Process { Name = "p", Cmdline = "c" } },
    };

    /// <summary>TaskConfig: job=1, is_service=2, max_task_failures=4, tier=5, production=6, resources=7, processes=12.</summary>
    private static byte[] SmallConfigFields() => Cat(
        Message(1, Str(1, "r"), Str(2, "prod"), Str(3, "j")),
        Bool(2, true),
        Int(4, -1),
        Str(5, "preferred"),
        Bool(6, true),
        Message(7, F64(1, 1), Int(2, 128), Int(3, 256)),
        Message(12, Str(1, "p"), Str(2, "c")));

    private static void AssertEncodes(byte[] expected, Event e)
    {
        Assert.Equal(Hex(expected), Hex(e.ToByteArray()));
        Assert.Equal(e, Event.Parser.ParseFrom(expected));
    }
}
