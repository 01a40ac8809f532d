using System.Buffers;
using Aurora.Storage.IO;

namespace Aurora.Storage.Snapshots;

/// <summary>
/// The write-only stream a snapshot or backup blob is written through
/// (<see cref="SnapshotFileFormat.Write"/>): it fills the file from an offset
/// <see cref="ChunkSize"/> at a time, syncing each chunk before writing the next, checksums what
/// passes, and refuses a byte beyond the length the header promises.
/// </summary>
internal sealed class BlobSink : Stream
{
    /// <summary>How much of the blob is written, and waits to reach the disk, at once.</summary>
    public const int ChunkSize = 1 << 20;

    private readonly IStorageFile _file;
    private readonly ulong _expectedLength;
    private readonly byte[] _chunk = ArrayPool<byte>.Shared.Rent(ChunkSize);
    private long _fileOffset;
    private int _buffered;
    private ulong _written;
    private uint _crc = ~0u;
    private bool _returned;

    public BlobSink(IStorageFile file, long offset, ulong expectedLength)
    {
        _file = file;
        _fileOffset = offset;
        _expectedLength = expectedLength;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => (long)_written;

    public override long Position
    {
        get => (long)_written;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_returned, this);
        if (_written + (ulong)buffer.Length > _expectedLength)
        {
            throw new InvalidOperationException($"the blob is longer than the {_expectedLength} bytes its header gives");
        }

        _written += (ulong)buffer.Length;
        while (!buffer.IsEmpty)
        {
            var take = Math.Min(buffer.Length, ChunkSize - _buffered);
            buffer[..take].CopyTo(_chunk.AsSpan(_buffered));
            _buffered += take;
            buffer = buffer[take..];
            if (_buffered == ChunkSize)
            {
                WriteChunk();
            }
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    /// <summary>Writes what is buffered and returns the blob's CRC32C.</summary>
    /// <exception cref="InvalidOperationException">Fewer bytes were written than the header gives.</exception>
    public uint Finish()
    {
        if (_written != _expectedLength)
        {
            throw new InvalidOperationException($"the blob is {_written} bytes, not the {_expectedLength} its header gives");
        }

        WriteChunk();
        return ~_crc;
    }

    /// <summary>Nothing is held back but the current chunk, which <see cref="Finish"/> writes.</summary>
    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (!_returned)
        {
            _returned = true;
            ArrayPool<byte>.Shared.Return(_chunk);
        }

        base.Dispose(disposing);
    }

    private void WriteChunk()
    {
        if (_buffered == 0)
        {
            return;
        }

        var chunk = _chunk.AsSpan(0, _buffered);
        _crc = Crc32C.Append(_crc, chunk);
        _file.Write(_fileOffset, chunk);
        _fileOffset += _buffered;
        _buffered = 0;

        // Durable before the next chunk is handed over: the disk's queue never holds more of the blob
        // than one chunk. The last chunk is synced with the rest of the file.
        if (_written != _expectedLength)
        {
            _file.DataSync();
        }
    }
}
