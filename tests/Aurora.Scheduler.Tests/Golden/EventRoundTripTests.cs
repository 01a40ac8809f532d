using System.Collections;
using Aurora.Scheduler.Protos;
using Aurora.Scheduler.State;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Aurora.Scheduler.Tests.Golden;

/// <summary>
/// Every event kind, with every field set, survives encoding and decoding unchanged. The samples
/// are written per kind and checked against <c>Event</c>'s oneof, so a new event kind (or a new
/// field of an event) fails here until it has a sample.
/// </summary>
public class EventRoundTripTests
{
    private static readonly JobKey Job = new() { Role = "r", Environment = "prod", Name = "j" };

    /// <summary>One fully populated event per oneof field number of <c>Event.kind</c>.</summary>
    private static readonly Dictionary<int, Func<Event>> Samples = new()
    {
        [1] = () => new Event { JobCreated = new JobCreated { Config = Populated<JobConfiguration>() } },
        [2] = () => new Event { JobConfigReplaced = new JobConfigReplaced { Config = Populated<JobConfiguration>() } },
        [3] = () => new Event { JobKilled = new JobKilled { Job = Job.Clone(), Instances = { 0, 3, -1, 70000 }, Message = "bye" } },
        [4] = () => new Event { InstancesAdded = new InstancesAdded { Job = Job.Clone(), Instances = { 4, 5 } } },
        [5] = () => new Event
        {
            TasksCreated = new TasksCreated
            {
                Config = Populated<TaskConfig>(),
                Tasks =
                {
                    new NewTask
                    {
                        TaskId = "t-1", InstanceId = 3, Status = ScheduleStatus.Throttled, AncestorId = "t-0", FailureCount = 2,
                        Message = "Rescheduled", PenaltyMs = 30000,
                    },
                },
            },
        },
        [6] = () => new Event
        {
            TaskAssigned = new TaskAssigned
            {
                TaskId = "t-1",
                AgentId = "agent-1",
                Host = "host-1",
                Message = "placed",
                Ports = { new AssignedPort { Name = "http", Port = 31000 } },
            },
        },
        [7] = () => new Event
        {
            TaskStateChanged = new TaskStateChanged { TaskId = "t-1", From = ScheduleStatus.Running, To = ScheduleStatus.Partitioned, Message = "gone", Host = "host-1" },
        },
        [8] = () => new Event { TasksPruned = new TasksPruned { TaskIds = { "t-1", "t-2" }, Reason = "history" } },
        [9] = () => new Event { QuotaSet = new QuotaSet { Role = "r", Quota = Populated<Resources>() } },
        [10] = () => new Event { HostAttributesSaved = new HostAttributesSaved { Attributes = Populated<HostAttributes>() } },
        [11] = () => new Event
        {
            HostMaintenanceChanged = new HostMaintenanceChanged { Host = "host-1", Mode = MaintenanceMode.Draining, Request = Populated<HostMaintenanceRequest>() },
        },
        [12] = () => new Event
        {
            JobUpdateStarted = new JobUpdateStarted
            {
                Key = UpdateKey(),
                User = "alice",
                Metadata = { new Metadata { Key = "k", Value = "v" } },
                Instructions = Populated<JobUpdateInstructions>(),
                Status = JobUpdateStatus.RollForwardAwaitingPulse,
                Message = "go",
            },
        },
        [13] = () => new Event
        {
            JobUpdateStateChanged = new JobUpdateStateChanged { Key = UpdateKey(), From = JobUpdateStatus.RollingForward, To = JobUpdateStatus.RollForwardPaused, Message = "pause" },
        },
        [14] = () => new Event
        {
            JobUpdateInstanceEvent = new JobUpdateInstanceEvent { Key = UpdateKey(), InstanceId = 2, Action = JobUpdateAction.InstanceRollbackFailed, Message = "oops" },
        },
        [15] = () => new Event { JobUpdatesPruned = new JobUpdatesPruned { Keys = { UpdateKey() }, Reason = "old" } },
        [16] = () => new Event { CronJobScheduled = new CronJobScheduled { Config = Populated<JobConfiguration>() } },
        [17] = () => new Event { CronJobDescheduled = new CronJobDescheduled { Job = Job.Clone() } },
        [18] = () => new Event { CronJobTriggered = new CronJobTriggered { Job = Job.Clone(), Outcome = CronTriggerOutcome.IgnoredLaunchPending } },
        [19] = () => new Event { FrameworkIdSaved = new FrameworkIdSaved { FrameworkId = "fw-1" } },
        [20] = () => new Event { SnapshotCommitted = new SnapshotCommitted { Position = ulong.MaxValue, StateHash = ByteString.CopyFrom(new byte[32]) } },
        [21] = () => new Event
        {
            RecoveryCommitted = new RecoveryCommitted { BackupId = "backup-1", BackupPosition = 77, State = Populated<SchedulerSnapshot>().ToByteString() },
        },
    };

    public static TheoryData<int> Kinds => [.. Samples.Keys];

    [Fact]
    public void Every_event_kind_has_a_sample()
    {
        var kinds = Event.Descriptor.Oneofs.Single(o => o.Name == "kind").Fields.Select(f => f.FieldNumber).Order();

        Assert.Equal(kinds, Samples.Keys.Order());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_event_kind_round_trips_with_every_field_set(int kind)
    {
        var e = Samples[kind]();
        var field = Event.Descriptor.FindFieldByNumber(kind);
        Assert.Equal(field, Event.Descriptor.Oneofs[0].Accessor.GetCaseFieldDescriptor(e));
        AssertEveryFieldSet((IMessage)field.Accessor.GetValue(e), field.Name);

        var bytes = e.ToByteArray();
        var parsed = Event.Parser.ParseFrom(bytes);
        Assert.Equal(e, parsed);
        Assert.Equal(bytes, parsed.ToByteArray());

        var transaction = new Transaction { Events = { e, e } };
        Assert.Equal(transaction, Transaction.Parser.ParseFrom(transaction.ToByteArray()));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Apply_knows_every_event_kind(int kind)
    {
        // On an empty state most events refer to what is not there and are refused, but never as unknown.
        var error = Record.Exception(() => new SchedulerState().Apply(new TransactionInfo(1, 0, "alice"), Samples[kind]()));

        Assert.False(error is UnknownEventException, $"Event kind {kind} is unknown to Apply: {error?.Message}");
    }

    [Fact]
    public void Every_message_of_the_schema_round_trips_with_every_field_set_in_every_oneof_case()
    {
        var files = new[] { ModelReflection.Descriptor, EventsReflection.Descriptor, SnapshotReflection.Descriptor };
        foreach (var message in files.SelectMany(f => f.MessageTypes))
        {
            var cases = message.Oneofs.Where(o => !o.IsSynthetic).Select(o => o.Fields.Count).DefaultIfEmpty(1).Max();
            for (var choice = 0; choice < cases; choice++)
            {
                var populated = Populate(message, choice, 0);
                AssertEveryFieldSet(populated, message.Name);
                var parsed = message.Parser.ParseFrom(populated.ToByteArray());
                Assert.Equal(populated, parsed);
            }
        }
    }

    private static JobUpdateKey UpdateKey() => new() { Job = Job.Clone(), Id = "u-1" };

    private static T Populated<T>()
        where T : IMessage<T>, new() => (T)Populate(new T().Descriptor, 0, 0);

    /// <summary>A message with every field set to a non-default value (repeated fields twice; the <paramref name="choice"/>-th case of each oneof).</summary>
    private static IMessage Populate(MessageDescriptor descriptor, int choice, int depth)
    {
        Assert.True(depth < 10, $"{descriptor.Name} nests too deep to populate.");
        var message = (IMessage)Activator.CreateInstance(descriptor.ClrType)!;
        foreach (var field in descriptor.Fields.InFieldNumberOrder())
        {
            if (field.RealContainingOneof is { } oneof && oneof.Fields[choice % oneof.Fields.Count] != field)
            {
                continue;
            }

            if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                list.Add(Value(field, 1, choice, depth));
                list.Add(Value(field, 2, choice, depth));
            }
            else
            {
                field.Accessor.SetValue(message, Value(field, 1, choice, depth));
            }
        }

        return message;
    }

    private static object Value(FieldDescriptor field, int n, int choice, int depth) => field.FieldType switch
    {
        FieldType.Double => 1.25 * n,
        FieldType.Float => 0.5f * n,
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => 7 * n,
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => 1_700_000_000_000_000L + n,
        FieldType.UInt32 or FieldType.Fixed32 => (uint)(3 + n),
        FieldType.UInt64 or FieldType.Fixed64 => (ulong)(40 + n),
        FieldType.Bool => true,
        FieldType.String => $"{field.Name}-{n}",
        FieldType.Bytes => ByteString.CopyFrom(1, 2, (byte)n),
        FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, field.EnumType.Values[Math.Min(n, field.EnumType.Values.Count - 1)].Number),
        FieldType.Message => Populate(field.MessageType, choice, depth + 1),
        _ => throw new NotSupportedException($"{field.FullName}: {field.FieldType}"),
    };

    /// <summary>Every field (recursively) holds a non-default value, and every oneof has a case: nothing a reader could lose goes untested.</summary>
    private static void AssertEveryFieldSet(IMessage message, string path)
    {
        foreach (var oneof in message.Descriptor.Oneofs.Where(o => !o.IsSynthetic))
        {
            Assert.True(oneof.Accessor.GetCaseFieldDescriptor(message) is not null, $"{path}: no case of oneof {oneof.Name} is set.");
        }

        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            if (field.RealContainingOneof is { } oneof && oneof.Accessor.GetCaseFieldDescriptor(message) != field)
            {
                continue;
            }

            var value = field.Accessor.GetValue(message);
            var where = $"{path}.{field.Name}";
            if (field.IsRepeated)
            {
                var list = (IList)value;
                Assert.True(list.Count > 0, $"{where} is empty.");
                foreach (var item in list.OfType<IMessage>())
                {
                    AssertEveryFieldSet(item, where + "[]");
                }
            }
            else if (value is IMessage nested)
            {
                AssertEveryFieldSet(nested, where);
            }
            else
            {
                var isDefault = value switch
                {
                    null => true,
                    string s => s.Length == 0,
                    ByteString b => b.IsEmpty,
                    bool b => !b,
                    Enum e => Convert.ToInt32(e, System.Globalization.CultureInfo.InvariantCulture) == 0,
                    _ => Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture) == 0,
                };
                Assert.False(isDefault, $"{where} is not set.");
            }
        }
    }
}
